#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Registry hive reader figures beside libregf, measured in one run:
#   bench/regf.sh TRIAGE [SHARED_TESTDATA]
# The largest hives of the shared test data: regipy's SYSTEM_B (xz, unpacked
# here with its logs) and the DFIR Artifact Museum's four Amcache.hve files.
#  - keys per second walking every key and value: `trawl-triage inspect hive
#    --json --no-logs` (one process per hive, every value's data rendered)
#    against a python3-libregf (pyregf) script that reads every key's name
#    and time and every value's name, type and data (one process per hive,
#    the same footing). Both read each primary file as it is, without logs;
#    the key counts must agree.
#  - the same walk of SYSTEM_B after replaying its two logs (ours only:
#    libregf does not read transaction logs).
# RegRipper has no plugin-free full dump to compare with. Each walk runs
# REPEAT times (default 5); the files stay in the page cache.
set -euo pipefail
triage=$1
here=$(cd "$(dirname "$0")" && pwd)
shared=${2:-${TRAWL_SHARED_TESTDATA:-$here/../../shared/testdata}}
repeat=${REPEAT:-5}
command -v xz >/dev/null || { echo "regf.sh: xz is missing" >&2; exit 2; }
/usr/bin/python3 -c 'import pyregf' 2>/dev/null || { echo "regf.sh: python3-libregf is missing" >&2; exit 2; }
reg=$shared/registry
[ -f "$reg/regipy/SYSTEM_B.xz" ] || { echo "regf.sh: no $reg/regipy/SYSTEM_B.xz" >&2; exit 2; }
work=$(mktemp -d /tmp/trawl-regf-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for f in SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2; do xz -dc "$reg/regipy/$f.xz" >"$work/$f"; done
hives=("$work/SYSTEM_B")
for d in "$reg"/dfir-artifact-museum/Amcache_*; do
  [ -f "$d/Amcache.hve" ] && hives+=("$d/Amcache.hve")
done
cat >"$work/walk.py" <<'PY'
import sys
import pyregf

def walk(key):
    keys, values = 1, 0
    key.get_name()
    key.get_last_written_time_as_integer()
    for v in key.values:
        v.get_name()
        v.get_type()
        v.get_data()
        values += 1
    for sub in key.sub_keys:
        k, n = walk(sub)
        keys += k
        values += n
    return keys, values

f = pyregf.file()
f.open(sys.argv[1])
print(*walk(f.get_root_key()))
PY
# Key counts: ours (JSON lines after the header) and libregf's, per hive.
keys=0
values=0
for h in "${hives[@]}"; do
  ours=$(($("$triage" inspect hive --json --no-logs "$h" | wc -l) - 1))
  read -r k v < <(/usr/bin/python3 "$work/walk.py" "$h")
  if [ "$ours" -ne "$k" ]; then
    echo "regf.sh: $h: $ours keys in our walk, $k in libregf's" >&2
    exit 1
  fi
  keys=$((keys + k))
  values=$((values + v))
done
t() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
ours_t=$(t bash -c 'for i in $(seq "$1"); do for h in "${@:3}"; do "$2" inspect hive --json --no-logs "$h" >/dev/null; done; done' \
  _ "$repeat" "$triage" "${hives[@]}")
py_t=$(t bash -c 'for i in $(seq "$1"); do for h in "${@:3}"; do /usr/bin/python3 "$2" "$h" >/dev/null; done; done' \
  _ "$repeat" "$work/walk.py" "${hives[@]}")
sysb_keys=$(($("$triage" inspect hive --json "$work/SYSTEM_B" | wc -l) - 1))
sysb_t=$(t bash -c 'for i in $(seq "$1"); do "$2" inspect hive --json "$3" >/dev/null; done' _ "$repeat" "$triage" \
  "$work/SYSTEM_B")
rate() { /usr/bin/python3 -c "print(round($1*$repeat/max($2,0.001)))"; }
printf '| %-46s | %-22s | %-30s |\n' "hives: ${#hives[@]} files, $keys keys, $values values (keys/s)" \
  "$(rate "$keys" "$ours_t")/s" "pyregf (libregf): $(rate "$keys" "$py_t")/s"
printf '| %-46s | %-22s | %-30s |\n' "hive: SYSTEM_B + 2 logs replayed, $sysb_keys keys" \
  "$(rate "$sysb_keys" "$sysb_t")/s" "(libregf reads no logs)"
