#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Linux dependency prefix for the static release: a minimal static
# libarchive from Debian's source package, with a pkg-config file. OpenSSL 3,
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
export DEPS_DEBSRC
mkdir -p "$WORK/src" "$WORK/build" "$PREFIX/lib/pkgconfig" "$PREFIX/include"
: > "$WORK/steps.log"
S=$WORK/src
B=$WORK/build

fetch() { deps_unpack libarchive "$LIBARCHIVE_RESOLVED" "$S"; }
deps_step "fetch+unpack libarchive $LIBARCHIVE_RESOLVED" fetch

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

printf 'platform=linux\nlibarchive=%s\ndeps_rev=%s\n' "$LIBARCHIVE_RESOLVED" "$DEPS_REV" > "$PREFIX/.stamp"
