#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds an optimised (non-static) tree with the benchmarks and prints one
# table: our figure beside a baseline measured in the same run.
#   bench/run.sh              # everything (several minutes)
#   BENCH_FILES=200000 bench/run.sh
# Whole-run benchmarks: hashing /usr (collector vs md5sum+sha1sum+sha256sum),
# the hot path (bench/hot_path.sh: CPU against openssl speed, a 1,000,000-file
# walk's peak memory), age encryption (ours vs the age CLI),
# prefetch parsing (ours vs sccainfo), LZXPRESS Huffman (ours vs libfwnt),
# registry hive walks (bench/regf.sh: ours vs python3-libregf), the default
# profile's writable-location sweep (bench/sweep.sh: vs find | sha256sum),
# triage ingest + scoring (target 50,000 records/s).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${TRAWL_BENCH_BUILD:-$repo/build/bench}   # any Release tree with -DTRAWL_BUILD_BENCH=ON
work=$(mktemp -d /tmp/trawl-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
nfiles=${BENCH_FILES:-1000000}

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRAWL_BUILD_BENCH=ON -DTRAWL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null
collect=$build/bin/trawl-collect
triage=$build/bin/trawl-triage
"$triage" keygen -o "$work/key.txt" >"$work/recipient" 2>/dev/null
recipient=$(cat "$work/recipient")

rows=()
row() { rows+=("$(printf '| %-46s | %-22s | %-30s |' "$1" "$2" "$3")"); }

# --- micro-benchmarks ------------------------------------------------------
"$build/bench/hash_bench" --benchmark_format=json >"$work/hash.json" 2>/dev/null
mbps() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$work/hash.json'));
b={x['name']:x['bytes_per_second']/1e6 for x in d['benchmarks']}; print(round(b['$1'],1))"; }
md5=$(mbps BM_Md5); sha1=$(mbps BM_Sha1); sha256=$(mbps BM_Sha256); multi=$(mbps BM_MultiHasher)
ratio=$(/usr/bin/python3 -c "t=1/$md5+1/$sha1+1/$sha256; print(round((1/$multi)/t,3))")
row "one pass MD5+SHA-1+SHA-256+entropy" "$multi MB/s" "singles: $md5 / $sha1 / $sha256 MB/s"
row "  cost vs sum of the three alone (target <= 1.1)" "$ratio x" "1.0 = the three alone"

# --- hashing /usr: collector vs coreutils ----------------------------------
mkdir -p "$work/p/artifacts/linux/bench"
cat >"$work/p/artifacts/linux/bench/usr.yaml" <<'YAML'
name: linux.bench.usr
description: every regular file under /usr, hashed (no copies)
rationale: benchmark
references: [{title: bench, source: bench/run.sh}]
kind: files
platforms: [linux]
parameters: {paths: ['/usr/**'], max_depth: 30, pe_analysis: true}
limits: {max_files: 10000000, max_total_bytes: 1TiB}
YAML
printf 'name: usr\ndescription: bench\nartifacts: [linux.bench.usr]\nlimits: {time_limit: 3600}\n' >"$work/p/usr.yaml"
find /usr -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true   # warm the cache
nusr=$(find /usr -type f | wc -l)
t_core=$( { /usr/bin/time -f %e bash -c 'for t in md5sum sha1sum sha256sum; do find /usr -type f -exec $t {} + >/dev/null 2>&1; done' ; } 2>&1 | tail -1)
/usr/bin/time -f '%e %M' -o "$work/t_usr" "$collect" --profile "$work/p/usr.yaml" --recipient "$recipient" \
  --output "$work/out-usr" --priority normal --quiet >/dev/null 2>&1 || true
read -r t_ours rss_usr <"$work/t_usr"
speedup=$(/usr/bin/python3 -c "print(round($t_core/$t_ours,2))")
row "hash every file under /usr ($nusr files, warm)" "$t_ours s (${speedup}x)" "coreutils 3 tools: $t_core s"

# --- the hot path: CPU against the digests alone, a million-file walk's peak RSS
"$repo/bench/hot_path.sh" "$collect" "$triage" /usr/share "$nfiles" >"$work/hot.txt" 2>&1 || true
# NTFS reader vs The Sleuth Kit and the ntfs-3g mount (root and /dev/fuse).
"$repo/bench/ntfs.sh" "$triage" "$collect" >"$work/ntfs.txt" 2>&1 || echo "| NTFS bench skipped: $(tail -1 "$work/ntfs.txt") |" >"$work/ntfs.txt"
while IFS= read -r line; do
  case $line in
    hash*) row "hash /usr/share: CPU / three digests alone" "$(grep -o 'ratio [0-9.]*x' <<<"$line")" "openssl speed; target <= 1.5x" ;;
    walk*) row "walk + hash $nfiles small files: peak RSS" "$(grep -o 'peak RSS [0-9]* MiB' <<<"$line")" "target < 64 MiB" ;;
  esac
