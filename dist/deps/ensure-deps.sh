#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes sure the dependency prefix for PLATFORM exists and prints its path on
# stdout (everything else goes to stderr):
#
#   export TRAWL_LINUX_DEPS=$(dist/deps/ensure-deps.sh linux)
#   export TRAWL_WIN64_SYSROOT=$(dist/deps/ensure-deps.sh win64)
#   dist/deps/ensure-deps.sh win64 --path   # where it would be; builds nothing
#
# The prefix lives in <cache>/deps/<platform>-<key>. The key is a sha256 over
# versions.env, the source versions actually resolved, the build scripts, the
# toolchain file and the versions of the compiler and library packages the
# build uses, so any change there builds a new prefix. <cache> is
# /var/cache/trawl, else $HOME/.cache/trawl, else <repo>/build/deps-cache
# (override with TRAWL_CACHE_DIR). Builds run under flock in a temp dir next to
# the target and are renamed into place, so concurrent jobs never see half a
# prefix. Downloaded Debian sources are kept in <cache>/debsrc. The newest 3
# prefixes per platform are kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=versions.env
. "$here/versions.env"

platform=${1:-}
# --path: print where the prefix for this key lives (built or not) and exit.
only_path=0
[ "${2:-}" = --path ] && only_path=1
case "$platform" in
  linux|win64) ;;
  *) echo "usage: $0 linux|win64" >&2; exit 2 ;;
esac
JOBS=${JOBS:-2}
keep=${TRAWL_DEPS_KEEP:-3}

writable_dir() { mkdir -p "$1" 2>/dev/null && [ -w "$1" ]; }
if [ -n "${TRAWL_CACHE_DIR:-}" ]; then
  cache=$TRAWL_CACHE_DIR
elif writable_dir /var/cache/trawl; then
  cache=/var/cache/trawl
elif [ -n "${HOME:-}" ] && writable_dir "$HOME/.cache/trawl"; then
  cache=$HOME/.cache/trawl
else
  cache=$repo/build/deps-cache
fi
writable_dir "$cache/deps" || deps_die "cannot create $cache/deps"
export DEPS_DEBSRC=$cache/debsrc
mkdir -p "$DEPS_DEBSRC"

pkgver() { dpkg-query -W -f='${Package}=${Version}\n' "$@" 2>/dev/null || true; }

# Resolve the source versions first: they belong in the key.
LIBARCHIVE_RESOLVED=$(deps_resolve libarchive "$LIBARCHIVE_VERSION")
CURL_RESOLVED=$(deps_resolve curl "$CURL_VERSION")
LIBSSH2_RESOLVED=$(deps_resolve libssh2 "$LIBSSH2_VERSION")
export LIBARCHIVE_RESOLVED CURL_RESOLVED LIBSSH2_RESOLVED
key_inputs=("$here/versions.env" "$here/lib.sh")
if [ "$platform" = linux ]; then
  script=$here/build-linux-deps.sh
  key_inputs+=("$script")
  resolved="libarchive=$LIBARCHIVE_RESOLVED curl=$CURL_RESOLVED libssh2=$LIBSSH2_RESOLVED"
  tools=$(pkgver gcc-12 cmake ninja-build zlib1g-dev libssl-dev libc6-dev)
else
  script=$here/build-win64-sysroot.sh
  OPENSSL_RESOLVED=$(deps_resolve openssl "$OPENSSL_VERSION")
  YAML_CPP_RESOLVED=$(deps_resolve yaml-cpp "$YAML_CPP_VERSION")
  SQLITE3_RESOLVED=$(deps_resolve sqlite3 "$SQLITE3_VERSION")
  export OPENSSL_RESOLVED YAML_CPP_RESOLVED SQLITE3_RESOLVED
  key_inputs+=("$script" "$repo/dist/toolchains/mingw-w64-x86_64.cmake")
  resolved="libarchive=$LIBARCHIVE_RESOLVED openssl=$OPENSSL_RESOLVED yaml-cpp=$YAML_CPP_RESOLVED sqlite3=$SQLITE3_RESOLVED"
  resolved+=" curl=$CURL_RESOLVED libssh2=$LIBSSH2_RESOLVED"
  tools=$(pkgver gcc-mingw-w64-x86-64-posix g++-mingw-w64-x86-64-posix mingw-w64-x86-64-dev \
                 binutils-mingw-w64-x86-64 libz-mingw-w64-dev nlohmann-json3-dev libcli11-dev \
                 libfmt-dev cmake ninja-build tcl8.6)
fi
# Comment lines do not count, so documenting a script does not rebuild.
key=$( { for f in "${key_inputs[@]}"; do grep -v '^[[:space:]]*#' "$f" | sha256sum; done
         echo "$resolved"; echo "$tools"; } | sha256sum | cut -c1-16)
name=$platform-$key
final=$cache/deps/$name

if [ "$only_path" = 1 ]; then printf '%s\n' "$final"; exit 0; fi
touch_and_print() { touch "$final"; printf '%s\n' "$final"; }
if [ -f "$final/.stamp" ]; then
  deps_log "cached: $final"
  touch_and_print
  exit 0
fi

# One lock per platform: a linux build need not wait for a win64 one.
exec 9>"$cache/deps/.lock-$platform"
deps_log "waiting for $cache/deps/.lock-$platform"
flock 9
if [ -f "$final/.stamp" ]; then        # another job built it while we waited
  deps_log "cached (built by another job): $final"
  touch_and_print
  exit 0
fi

tmp=$(mktemp -d "$cache/deps/.tmp-$name.XXXXXX")
work=$(mktemp -d "${TMPDIR:-/tmp}/trawl-deps-$platform.XXXXXX")
cleanup() { rm -rf "$tmp" "$work"; }
trap cleanup EXIT
deps_log "building $platform deps ($resolved) into $final; logs in $work"
t0=$(date +%s)
if [ "$platform" = linux ]; then
  PREFIX=$tmp WORK=$work JOBS=$JOBS "$script"
else
  WIN64_SYSROOT=$tmp WORK=$work JOBS=$JOBS "$script"
fi
# The build wrote the temp path into .pc and CMake files; point them at the
# final location before the rename makes it real.
grep -rlF --include='*.pc' --include='*.cmake' "$tmp" "$tmp" | while read -r f; do
  sed -i "s|$tmp|$final|g" "$f"
done
{ echo "key=$key"; echo "resolved=$resolved"; echo "$tools" | sed 's/^/tool=/'; } >> "$tmp/.stamp"
chmod 755 "$tmp"
rm -rf "$final"
mv "$tmp" "$final"
deps_log "built $final in $(( $(date +%s) - t0 )) s ($(du -sh "$final" | cut -f1))"

# Keep the newest $keep prefixes of this platform (by last use).
ls -1dt "$cache/deps/$platform"-* 2>/dev/null | tail -n +"$((keep + 1))" | while read -r old; do
  deps_log "pruning $old"
  rm -rf "$old"
done
touch_and_print
