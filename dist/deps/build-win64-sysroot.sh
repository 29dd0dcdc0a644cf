#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the static Windows x86-64 dependency sysroot from Debian source
# packages with mingw-w64 (posix threads): OpenSSL 3, libarchive (zlib + CNG),
# yaml-cpp, sqlite3 (amalgamation), libssh2 and libcurl (HTTP, HTTPS, SFTP), plus copies of the header-only
# libraries trawl uses (nlohmann-json, CLI11, fmt) with CMake package files, so
# the cross build never looks at /usr/include. zlib is Debian's
# libz-mingw-w64-dev (/usr/x86_64-w64-mingw32). No Boost: std::filesystem.
#
#   WIN64_SYSROOT=/path/to/sysroot WORK=/scratch [JOBS=2] dist/deps/build-win64-sysroot.sh
#
# Normally run by dist/deps/ensure-deps.sh win64. Recipes and workarounds are
# the ones measured in /work/shared/docs/build-notes.md (Part B).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=versions.env
. "$here/versions.env"

SYSROOT=${WIN64_SYSROOT:?set WIN64_SYSROOT}
WORK=${WORK:?set WORK}
JOBS=${JOBS:-2}
TC=x86_64-w64-mingw32
TOOLCHAIN=$repo/dist/toolchains/mingw-w64-x86_64.cmake
DEPS_DEBSRC=${DEPS_DEBSRC:-$WORK/debsrc}
export DEPS_DEBSRC
LIBARCHIVE_RESOLVED=${LIBARCHIVE_RESOLVED:-$(deps_resolve libarchive "$LIBARCHIVE_VERSION")}
OPENSSL_RESOLVED=${OPENSSL_RESOLVED:-$(deps_resolve openssl "$OPENSSL_VERSION")}
YAML_CPP_RESOLVED=${YAML_CPP_RESOLVED:-$(deps_resolve yaml-cpp "$YAML_CPP_VERSION")}
SQLITE3_RESOLVED=${SQLITE3_RESOLVED:-$(deps_resolve sqlite3 "$SQLITE3_VERSION")}
CURL_RESOLVED=${CURL_RESOLVED:-$(deps_resolve curl "$CURL_VERSION")}
LIBSSH2_RESOLVED=${LIBSSH2_RESOLVED:-$(deps_resolve libssh2 "$LIBSSH2_VERSION")}
for tool in $TC-gcc-posix $TC-g++-posix cmake ninja make perl tclsh pkg-config dpkg-source; do
  command -v "$tool" >/dev/null || deps_die "$tool not found (run dist/install-deps.sh --windows)"
done
[ -f /usr/$TC/lib/libz.a ] || deps_die "/usr/$TC/lib/libz.a missing (libz-mingw-w64-dev)"