done <"$work/hot.txt"
while IFS= read -r line; do rows+=("$line"); done <"$work/ntfs.txt"
# Registry hives: inspect hive against python3-libregf (regipy SYSTEM_B, museum Amcache files).
"$repo/bench/regf.sh" "$triage" >"$work/regf.txt" 2>&1 || echo "| registry bench skipped: $(tail -1 "$work/regf.txt") |" >"$work/regf.txt"
while IFS= read -r line; do rows+=("$line"); done <"$work/regf.txt"
# EVTX: our reader vs libevtx's evtxexport over the shared test logs.
"$repo/bench/evtx.sh" "$build" >"$work/evtx.txt" 2>&1 || echo "| EVTX bench skipped: $(tail -1 "$work/evtx.txt") |" >"$work/evtx.txt"
while IFS= read -r line; do [[ $line == "|"* ]] && rows+=("$line"); done <"$work/evtx.txt"
# The default profile's writable-location sweep on a 60,000-file tree vs find | sha256sum.
"$repo/bench/sweep.sh" "$collect" 60000 >"$work/sweep.txt" 2>&1 || true
sweep=$(grep '^sweep:' "$work/sweep.txt" || echo "sweep: skipped ($(tail -1 "$work/sweep.txt"))")
row "default profile, writable sweep, 60k files" "$(sed -E 's/.*default profile ([0-9.]+ s).*/\1/' <<<"$sweep")" \
  "$(sed -E 's/.*(find.sha256sum.*)/\1/' <<<"$sweep")"

# --- age encryption ----------------------------------------------------------
head -c $((256 << 20)) /dev/urandom >"$work/blob"
read -r t_age u_age s_age <<<"$( { /usr/bin/time -f '%e %U %S' age -r "$recipient" -o "$work/blob.age" "$work/blob"; } 2>&1 | tail -1)"
"$build/bench/age_bench" --benchmark_filter='BM_AgeEncrypt' --benchmark_format=json >"$work/age.json" 2>/dev/null || true
ours_age=$(/usr/bin/python3 -c "import json; d=json.load(open('$work/age.json'));
v=[x['bytes_per_second'] for x in d['benchmarks'] if 'Encrypt' in x['name']]; print(round(max(v)/1e6,1) if v else 'n/a')")
age_wall=$(/usr/bin/python3 -c "print(round(256*1.048576/$t_age,1))")
age_cpu=$(/usr/bin/python3 -c "print(round(256*1.048576/max($u_age+$s_age,0.01),1))")
# Google Benchmark's rate is per CPU second, into memory; the CLI's is file to
# file, so both of its rates are shown.
row "age encryption (STREAM, X25519), CPU, to memory" "$ours_age MB/s" "age CLI: $age_cpu MB/s CPU, $age_wall MB/s wall (file to file)"

# --- prefetch parsing ----------------------------------------------------------
shared=${TRAWL_SHARED_TESTDATA:-$repo/../shared/testdata}
mapfile -t pfs < <(find "$shared/prefetch" -name '*.pf' ! -name notAPrefetch.pf)
t_ours_pf=$( { /usr/bin/time -f %e bash -c 'for i in 1 2 3 4 5 6 7 8 9 10; do "$0" inspect prefetch --json "$@" >/dev/null; done' "$triage" "${pfs[@]}"; } 2>&1 | tail -1)
t_scca=$( { /usr/bin/time -f %e bash -c 'for i in 1 2 3 4 5 6 7 8 9 10; do for f in "$@"; do sccainfo "$f" >/dev/null 2>&1; done; done' "${pfs[@]}"; } 2>&1 | tail -1)
n=$(( ${#pfs[@]} * 10 ))
row "prefetch: ${#pfs[@]} files x 10 (CLI, one process per run)" "$(/usr/bin/python3 -c "print(round($n/$t_ours_pf))") files/s" "sccainfo: $(/usr/bin/python3 -c "print(round($n/$t_scca))") files/s (one process per file)"

# --- LZXPRESS Huffman: ours vs libfwnt (the decoder behind sccainfo) ----------
"$build/bench/prefetch_bench" --benchmark_format=json >"$work/pf.json" 2>/dev/null || true
read -r lzx_ours lzx_fwnt pf_all <<<"$(/usr/bin/python3 - "$work/pf.json" <<'PY'
import json, sys
try:
    d = {b['name']: b for b in json.load(open(sys.argv[1]))['benchmarks']}
except Exception:
    d = {}
def mbps(name):
    b = d.get(name)
    return f"{b['bytes_per_second'] / 1e6:.0f}" if b and 'bytes_per_second' in b else 'n/a'
def items(name):
    b = d.get(name)
    return f"{b['items_per_second']:.0f}" if b and 'items_per_second' in b else 'n/a'
print(mbps('BM_DecompressLzxpressHuffman'), mbps('BM_DecompressLzxpressHuffmanLibfwnt'), items('BM_ParsePrefetchAll'))
PY
)"
row "LZXPRESS Huffman decode (real MAM files)" "$lzx_ours MB/s out" "libfwnt: $lzx_fwnt MB/s out"
row "prefetch parse, in process (all real files)" "$pf_all files/s" "see the CLI row for sccainfo"

# --- triage: ingest + score a large collection ---------------------------------
nrec=${BENCH_RECORDS:-200000}
"$build/bench/ingest_bench" "$nrec" "$work" >"$work/ingest.txt" 2>&1 || true
read -r ingest_rate case_mb <<<"$(/usr/bin/python3 - "$work/ingest.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rate = re.search(r'CPU time: .*ingest\+score [0-9.]+ s = ([0-9]+) records/s', t)
size = re.search(r'= ([0-9.]+) MB per 100,000 file records', t)
print(rate.group(1) if rate else 'n/a', size.group(1) if size else 'n/a')
PY
)"
row "triage ingest+score $nrec file records (CPU)" "$ingest_rate records/s" "target >= 50,000 records/s"
row "  case database size" "$case_mb MB / 100k files" "-"

printf '| %-46s | %-22s | %-30s |\n' "benchmark" "trawl" "baseline (same run)"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..32})"
printf '%s\n' "${rows[@]}"
