#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the static release binaries for one platform and copies them,
# stripped, into dist/out/ (test binaries into dist/out/test/):
#
#   dist/build-release.sh linux    # preset "release"       -> dist/out/trawl-collect ...
#   dist/build-release.sh win64    # preset "win64-release" -> dist/out/trawl-collect.exe ...
#
# Runs dist/deps/ensure-deps.sh first (cached after the first run), then the
# CMake configure and build presets. Whatever trawl executables the tree
# defines are shipped. The Windows build also makes trawl_tests.exe, copied
# for dist/test-wine.sh; the Linux release builds no tests (the suite runs in
# the asan tree: building it a second time here cost CI minutes for nothing).
# JOBS defaults to 2.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
platform=${1:-}
case "$platform" in
  linux)
    preset=release
    export TRAWL_LINUX_DEPS; TRAWL_LINUX_DEPS=$("$repo/dist/deps/ensure-deps.sh" linux)
    strip_tool=strip; suffix="" ;;
  win64)
    preset=win64-release
    export TRAWL_WIN64_SYSROOT; TRAWL_WIN64_SYSROOT=$("$repo/dist/deps/ensure-deps.sh" win64)
    strip_tool=x86_64-w64-mingw32-strip; suffix=".exe" ;;
  *) echo "usage: $0 linux|win64" >&2; exit 2 ;;
esac
jobs=${JOBS:-2}
cd "$repo"
t0=$(date +%s)
cmake --preset "$preset" >&2
cmake --build --preset "$preset" -j"$jobs" >&2
build_dir=$repo/build/$([ "$platform" = linux ] && echo release || echo win64)   # binaryDir of the preset
echo "build-release: $preset built in $(( $(date +%s) - t0 )) s ($build_dir)" >&2

out=$repo/dist/out
mkdir -p "$out/test"
shipped=()
# Release executables: every trawl-* program the tree builds (on Linux: names
# without a dot, so no stray trawl-*.sh or .json).
exclude="trawl-*.*"
[ -n "$suffix" ] && exclude="trawl-*.*.*"
while IFS= read -r -d '' bin; do
  name=$(basename "$bin")
  "$strip_tool" --strip-all -o "$out/$name" "$bin"
  shipped+=("$out/$name")
done < <(find "$build_dir" -path '*/CMakeFiles' -prune -o -type f -name "trawl-*$suffix" \
           ! -name "$exclude" -perm -u+x -print0)
# The Windows test binary, stripped the same way, for Wine and the artifact checks.
test_bin=$build_dir/tests/trawl_tests$suffix
if [ "$platform" = linux ]; then
  rm -f "$out/test/trawl_tests"  # a copy from before the release preset stopped building tests
elif [ -f "$test_bin" ]; then
  "$strip_tool" --strip-all -o "$out/test/trawl_tests$suffix" "$test_bin"
  shipped+=("$out/test/trawl_tests$suffix")
fi
[ "${#shipped[@]}" -gt 0 ] || { echo "build-release: no executables found in $build_dir" >&2; exit 1; }
[ "${#shipped[@]}" -gt 1 ] || echo "build-release: note: no trawl-* programs in the tree yet; only trawl_tests" >&2

printf '%-44s %12s %12s  %s\n' file unstripped stripped sha256
for f in "${shipped[@]}"; do
  rel=${f#"$out"/}
  src=$(find "$build_dir" -path '*/CMakeFiles' -prune -o -type f -name "$(basename "$f")" -print -quit)
  printf '%-44s %12s %12s  %s\n' "dist/out/$rel" "$(stat -c %s "$src")" "$(stat -c %s "$f")" \
    "$(sha256sum "$f" | cut -d' ' -f1)"
done
(cd "$out" && sha256sum -- *"$suffix" 2>/dev/null | grep -v ' test/' > "SHA256SUMS-$platform" || true)
