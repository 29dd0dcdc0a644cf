#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NTFS reader figures beside The Sleuth Kit and the OS, measured in one run:
#   bench/ntfs.sh TRIAGE COLLECT [NFILES]
# Builds a 4 GiB sparse NTFS image with ntfs-3g (needs root and /dev/fuse):
# NFILES (default 100000) small files in 1000 folders and one 512 MiB file.
#  - names per second: `trawl-triage inspect ntfs IMG` (our index walk, one
#    MFT record read per name) against `fls -r -p` and `fls -r -p -m /`;
#  - raw read MB/s of the 512 MiB file: `inspect ntfs --cat` against `icat`
#    and against `cat` through the ntfs-3g mount (the OS path);
#  - a default-profile `trawl-collect --image` of the image (time, archive size).
# The image stays in the page cache for every reader (same footing).
set -euo pipefail
triage=$1
collect=$2
nfiles=${3:-100000}
for t in mkntfs ntfs-3g fls icat ifind; do
  command -v "$t" >/dev/null || { echo "ntfs.sh: $t is missing (dist/install-deps.sh)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/trawl-ntfs-bench.XXXXXX)
mnt=$work/mnt
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
img=$work/bench.img
truncate -s 4G "$img"
mkntfs -F -Q -q -L bench "$img"
mkdir -p "$mnt"
ntfs-3g "$img" "$mnt"
/usr/bin/python3 - "$mnt" "$nfiles" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(root, "Windows", "System32", "config"))
for i in range(n):
    d = os.path.join(root, "Users", "u%03d" % (i % 1000))
    if i < 1000:
        os.makedirs(d)
    with open(os.path.join(d, "f%06d.dll" % i), "wb") as f:
        f.write(b"MZ" + i.to_bytes(4, "little") * 200)
with open(os.path.join(root, "big.bin"), "wb") as f:
    block = os.urandom(1 << 20)
    for _ in range(512):
        f.write(block)
with open(os.path.join(root, "Windows", "System32", "config", "SYSTEM"), "wb") as f:
    f.write(os.urandom(8 << 20))
PY
sync
t() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
# OS read through the mount, cold for the FUSE layer but with the image cached.
cat "$img" >/dev/null
os_read=$(t cat "$mnt/big.bin")
umount "$mnt"
names=$("$triage" inspect ntfs "$img" 2>/dev/null | wc -l)
ours_walk=$(t "$triage" inspect ntfs "$img")
fls_walk=$(t fls -r -p "$img")
fls_m=$(t fls -r -p -m / "$img")
inode=$(ifind -n /big.bin "$img")
ours_cat=$(t "$triage" inspect ntfs "$img" --cat /big.bin)
icat_cat=$(t icat "$img" "$inode")
[ "$("$triage" inspect ntfs "$img" --cat /big.bin | sha256sum)" = "$(icat "$img" "$inode" | sha256sum)" ] ||
  { echo "ntfs.sh: our read of big.bin differs from icat's" >&2; exit 1; }
rate() { /usr/bin/python3 -c "print(round($1/max($2,0.001)))"; }
echo "| NTFS: $names names, walk (names/s)              | $(rate "$names" "$ours_walk")/s | fls -r -p: $(rate "$names" "$fls_walk")/s; fls -m: $(rate "$names" "$fls_m")/s |"
echo "| NTFS: raw read of a 512 MiB file (MB/s)         | $(rate 536.9 "$ours_cat") MB/s | icat: $(rate 536.9 "$icat_cat") MB/s; ntfs-3g mount: $(rate 536.9 "$os_read") MB/s |"
"$triage" keygen -o "$work/key.txt" >"$work/recipient" 2>/dev/null
# The mft kind alone: MFT entries per second against fls -r -p -m (a body file).
mkdir -p "$work/p/artifacts/windows/bench"
cat >"$work/p/artifacts/windows/bench/mft.yaml" <<'YAML'
name: windows.bench.mft
description: the MFT as records
rationale: bench
references: [{title: bench, source: bench/ntfs.sh}]
kind: mft
platforms: [windows]
parameters: {volume: 'C:'}
YAML
printf 'name: mft\ndescription: mft only\nartifacts:\n  - windows.bench.mft\n' >"$work/p/mft.yaml"
entries=$( { /usr/bin/time -f %e "$collect" --image "$img" --profile "$work/p/mft.yaml" --target-os windows --no-encrypt \
  --output "$work/mft-out" --quiet >/dev/null; } 2>&1 | tail -1)
records=$(unzip -p "$work"/mft-out/*.zip 'records/mft.*' | wc -l)
echo "| NTFS: mft kind, $records records (entries/s)     | $(rate "$records" "$entries")/s | fls -r -p -m: $(rate "$names" "$fls_m")/s |"
start=$(date +%s.%N)
"$collect" --image "$img" --profile default --recipient "$(cat "$work/recipient")" --output "$work/out" --quiet \
  --target-os windows >/dev/null 2>&1 || true
secs=$(/usr/bin/python3 -c "import time; print(round(time.time()-$start,1))")
size=$(du -cb "$work"/out/*.zip.age | tail -1 | cut -f1)
echo "| NTFS: --image default profile ($nfiles files)    | ${secs} s, $((size / 1024)) KiB | (no peer collects an unmounted image) |"
