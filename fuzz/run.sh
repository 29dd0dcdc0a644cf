#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (fuzz preset: clang, -fsanitize=fuzzer,address,
# undefined) and runs each one for SECONDS (default 60), one after the other,
# nice'd, starting from a copy of fuzz/corpus/<target>/ (new inputs go to
# $OUT/corpus/<target>; the seeds in the tree are not touched). Prints per
# target: executions, coverage (cov/ft from libFuzzer's last stats line),
# corpus size and crashes; crash inputs are kept in $OUT/crashes/<target>/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#   env: TRAWL_FUZZ_BUILD (build dir, default build/fuzz), TRAWL_FUZZ_OUT
#        (results, default $TRAWL_FUZZ_BUILD/results), JOBS (default 2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(dirname "$here")"
seconds="${1:-60}"
shift || true
build="${TRAWL_FUZZ_BUILD:-$src/build/fuzz}"
out="${TRAWL_FUZZ_OUT:-$build/results}"
jobs="${JOBS:-2}"
all_targets=(prefetch lzxpress pe profile age archive manifest rule jsonl analyze lznt1 partition ntfs regf shimcache task_xml)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

if [ ! -f "$build/CMakeCache.txt" ]; then
  nice cmake --preset fuzz -S "$src" -B "$build" -DTRAWL_BUILD_TESTS=OFF >/dev/null
fi
built=()
for t in "${targets[@]}"; do
  if [ -f "$here/${t}_fuzz.cpp" ]; then built+=("${t}_fuzz"); fi
done
nice cmake --build "$build" -j"$jobs" --target "${built[@]}"

mkdir -p "$out"
summary="$out/summary.txt"
printf '%-10s %12s %8s %8s %8s %8s\n' target execs cov ft corpus crashes | tee "$summary"
status=0
for t in "${targets[@]}"; do
  bin="$build/fuzz/${t}_fuzz"
  if [ ! -x "$bin" ]; then
    printf '%-10s (not built: no fuzz/%s_fuzz.cpp or target missing)\n' "$t" "$t" | tee -a "$summary"
    continue
  fi
  corpus="$out/corpus/$t"
  crashes="$out/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  [ -d "$here/corpus/$t" ] && cp -n "$here/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  log="$out/$t.log"
  # -fork=0: one process; -rss_limit_mb caps memory so an unbounded
  # allocation from a declared size is reported as a crash.
  set +e
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    nice "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -max_len=262144 \
      -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  stats_line="$(grep -E '#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)"
  cov="$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$stats_line")"
  ft="$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$stats_line")"
  execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
  [ -z "$execs" ] && execs="$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$stats_line")"
  ncrash="$(find "$crashes" -type f | wc -l)"
  ncorpus="$(find "$corpus" -type f | wc -l)"
  printf '%-10s %12s %8s %8s %8s %8s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$ncorpus" "$ncrash" | tee -a "$summary"
  if [ "$rc" -ne 0 ] || [ "$ncrash" -ne 0 ]; then
    status=1
    grep -m3 -E 'ERROR: |SUMMARY: |FUZZ_CHECK|deadly signal|runtime error' "$log" | sed 's/^/    /' | tee -a "$summary" || true
  fi
done
echo "results: $out (logs, corpus/, crashes/)"
exit "$status"
