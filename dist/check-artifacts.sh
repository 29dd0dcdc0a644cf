#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks the binaries in dist/out/ (and dist/out/test/) made by
# dist/build-release.sh:
#   Linux ELF: `file` says statically linked, `ldd` refuses it, and it runs with
#              an empty environment from an empty directory (trawl-*: --version,
#              trawl_tests: --gtest_list_tests).
#   Windows PE: imports only Windows system DLLs (no libstdc++, libgcc,
#              libwinpthread or other mingw runtime DLLs).
#   Sizes against the targets (Linux < 10 MB, .exe < 8 MB stripped) are
#   reported; being over is a warning, every other check is an error.
#
#   dist/check-artifacts.sh [DIR]     # default: dist/out
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$repo/dist/out}
linux_limit=$((10 * 1000 * 1000))
exe_limit=$((8 * 1000 * 1000))
# Upper-case DLL names a trawl .exe may import. All ship with Windows.
allowed_dlls="ADVAPI32 BCRYPT CRYPT32 KERNEL32 MSVCRT USER32 WS2_32 NTDLL PSAPI SHELL32 OLE32
OLEAUT32 VERSION WINTRUST IPHLPAPI SECUR32 SHLWAPI USERENV WTSAPI32 NETAPI32 DBGHELP RPCRT4 GDI32"
fail=0
bad() { echo "FAIL  $*"; fail=1; }
ok() { echo "ok    $*"; }

shopt -s nullglob
files=("$dir"/* "$dir"/test/*)
checked=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  desc=$(file -b "$f")
  name=$(basename "$f")
  size=$(stat -c %s "$f")
  case "$desc" in
    ELF*)
      checked=$((checked + 1))
      if [[ "$desc" == *"statically linked"* ]]; then ok "$name: statically linked"
      else bad "$name: not statically linked ($desc)"; fi
      if ldd "$f" >/dev/null 2>&1; then bad "$name: ldd lists dynamic dependencies"
      else ok "$name: ldd: not a dynamic executable"; fi
      case "$name" in
        trawl_tests) args=(--gtest_list_tests) ;;
        *) args=(--version) ;;
      esac
      empty=$(mktemp -d)
      cp "$f" "$empty/$name"
      if out=$(cd "$empty" && env -i "./$name" "${args[@]}" 2>&1); then
        ok "$name: runs with env -i in an empty dir (${args[*]}: $(printf '%s' "$out" | head -n1))"
      else
        bad "$name: env -i ./$name ${args[*]} failed: $(printf '%s' "$out" | tail -n3)"
      fi
      # An IR tool must not read the suspect host's OpenSSL config (it can load
      # engines/providers). main() calls OPENSSL_init_crypto(
      # OPENSSL_INIT_NO_LOAD_CONFIG); this catches a regression where the
      # command touches OpenSSL at all (--version may not).
      if command -v strace >/dev/null; then
        if (cd "$empty" && env -i OPENSSL_CONF=/nonexistent/evil.cnf \
              strace -f -qq -e trace=open,openat -o "$empty/.trace" "./$name" "${args[@]}" >/dev/null 2>&1); then
          if grep -qE 'openssl\.cnf|evil\.cnf' "$empty/.trace"; then bad "$name: opens an OpenSSL config file"
          else ok "$name: opens no OpenSSL config file"; fi
        fi
      fi
      rm -rf "$empty"
      if [ "$size" -lt "$linux_limit" ]; then ok "$name: $size bytes (< 10 MB)"
      else echo "WARN  $name: $size bytes, over the 10 MB target"; fi
      ;;
    PE32+*)
      checked=$((checked + 1))
      if [[ "$desc" == *"(console) x86-64"* ]]; then ok "$name: $desc"
      else bad "$name: unexpected PE type ($desc)"; fi
      dlls=$(x86_64-w64-mingw32-objdump -p "$f" | sed -n 's/^\s*DLL Name: //p' | tr '[:lower:]' '[:upper:]' | sed 's/\.DLL$//' | sort -u)
      for d in $dlls; do
        if grep -qw -- "$d" <<<"$allowed_dlls"; then :; else bad "$name: imports non-system DLL $d.dll"; fi
      done
      ok "$name: imports $(echo $dlls | tr ' ' ',')"
      if [ "$size" -lt "$exe_limit" ]; then ok "$name: $size bytes (< 8 MB)"
      else echo "WARN  $name: $size bytes, over the 8 MB target"; fi
      ;;
  esac
done
[ "$checked" -gt 0 ] || bad "no binaries in $dir (run dist/build-release.sh first)"
[ "$fail" = 0 ] && echo "check-artifacts: all checks passed ($checked binaries)" || echo "check-artifacts: FAILED"
exit "$fail"
