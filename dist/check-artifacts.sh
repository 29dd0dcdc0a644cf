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
# The static Linux collector's own libcurl + libssh2 (dist/deps), not Debian's:
# one collection with an empty environment, uploaded over HTTPS (test CA)
# and SFTP (pinned host key) to real servers on loopback, byte for byte, and
# with a hostile OPENSSL_CONF that must not be read.
if [ -f "$dir/trawl-collect" ] && command -v nginx >/dev/null && [ -x /usr/sbin/sshd ]; then
  up=$(mktemp -d)
  if "$repo/tests/upload/loopback_servers.sh" start "$up/servers" >/dev/null 2>"$up/servers.err"; then
    # shellcheck disable=SC1091
    . "$up/servers/servers.env"
    mkdir -p "$up/ev" "$up/prof/artifacts/linux/check"
    head -c 200000 /dev/urandom > "$up/ev/blob.bin"
    printf '%s\n' 'name: linux.check.upload' 'description: upload smoke' 'rationale: check-artifacts' \
      "references: [{title: check, source: dist/check-artifacts.sh}]" 'kind: files' 'platforms: [linux]' \
      'parameters:' "  paths: ['$up/ev/**']" '  copy: true' > "$up/prof/artifacts/linux/check/upload.yaml"
    printf 'name: upload-check\ndescription: smoke\nartifacts: [linux.check.upload]\n' > "$up/prof/upload-check.yaml"
    recipient=$(age-keygen 2>/dev/null | sed -n "s/^# public key: //p")
    if (cd "$up" && env -i OPENSSL_CONF=/nonexistent/evil.cnf "$dir/trawl-collect" --quiet \
          --profile "$up/prof/upload-check.yaml" --recipient "$recipient" --output "$up/out" \
          --upload "${HTTPS_BASE}check/{name}" --upload-ca "$CA" --upload "${SFTP_BASE}check/" \
          --upload-key "$CLIENT_KEY" --upload-host-key "$HOST_KEY" > "$up/collect.out" 2>&1); then
      same=1
      for f in "$up"/out/*; do
        cmp -s "$f" "$WWW/drop/check/$(basename "$f")" || same=0
        cmp -s "$f" "$SFTP_DIR/check/$(basename "$f")" || same=0
      done
      if [ "$same" = 1 ] && tail -n1 "$up/collect.out" | grep -q '^trawl:result {'; then
        ok "trawl-collect: uploads over HTTPS and SFTP with its static libcurl/libssh2 (env -i), byte for byte"
      else
        bad "trawl-collect: uploaded files differ from the local ones: $(tail -n3 "$up/collect.out")"
      fi
    else
      bad "trawl-collect: upload smoke test failed: $(tail -n5 "$up/collect.out")"
    fi
    "$repo/tests/upload/loopback_servers.sh" stop "$up/servers"
  else
    bad "loopback upload servers did not start: $(tail -n3 "$up/servers.err")"
  fi
  rm -rf "$up"
fi

[ "$checked" -gt 0 ] || bad "no binaries in $dir (run dist/build-release.sh first)"
[ "$fail" = 0 ] && echo "check-artifacts: all checks passed ($checked binaries)" || echo "check-artifacts: FAILED"
exit "$fail"
