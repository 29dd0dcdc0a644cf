#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The collector's hot path, measured against what cannot be avoided:
#  1. hashing every file under a tree (default /usr/share): the collector's
#     CPU time (user+sys) divided by the CPU the three digests alone need for
#     the same bytes at `openssl speed` rates (target <= 1.5x);
#  2. peak RSS of a walk + hash of N small files (default 1,000,000; target
#     < 64 MiB).
#   bench/hot_path.sh COLLECT TRIAGE [TREE] [NFILES]
set -euo pipefail
collect=$1
triage=$2
tree=${3:-/usr/share}
nfiles=${4:-1000000}
work=$(mktemp -d /tmp/trawl-hot.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$triage" keygen -o "$work/key.txt" >"$work/recipient" 2>/dev/null
recipient=$(cat "$work/recipient")
py=/usr/bin/python3

# --- 1. hashing a tree: CPU against the digests alone ------------------------
mkdir -p "$work/p/artifacts/linux/bench"
cat >"$work/p/artifacts/linux/bench/tree.yaml" <<YAML
name: linux.bench.tree
description: every regular file under the tree, hashed (no copies)
rationale: benchmark
references: [{title: bench, source: bench/hot_path.sh}]
kind: files
platforms: [linux]
parameters: {paths: ['$tree/**'], max_depth: 30, pe_analysis: true}
limits: {max_files: 10000000, max_total_bytes: 1TiB}
YAML
printf 'name: tree\ndescription: bench\nartifacts: [linux.bench.tree]\nlimits: {time_limit: 3600}\n' >"$work/p/tree.yaml"
find "$tree" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true  # warm the page cache
read -r nbytes nf <<<"$(find "$tree" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1; n++} END {print s, n}')"
/usr/bin/time -f '%e %U %S %M' -o "$work/t" "$collect" --profile "$work/p/tree.yaml" --recipient "$recipient" \
  --output "$work/out" --priority normal --quiet >/dev/null 2>&1 || true
read -r wall user sys rss <"$work/t"
# openssl speed: bytes per second on 16 KiB blocks (the collector reads 1 MiB
# chunks; small files are the rest of the cost, which is the point).
rate() { openssl speed -seconds 2 -bytes 16384 -evp "$1" 2>/dev/null | awk -v a="$1" 'tolower($1)==tolower(a) {v=$NF; sub(/k$/,"",v); print v*1000}'; }
md5=$(rate md5); sha1=$(rate sha1); sha256=$(rate sha256)
$py - "$nbytes" "$nf" "$wall" "$user" "$sys" "$md5" "$sha1" "$sha256" "$rss" "$tree" <<'PY'
import sys
nbytes, nf, wall, user, sys_, md5, sha1, sha256, rss, tree = sys.argv[1:]
nbytes, nf = int(nbytes), int(nf)
cpu = float(user) + float(sys_)
digests = nbytes / float(md5) + nbytes / float(sha1) + nbytes / float(sha256)
print(f"hash {tree}: {nf} files, {nbytes/1e6:.0f} MB; collector CPU {cpu:.2f} s (wall {wall} s, peak {int(rss)//1024} MiB); "
      f"three digests alone at openssl speed {digests:.2f} s; ratio {cpu/digests:.2f}x (target <= 1.5x)")
PY

# --- 2. a walk of many small files: peak memory --------------------------------
if [ "$nfiles" -gt 0 ]; then
  $py - "$work/many" "$nfiles" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:04d}")
    if i % 1000 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:07d}.txt"), "w") as f: f.write(f"file {i}\n")
PY
  cat >"$work/p/artifacts/linux/bench/many.yaml" <<YAML
name: linux.bench.many
description: the generated tree
rationale: benchmark
references: [{title: bench, source: bench/hot_path.sh}]
kind: files
platforms: [linux]
parameters: {paths: ['$work/many/**'], max_depth: 4}
limits: {max_files: 10000000}
YAML
  printf 'name: many\ndescription: bench\nartifacts: [linux.bench.many]\nlimits: {time_limit: 3600, max_output: 4GiB}\n' >"$work/p/many.yaml"
  /usr/bin/time -f '%e %U %S %M' -o "$work/t2" "$collect" --profile "$work/p/many.yaml" --recipient "$recipient" \
    --output "$work/out2" --priority normal --quiet >"$work/many.out" 2>&1 || true
  read -r wall2 user2 sys2 rss2 <"$work/t2"
  recs=$(tail -3 "$work/many.out" | tr '\n' ' ')
  echo "walk + hash $nfiles small files: peak RSS $((rss2 / 1024)) MiB (target < 64 MiB), wall $wall2 s, CPU $(echo "$user2 + $sys2" | bc) s"
fi
