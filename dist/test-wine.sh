#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the cross-built GoogleTest binary under Wine in a fresh, throw-away
# prefix, headless (no X display needed for console programs):
#
#   dist/test-wine.sh [path/to/trawl_tests.exe] [extra gtest args...]
#
# Default binary: build/win64/tests/trawl_tests.exe (preset win64-release).
# Tests listed in tests/win64_skip.txt (they need Linux oracle tools) are
# filtered out. Exit status is the test binary's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$repo/build/win64/tests/trawl_tests.exe}
shift || true
[ -f "$exe" ] || { echo "test-wine: $exe not found (cmake --build --preset win64-release)" >&2; exit 2; }
command -v wine >/dev/null || { echo "test-wine: wine not installed (dist/install-deps.sh --windows)" >&2; exit 2; }
exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")

skip=$(grep -v '^\s*#' "$repo/tests/win64_skip.txt" | grep -v '^\s*$' | paste -sd: -)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/trawl-wine.XXXXXX")
export WINEPREFIX=$prefix WINEDEBUG=-all WINEARCH=win64
# No mono/gecko install prompts; no display at all.
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
cleanup() { wineserver -k >/dev/null 2>&1 || true; rm -rf "$prefix"; }
trap cleanup EXIT

t0=$(date +%s.%N)
wineboot --init >/dev/null 2>&1 || wine wineboot --init >/dev/null 2>&1
wineserver -w
t1=$(date +%s.%N)
echo "test-wine: fresh prefix in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s" >&2
# Run from a Unix directory (drive Z:), so the test binary's built-in Unix
# paths (source dir, shared test data) resolve through Z:.
cd "$(dirname "$exe")"
set +e
wine "$exe" ${skip:+"--gtest_filter=-$skip"} "$@" 2>&1 | grep -v 'wine32 is missing\|multiarch\|dpkg --add-architecture\|apt-get install wine32'
rc=${PIPESTATUS[0]}
set -e
echo "test-wine: exit $rc after $(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s" >&2
exit "$rc"
