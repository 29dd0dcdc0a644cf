#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sigma engine throughput: every rule of SigmaHQ's rule folders that trawl's
# log-source mapping serves (shared/testdata/sigma/all-rules, ~2,850 of 3,754)
# against every record of the 128 regression EVTX samples (158 records),
# repeated REPEAT times (default 200) in one process, after one untimed load.
# Prints rules x records per second and records per second. Use a test binary
# from an optimised tree (a Debug/ASan build measures the sanitizers):
#   bench/sigma.sh build/release/tests/trawl_tests [REPEAT]
set -euo pipefail
tests=${1:?usage: bench/sigma.sh TRAWL_TESTS [REPEAT]}
repeat=${2:-200}
[ -x "$tests" ] || { echo "sigma.sh: $tests is not an executable" >&2; exit 2; }
out=$(TRAWL_SIGMA_BENCH_REPEAT=$repeat "$tests" --gtest_filter='SigmaRegression.AllRulesOverAllRecords' 2>&1) || {
  echo "$out" >&2
  exit 1
}
line=$(grep -E '^[0-9]+ rules x [0-9]+ records x' <<<"$out") || { echo "$out" >&2; exit 1; }
echo "sigma: $line"
