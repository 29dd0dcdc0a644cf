#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the default profile's writable-location sweep costs on a large tree,
# beside coreutils doing the least a sweep must do (find + sha256sum of the
# same files), measured in one run:
#   bench/sweep.sh COLLECT [NFILES] [MB_PER_USER]
# Builds a Windows-like tree (--root): ProgramData with 400 vendor folders,
# 8 users each with AppData\Local, AppData\Roaming and Temp holding
# NFILES files in all (default 60000; a mix of small configs, 16-256 KiB
# binaries that start with MZ, and random blobs), plus folders the sweep
# must not enter (ProgramData\Microsoft, AppData\Local\Microsoft). Prints
# the default profile's wall time, peak RSS, files recorded by the sweep,
# bytes read and archive size, then the same files hashed by find|sha256sum.
set -euo pipefail
collect=$1
nfiles=${2:-60000}
work=$(mktemp -d /tmp/trawl-sweep-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
root=$work/WS-SWEEP
/usr/bin/python3 - "$root" "$nfiles" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
def write(path, size, mz):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        head = b"MZ" + bytes(62) if mz else b""
        f.write(head + rnd.randbytes(max(0, size - len(head))))
for d in ("Windows/System32", "Windows/SysWOW64"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
for name in ("kernel32.dll", "winscard.dll", "version.dll"):
    write(os.path.join(root, "Windows/System32", name), 100, False)
roots = ["ProgramData/Vendor%03d" % i for i in range(400)]
for u in range(8):
    for sub in ("AppData/Local/App%02d", "AppData/Roaming/App%02d", "AppData/Local/Temp/t%02d"):
        roots += ["Users/user%d/%s" % (u, sub % k) for k in range(40)]
for i in range(n):
    d = roots[i % len(roots)]
    kind = i % 10
    if kind < 6:
        write(os.path.join(root, d, "cfg%06d.json" % i), rnd.randint(200, 8000), False)
    elif kind < 9:
        write(os.path.join(root, d, "lib%06d.dll" % i), rnd.randint(16 << 10, 256 << 10), True)
    else:
        write(os.path.join(root, d, "data%06d.bin" % i), rnd.randint(4 << 10, 256 << 10), False)
# Folders the sweep leaves alone, with as many files again.
for i in range(n // 4):
    write(os.path.join(root, "ProgramData/Microsoft/Cache/f%06d" % i, ), 4096, False)
PY
sync
total=$(du -sb "$root" | cut -f1)
key=$work/key.txt
rcp=$("$(dirname "$collect")/trawl-triage" keygen -o "$key" 2>/dev/null)
find "$root" -type f -print0 | xargs -0 cat >/dev/null  # same page cache footing for both
/usr/bin/time -f "%e %M" -o "$work/time" "$collect" --root "$root" --target-os windows --profile default \
  --recipient "$rcp" --output "$work/out" --quiet >/dev/null 2>&1 || true
read -r wall rss <"$work/time"
archive=$(ls "$work"/out/*.zip.age)
"$(dirname "$collect")/trawl-triage" decrypt -i "$key" "$archive" -o "$work/x" >/dev/null 2>&1
swept=$(grep -h '"artifact":"windows.sweep.writable_locations"' "$work"/x/records/files*.jsonl 2>/dev/null | wc -l)
read -r read_bytes limits <<<"$(/usr/bin/python3 -c "
import json
m = json.load(open('$work/x/manifest.json'))
a = [x for x in m['artifacts'] if x['artifact'] == 'windows.sweep.writable_locations'][0]
print(a.get('bytes_read', 0), a.get('limit', 'none'))")"
core=$( { /usr/bin/time -f %e find "$root/ProgramData" "$root/Users" -mindepth 1 -maxdepth 5 -type f \
  -not -path '*/ProgramData/Microsoft/*' -print0 | xargs -0 sha256sum >/dev/null; } 2>&1 | tail -1)
echo "sweep: tree $(( total >> 20 )) MiB; default profile ${wall} s, peak RSS $(( rss / 1024 )) MiB, $swept files swept, $(( read_bytes >> 20 )) MiB read (sweep limit hit: $limits), archive $(( $(stat -c %s "$archive") >> 20 )) MiB; find|sha256sum same tree ${core} s"
