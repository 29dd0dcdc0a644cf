#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite on a fresh Debian 12 machine (CI runs this through
# .ci/run): installs what is needed, then
#   1. the Windows dependencies (mingw-w64 sysroot from Debian sources, cached
#      in /var/cache/trawl/deps) and the static Windows build -> dist/out;
#   2. the Debug build with ASan+UBSan (preset asan) and every ctest test under
#      the sanitizers: GoogleTest, fuzz corpus replays, end-to-end runs, and
#      the Wine side-load test with step 1's .exe. One Debug build serves both
#      the functional run and the sanitizer run (they were two builds and two
#      runs of the same suite until session 6: ~8 minutes of a cold CI run);
#   3. the static Linux release build, then the artifact checks of both
#      platforms (static, imports, env -i, sizes);
#   4. the Windows GoogleTest suite under Wine.
# Before step 1: the source format check (clang-format, .clang-format): a diff fails.
# After step 2: clang-tidy (.clang-tidy; clean units cached by content hash).
# TRAWL_WINDOWS=0 leaves out steps 1 and 4 (and the side-load test);
# TRAWL_ASAN=0 builds step 2 without sanitizers (preset dev) - for quick local
# runs, not for CI.
# Each step prints its duration; the first failure stops the run with its exit code.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export CTEST_OUTPUT_ON_FAILURE=1
windows=${TRAWL_WINDOWS:-1}
asan=${TRAWL_ASAN:-1}
t_all=$(date +%s)
step_start=0
step() { step_start=$(date +%s); echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
done_step() { echo "=== done in $(( $(date +%s) - step_start )) s"; }

step "dependencies"
if [ "$windows" = 1 ]; then dist/install-deps.sh --windows; else dist/install-deps.sh; fi
# install-deps.sh readied Chromium and Playwright: the report's browser test fails instead of skipping.
export TRAWL_REQUIRE_BROWSER=1
done_step

step "0. source format (clang-format --dry-run -Werror)"
dist/check-format.sh
done_step

if [ "$windows" = 1 ]; then
  step "1. Windows sysroot and static Windows build"
  # A stale .exe from an earlier run must not stand in for this one.
  rm -f dist/out/*.exe dist/out/test/*.exe
  dist/build-release.sh win64
  export TRAWL_REQUIRE_WINDOWS=1   # the side-load test fails instead of skipping
  done_step
fi

preset=asan
[ "$asan" = 1 ] || preset=dev
step "2. Debug build ($preset) and every test"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"
done_step

step "2b. clang-tidy (.clang-tidy) over the $preset build's units: a finding fails"
dist/check-tidy.sh "$repo/build/$preset"
done_step

step "3. static Linux release and artifact checks (both platforms)"
dist/build-release.sh linux
dist/check-artifacts.sh
done_step

if [ "$windows" = 1 ]; then
  step "4. Windows test suite under Wine"
  dist/test-wine.sh "$repo/build/win64/tests/trawl_tests.exe"
  done_step
fi

echo
echo "test-all: every step passed in $(( $(date +%s) - t_all )) s"