mkdir -p "$WORK/src" "$WORK/build" "$SYSROOT/lib/pkgconfig" "$SYSROOT/include"
: > "$WORK/steps.log"
S=$WORK/src
B=$WORK/build
# The toolchain file without a sysroot and without wine: configure checks
# must not see host .pc files, and try_run results are pre-seeded instead of
# creating a wine prefix in $HOME.
CROSS=(-G Ninja -Wno-dev -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DTRAWL_WINE=OFF
       -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$SYSROOT")

fetch() {
  deps_unpack openssl "$OPENSSL_RESOLVED" "$S"
  deps_unpack libarchive "$LIBARCHIVE_RESOLVED" "$S"
  deps_unpack yaml-cpp "$YAML_CPP_RESOLVED" "$S"
  deps_unpack sqlite3 "$SQLITE3_RESOLVED" "$S"
  deps_unpack libssh2 "$LIBSSH2_RESOLVED" "$S"
  deps_unpack curl "$CURL_RESOLVED" "$S"
}
deps_step "fetch+unpack sources" fetch

openssl() {
  mkdir -p "$B/openssl" && cd "$B/openssl"
  # OPENSSLDIR is where openssl.cnf would be read from. Configure sees
  # "C:/..." as relative (host perl) and prepends the prefix, giving
  # "<prefix>/C:/Windows/System32/trawl-no-openssl-config": a colon inside a
  # path component is not a valid Windows name, so nobody can create it (a
  # plain "/x" would be C:\x, which any user may create). trawl's main() also
  # calls OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG), because
  # no-autoload-config alone does not stop 3.0 from reading it (build-notes).
  "$S/openssl/Configure" mingw64 --cross-compile-prefix=$TC- --prefix="$SYSROOT" --libdir=lib \
    --openssldir="C:/Windows/System32/trawl-no-openssl-config" \
    no-shared no-module no-tests no-autoload-config
  make -j"$JOBS" build_libs
  make install_dev
}
deps_step "openssl $OPENSSL_RESOLVED" openssl

libarchive() {
  # libarchive 3.6.2 probes "Bcrypt.h" and links "-lBcrypt"; mingw's files are
  # lower case, and without this CNG is silently dropped.
  sed -i 's/"Bcrypt.h" HAVE_BCRYPT_H/"bcrypt.h" HAVE_BCRYPT_H/; s/ADDITIONAL_LIBS "Bcrypt"/ADDITIONAL_LIBS "bcrypt"/' \
    "$S/libarchive/CMakeLists.txt"
  cmake "${CROSS[@]}" -S "$S/libarchive" -B "$B/libarchive" \
    -DZLIB_LIBRARY=/usr/$TC/lib/libz.a -DZLIB_INCLUDE_DIR=/usr/$TC/include \
    -DZLIB_WINAPI_EXITCODE=1 -DZLIB_WINAPI_EXITCODE__TRYRUN_OUTPUT= -DPOSIX_REGEX_LIB=NONE \
    -DENABLE_ZLIB=ON -DENABLE_CNG=ON -DENABLE_OPENSSL=OFF -DENABLE_NETTLE=OFF -DENABLE_MBEDTLS=OFF \
    -DENABLE_LIBB2=OFF -DENABLE_LZ4=OFF -DENABLE_LZMA=OFF -DENABLE_ZSTD=OFF -DENABLE_BZip2=OFF \
    -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF -DENABLE_PCREPOSIX=OFF -DENABLE_LIBGCC=OFF \
    -DENABLE_ICONV=OFF -DENABLE_TAR=OFF -DENABLE_CPIO=OFF -DENABLE_CAT=OFF -DENABLE_TEST=OFF
  grep -q '^HAVE_BCRYPT_H:INTERNAL=1' "$B/libarchive/CMakeCache.txt" \
    || { echo "bcrypt.h not detected: CNG would be missing" >&2; return 1; }
  cmake --build "$B/libarchive" -j"$JOBS" --target archive_static
  cp "$S/libarchive/libarchive/archive.h" "$S/libarchive/libarchive/archive_entry.h" "$SYSROOT/include/"
  cp "$B/libarchive/libarchive/libarchive_static.a" "$SYSROOT/lib/libarchive.a"
  cp "$B/libarchive/build/pkgconfig/libarchive.pc" "$SYSROOT/lib/pkgconfig/"
}
deps_step "libarchive $LIBARCHIVE_RESOLVED (zlib+CNG)" libarchive

yamlcpp() {
  cmake "${CROSS[@]}" -S "$S/yaml-cpp" -B "$B/yaml-cpp" \
    -DYAML_BUILD_SHARED_LIBS=OFF -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF \
    -DYAML_CPP_BUILD_CONTRIB=ON
  cmake --build "$B/yaml-cpp" -j"$JOBS"
  cmake --install "$B/yaml-cpp"
  # 0.7.0 installs its .pc under share/; keep every .pc in lib/pkgconfig.
  if [ -f "$SYSROOT/share/pkgconfig/yaml-cpp.pc" ]; then
    mv "$SYSROOT/share/pkgconfig/yaml-cpp.pc" "$SYSROOT/lib/pkgconfig/"
  fi
}
deps_step "yaml-cpp $YAML_CPP_RESOLVED" yamlcpp

sqlite() {
  # Debian's source has no amalgamation; generate it on the host (tclsh).
  mkdir -p "$B/sqlite" && cd "$B/sqlite"
  "$S/sqlite3/configure" --disable-tcl
  make -j"$JOBS" sqlite3.c
  # No extension loading: a collector must not dlopen/LoadLibrary anything
  # named by data. DQS=0 rejects double-quoted string literals in SQL.
  $TC-gcc-posix -O2 -DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_DQS=0 \
    -DSQLITE_WIN64 -c sqlite3.c -o sqlite3.o
  $TC-ar rcs "$SYSROOT/lib/libsqlite3.a" sqlite3.o
  cp sqlite3.h sqlite3ext.h "$SYSROOT/include/"
  local ver; ver=$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' sqlite3.h)
  cat > "$SYSROOT/lib/pkgconfig/sqlite3.pc" <<PC
prefix=$SYSROOT
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: SQLite
Description: SQL database engine (amalgamation, static)
Version: $ver
Libs: -L\${libdir} -lsqlite3
Cflags: -I\${includedir}
PC
}
deps_step "sqlite3 $SQLITE3_RESOLVED (amalgamation)" sqlite

libssh2() {
  mapfile -t args < <(deps_libssh2_cmake_args)
  # TRAWL_DEPS_PREFIX puts the sysroot (OpenSSL) on the toolchain's find root.
  cmake "${CROSS[@]}" -S "$S/libssh2" -B "$B/libssh2" -DTRAWL_DEPS_PREFIX="$SYSROOT" \
    -DOPENSSL_ROOT_DIR="$SYSROOT" "${args[@]}"
  cmake --build "$B/libssh2" -j"$JOBS"
  cmake --install "$B/libssh2"
}
deps_step "libssh2 $LIBSSH2_RESOLVED (openssl)" libssh2

build_curl() {
  mapfile -t args < <(deps_curl_cmake_args)
  cmake "${CROSS[@]}" -S "$S/curl" -B "$B/curl" -DTRAWL_DEPS_PREFIX="$SYSROOT" -DOPENSSL_ROOT_DIR="$SYSROOT" \
    "${args[@]}" -DCURL_USE_SCHANNEL=OFF -DCURL_WINDOWS_SSPI=OFF -DENABLE_UNICODE=ON \
    -DLIBSSH2_LIBRARY="$SYSROOT/lib/libssh2.a" -DLIBSSH2_INCLUDE_DIR="$SYSROOT/include"
  grep -q '^#define USE_LIBSSH2 1' "$B/curl/lib/curl_config.h" || { echo "libssh2 not used: no SFTP" >&2; return 1; }
  cmake --build "$B/curl" -j"$JOBS"
  mkdir -p "$SYSROOT/include/curl"
  cp "$S/curl/include/curl/"*.h "$SYSROOT/include/curl/"
  cp "$B/curl/lib/libcurl.a" "$SYSROOT/lib/libcurl.a"
  deps_write_curl_pc "$SYSROOT" "-lssl -lcrypto -lws2_32 -lcrypt32 -lbcrypt -ladvapi32 -luser32"
}
deps_step "curl $CURL_RESOLVED (http, https, sftp)" build_curl

headers() {
  # Header-only libraries from Debian's packages, so the cross build does not
  # need -I/usr/include (which would mix in glibc headers).
  cp -r /usr/include/nlohmann /usr/include/CLI /usr/include/fmt "$SYSROOT/include/"
  mkdir -p "$SYSROOT/share/cmake"
  # Their Debian CMake files locate the prefix relative to themselves.
  cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 "$SYSROOT/share/cmake/"
  # fmt's Debian config also defines fmt::fmt on libfmt.so (Linux): write a
  # header-only one instead.
  local fmtver; fmtver=$(dpkg-query -W -f='${Version}' libfmt-dev | sed 's/+.*//; s/-.*//')
  mkdir -p "$SYSROOT/lib/cmake/fmt"
  cat > "$SYSROOT/lib/cmake/fmt/fmt-config.cmake" <<'CM'
# Header-only fmt for the trawl win64 sysroot (Debian libfmt-dev headers).
if(NOT TARGET fmt::fmt-header-only)
  get_filename_component(_fmt_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
  add_library(fmt::fmt-header-only INTERFACE IMPORTED)
  set_target_properties(fmt::fmt-header-only PROPERTIES
    INTERFACE_COMPILE_DEFINITIONS "FMT_HEADER_ONLY=1"
    INTERFACE_INCLUDE_DIRECTORIES "${_fmt_prefix}/include")
  add_library(fmt::fmt INTERFACE IMPORTED)
  set_target_properties(fmt::fmt PROPERTIES INTERFACE_LINK_LIBRARIES fmt::fmt-header-only)
  unset(_fmt_prefix)
endif()
CM
  cat > "$SYSROOT/lib/cmake/fmt/fmt-config-version.cmake" <<CM
set(PACKAGE_VERSION "$fmtver")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
CM
}
deps_step "header-only libraries" headers

{
  echo "platform=win64"
  echo "deps_rev=$DEPS_REV"
  echo "openssl=$OPENSSL_RESOLVED libarchive=$LIBARCHIVE_RESOLVED yaml-cpp=$YAML_CPP_RESOLVED sqlite3=$SQLITE3_RESOLVED"
  echo "curl=$CURL_RESOLVED libssh2=$LIBSSH2_RESOLVED"
} > "$SYSROOT/.stamp"
