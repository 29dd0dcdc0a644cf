#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Linux dependency prefix for the static release: a minimal static
# libarchive, libssh2 and libcurl (HTTP, HTTPS, SFTP) from Debian's source
# packages, with pkg-config files. OpenSSL 3,
# yaml-cpp, sqlite3 and zlib are Debian's own static .a files on Linux.
#
#   PREFIX=/path/to/prefix WORK=/scratch [JOBS=2] dist/deps/build-linux-deps.sh
#
# Normally run by dist/deps/ensure-deps.sh, which picks PREFIX (a temp dir it
# renames into the cache), WORK, and the resolved source versions.
#
# libarchive feature choice (same format set as the Windows build):
#   zlib     ON   deflate for zip and gzip.
#   OpenSSL  ON   zip AES/PKWARE decryption, HMAC and mtree digests. Costs no
#                 extra code: trawl links libcrypto.a anyway. (Windows: CNG.)
#   iconv    ON   (glibc's, inside libc.a) without it libarchive refuses
#                 "hdrcharset=UTF-8" in the C locale ("character-set conversion
#                 not fully supported"). UTF-8/ASCII/UCS converters are built
#                 into static glibc; only legacy code pages (CP437) would
#                 dlopen host gconv modules, and trawl reads and writes UTF-8.
#   acl      OFF  libacl pulls in NSS-style lookups and is not needed to read
#                 or write zip; xattrs stay (plain libc calls).
#   xml2/expat OFF  only for xar; libxml2 drags in ICU (31 MB, build-notes).
#   nettle, mbedtls, libb2, lzma, zstd, bz2, lz4  OFF: not needed for zip, and
#                 not cross-built for Windows, so both platforms read and
#                 write the same formats (libarchive has a bundled BLAKE2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=versions.env
. "$here/versions.env"

PREFIX=${PREFIX:?set PREFIX}
WORK=${WORK:?set WORK}
JOBS=${JOBS:-2}
DEPS_DEBSRC=${DEPS_DEBSRC:-$WORK/debsrc}
LIBARCHIVE_RESOLVED=${LIBARCHIVE_RESOLVED:-$(deps_resolve libarchive "$LIBARCHIVE_VERSION")}
CURL_RESOLVED=${CURL_RESOLVED:-$(deps_resolve curl "$CURL_VERSION")}
LIBSSH2_RESOLVED=${LIBSSH2_RESOLVED:-$(deps_resolve libssh2 "$LIBSSH2_VERSION")}
export DEPS_DEBSRC
mkdir -p "$WORK/src" "$WORK/build" "$PREFIX/lib/pkgconfig" "$PREFIX/include"
: > "$WORK/steps.log"
S=$WORK/src
B=$WORK/build

fetch() {
  deps_unpack libarchive "$LIBARCHIVE_RESOLVED" "$S"
  deps_unpack libssh2 "$LIBSSH2_RESOLVED" "$S"
  deps_unpack curl "$CURL_RESOLVED" "$S"
}
deps_step "fetch+unpack libarchive, libssh2, curl" fetch

libarchive() {
  cmake -G Ninja -S "$S/libarchive" -B "$B/libarchive" -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_POSITION_INDEPENDENT_CODE=OFF \
    -DENABLE_ZLIB=ON -DENABLE_OPENSSL=ON \
    -DENABLE_NETTLE=OFF -DENABLE_MBEDTLS=OFF -DENABLE_LIBB2=OFF \
    -DENABLE_LZ4=OFF -DENABLE_LZMA=OFF -DENABLE_ZSTD=OFF -DENABLE_BZip2=OFF \
    -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF -DENABLE_PCREPOSIX=OFF \
    -DENABLE_ICONV=ON -DENABLE_ACL=OFF -DENABLE_XATTR=ON \
    -DENABLE_TAR=OFF -DENABLE_CPIO=OFF -DENABLE_CAT=OFF -DENABLE_TEST=OFF
  cmake --build "$B/libarchive" -j"$JOBS" --target archive_static
  # Building only the static target means `cmake --install` cannot run (it
  # wants the shared library too), so install the four files by hand.
  cp "$S/libarchive/libarchive/archive.h" "$S/libarchive/libarchive/archive_entry.h" "$PREFIX/include/"
  cp "$B/libarchive/libarchive/libarchive.a" "$PREFIX/lib/libarchive.a"
  cp "$B/libarchive/build/pkgconfig/libarchive.pc" "$PREFIX/lib/pkgconfig/libarchive.pc"
}
deps_step "libarchive (zlib+openssl, static)" libarchive

libssh2() {
  mapfile -t args < <(deps_libssh2_cmake_args)
  cmake -G Ninja -S "$S/libssh2" -B "$B/libssh2" -Wno-dev -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_POSITION_INDEPENDENT_CODE=OFF "${args[@]}"
  cmake --build "$B/libssh2" -j"$JOBS"
  cmake --install "$B/libssh2"
}
deps_step "libssh2 $LIBSSH2_RESOLVED (openssl, static)" libssh2

build_curl() {
  mapfile -t args < <(deps_curl_cmake_args)
  cmake -G Ninja -S "$S/curl" -B "$B/curl" -Wno-dev -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_POSITION_INDEPENDENT_CODE=OFF "${args[@]}" \
    -DLIBSSH2_LIBRARY="$PREFIX/lib/libssh2.a" -DLIBSSH2_INCLUDE_DIR="$PREFIX/include"
  grep -q '^#define USE_LIBSSH2 1' "$B/curl/lib/curl_config.h" || { echo "libssh2 not used: no SFTP" >&2; return 1; }
  cmake --build "$B/curl" -j"$JOBS"
  # The static library without the export target is not installed by
  # curl's CMake: copy it and the headers.
  mkdir -p "$PREFIX/include/curl"
  cp "$S/curl/include/curl/"*.h "$PREFIX/include/curl/"
  cp "$B/curl/lib/libcurl.a" "$PREFIX/lib/libcurl.a"
  rm -rf "$PREFIX/lib/cmake/CURL" "$PREFIX/bin/curl-config"
  deps_write_curl_pc "$PREFIX" "-lssl -lcrypto -lpthread"
}
deps_step "curl $CURL_RESOLVED (http, https, sftp; static)" build_curl

printf 'platform=linux\nlibarchive=%s\ncurl=%s\nlibssh2=%s\ndeps_rev=%s\n' "$LIBARCHIVE_RESOLVED" \
  "$CURL_RESOLVED" "$LIBSSH2_RESOLVED" "$DEPS_REV" > "$PREFIX/.stamp"
