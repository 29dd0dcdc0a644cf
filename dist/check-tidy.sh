#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# clang-tidy (the checks in .clang-tidy) over every translation unit of a
# build tree's compile_commands.json; any finding fails. Debian 12's
# clang-tidy-19 is the one that parses libstdc++ 12's <expected>.
# A unit found clean is remembered under $TRAWL_CACHE_DIR/tidy by the hash of
# its source, the project headers it includes, every .clang-tidy and the
# tool's version, so an unchanged unit is not checked again.
# dist/tidy-clean.txt, committed, lists the keys of units found clean when it
# was last recorded: a fresh clone (cold cache, CI) checks only the units whose
# source or project headers changed since. The key is of content, so a listed
# key stands only for exactly the text that was checked.
#   dist/check-tidy.sh [--record] [BUILD_DIR]      (default build/dev)
# --record: when every unit is clean, rewrite dist/tidy-clean.txt with the
# keys of the current units (run it before committing).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
record=0
if [ "${1:-}" = --record ]; then record=1; shift; fi
build=${1:-$repo/build/dev}
# Absolute: the depfiles name objects under it, and a relative path made every
# unit's key miss its headers (a header change then re-checked nothing).
build=$(cd "$build" && pwd)
committed=$repo/dist/tidy-clean.txt
tidy=${CLANG_TIDY:-clang-tidy-19}
command -v "$tidy" >/dev/null || { echo "check-tidy: $tidy not installed (dist/install-deps.sh installs it)" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || { echo "check-tidy: $build/compile_commands.json missing: configure first" >&2; exit 2; }
cache=${TRAWL_CACHE_DIR:-/var/cache/trawl}/tidy
mkdir -p "$cache"
cd "$repo"
# unit<TAB>key lines: the key hashes the tool's version, every .clang-tidy,
# the unit and each project header it includes (from the build's depfiles).
mapfile -t keyed < <("$tidy" --version | /usr/bin/python3 -c "
import hashlib, json, os, shlex, subprocess, sys
repo, build = sys.argv[1], sys.argv[2]
common = hashlib.sha256(sys.stdin.read().encode())
for root, dirs, files in os.walk(repo):
    dirs[:] = sorted(d for d in dirs if d not in ('build', '.git', 'dist'))
    if '.clang-tidy' in files:
        common.update(open(os.path.join(root, '.clang-tidy'), 'rb').read())
deps, cur = {}, None
for line in subprocess.run(['ninja', '-C', build, '-t', 'deps'], capture_output=True, text=True).stdout.splitlines():
    if line and not line[0].isspace():
        cur = deps.setdefault(os.path.normpath(os.path.join(build, line.split(':')[0])), [])
    elif line.strip() and cur is not None:
        cur.append(line.strip())
units = {}
for c in json.load(open(os.path.join(build, 'compile_commands.json'))):
    f = os.path.relpath(os.path.join(c['directory'], c['file']), repo)
    if f.startswith(('build', '..', '_deps')):
        continue
    args = shlex.split(c['command'])
    obj = os.path.normpath(os.path.join(c['directory'], args[args.index('-o') + 1])) if '-o' in args else ''
    units[f] = obj
for f, obj in sorted(units.items()):
    h = common.copy()
    for d in [os.path.join(repo, f)] + deps.get(obj, []):
        d = os.path.normpath(d)
        if d.startswith(repo + os.sep) and not d.startswith(os.path.join(repo, 'build')) and os.path.exists(d):
            h.update(os.path.relpath(d, repo).encode() + b'\\0' + open(d, 'rb').read())
    print(f + '\\t' + h.hexdigest())
" "$repo" "$build")
declare -A listed=()
if [ -f "$committed" ]; then
  while read -r key _; do [ -n "$key" ] && listed[$key]=1; done < "$committed"
fi
units=()
keys=()
todo=()
for line in "${keyed[@]}"; do
  u=${line%%$'\t'*}
  key=${line##*$'\t'}
  units+=("$u")
  keys+=("$key  $u")
  [ -f "$cache/$key" ] || [ -n "${listed[$key]:-}" ] || todo+=("$u:$key")
done
echo "check-tidy: ${#units[@]} units, ${#todo[@]} to check ($(( ${#units[@]} - ${#todo[@]} )) unchanged since checked clean)"
write_record() {
  [ $record = 1 ] || return 0
  { echo "# dist/check-tidy.sh --record: units clang-tidy found clean, by content key (see that script)"
    printf '%s\n' "${keys[@]}"; } > "$committed"
  echo "check-tidy: recorded ${#keys[@]} keys in dist/tidy-clean.txt"
}
if [ ${#todo[@]} -eq 0 ]; then write_record; exit 0; fi
fail=0
printf '%s\n' "${todo[@]}" | xargs -P "$(nproc)" -I{} bash -c '
  u=${1%%:*}; key=${1##*:}
  if out=$("$2" -p "$3" --quiet "$u" 2>&1); then touch "$4/$key"; else printf "%s\n" "$out" | grep -v "warnings generated" >&2; exit 1; fi
' _ {} "$tidy" "$build" "$cache" || fail=1
if [ $fail -eq 0 ]; then echo "check-tidy: clean"; write_record; else echo "check-tidy: findings above" >&2; fi
exit $fail
