# SPDX-License-Identifier: Apache-2.0
# Shared helpers for dist/deps/*.sh (sourced, not run). Everything logs to
# stderr: ensure-deps.sh keeps stdout for the prefix path it prints.

deps_log() { printf '[deps] %s\n' "$*" >&2; }
deps_die() { printf '[deps] ERROR: %s\n' "$*" >&2; exit 1; }

# Versions of source package $1 that apt knows about, one per line.
deps_apt_versions() {
  apt-cache showsrc "$1" 2>/dev/null | awk '/^Package: /{p=$2} /^Version: /{if (p==pkg) print $2}' pkg="$1"
}

# Newest of the versions on stdin (Debian ordering: ~ sorts first).
deps_newest() {
  local best="" v
  while read -r v; do
    [ -n "$v" ] || continue
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
  done
  printf '%s\n' "$best"
}

# deps_fetch PKG VERSION: makes sure $DEPS_DEBSRC holds the .dsc and tarballs
# of PKG=VERSION, downloading them if needed. Fails (status 1) when apt cannot
# download them, e.g. a version listed in the Sources index but already
# removed from the pool.
deps_fetch() {
  local pkg=$1 ver=$2 noepoch=${2#*:}
  mkdir -p "$DEPS_DEBSRC"
  [ -f "$DEPS_DEBSRC/${pkg}_${noepoch}.dsc" ] && return 0
  deps_log "fetching source $pkg=$ver into $DEPS_DEBSRC"
  local dl; dl=$(mktemp -d "$DEPS_DEBSRC/.dl.XXXXXX")
  # As root apt would try to drop privileges to _apt for the download.
  if ! (cd "$dl" && apt-get -qq -o APT::Sandbox::User=root source --download-only "$pkg=$ver") >&2; then
    rm -rf "$dl"
    return 1
  fi
  # Tarballs first, the .dsc last: a .dsc in the cache means a complete set.
  find "$dl" -maxdepth 1 -type f ! -name '*.dsc' -exec mv -f {} "$DEPS_DEBSRC/" \;
  mv -f "$dl"/*.dsc "$DEPS_DEBSRC/"
  rm -rf "$dl"
}

# deps_resolve PKG PINNED -> prints the version to use, with its sources in
# $DEPS_DEBSRC. The pinned version wins if it is cached or still downloadable;
# otherwise the newest version apt offers that downloads, with a warning.
deps_resolve() {
  local pkg=$1 pinned=$2 v
  if deps_fetch "$pkg" "$pinned"; then
    printf '%s\n' "$pinned"; return
  fi
  local avail; avail=$(deps_apt_versions "$pkg")
  [ -n "$avail" ] || deps_die "no source package '$pkg' known to apt (deb-src entries missing? run dist/install-deps.sh)"
  # Newest first.
  local sorted=() rest="$avail" best
  while [ -n "$rest" ]; do
    best=$(printf '%s\n' "$rest" | deps_newest)
    sorted+=("$best")
    rest=$(printf '%s\n' "$rest" | grep -vxF "$best" || true)
  done
  for v in "${sorted[@]}"; do
    [ "$v" = "$pinned" ] && continue
    if deps_fetch "$pkg" "$v"; then
      deps_log "WARNING: $pkg=$pinned cannot be fetched any more; using $v instead (update dist/deps/versions.env)"
      printf '%s\n' "$v"; return
    fi
  done
  deps_die "no version of source package '$pkg' can be fetched (tried: ${sorted[*]})"
}

# deps_unpack PKG VERSION DESTDIR: unpacks the source package (Debian patches
# applied) into DESTDIR/PKG.
deps_unpack() {
  local pkg=$1 ver=$2 dest=$3 noepoch=${2#*:}
  deps_fetch "$pkg" "$ver" || deps_die "apt-get source $pkg=$ver failed"
  mkdir -p "$dest"
  rm -rf "${dest:?}/$pkg"
  dpkg-source --no-copy -x "$DEPS_DEBSRC/${pkg}_${noepoch}.dsc" "$dest/$pkg" >&2 \
    || deps_die "dpkg-source -x ${pkg}_${noepoch}.dsc failed"
}

# deps_step LABEL CMD...: runs CMD with output in $WORK/<label>.log and records
# the wall time; on failure shows the log tail.
deps_step() {
  local label=$1; shift
  local log="$WORK/$(printf '%s' "$label" | tr -c 'A-Za-z0-9._-' '_').log"
  local t0; t0=$(date +%s.%N)
  if ! ("$@") >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    deps_die "step '$label' failed (full log: $log)"
  fi
  local t; t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  printf '%-40s %7ss\n' "$label" "$t" | tee -a "$WORK/steps.log" >&2
}

# deps_curl_cmake_args: the CMake options of the minimal static libcurl both
# platforms build (HTTP, HTTPS, SFTP/SCP through libssh2; OpenSSL; no zlib,
# IDN, PSL, HTTP/2, cookies, netrc, proxies' auth helpers or other
# protocols). No CA bundle path is compiled in: trawl passes the CA file (or
# Windows' store) at run time (collector/upload.cpp). OpenSSL's config file
# is never loaded (a suspect host's openssl.cnf must not steer TLS).
deps_curl_cmake_args() {
  printf '%s\n' -DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DENABLE_MANUAL=OFF \
    -DCURL_ENABLE_EXPORT_TARGET=OFF -DCURL_USE_OPENSSL=ON -DOPENSSL_USE_STATIC_LIBS=ON \
    -DCURL_DISABLE_OPENSSL_AUTO_LOAD_CONFIG=ON -DCURL_USE_LIBSSH2=ON -DCURL_USE_LIBSSH=OFF \
    -DUSE_LIBIDN2=OFF -DUSE_WIN32_IDN=OFF -DCURL_USE_LIBPSL=OFF -DCURL_ZLIB=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF \
    -DCURL_USE_GSSAPI=OFF -DENABLE_ARES=OFF -DUSE_WIN32_LDAP=OFF -DCURL_DISABLE_LDAP=ON \
    -DCURL_DISABLE_LDAPS=ON -DCURL_DISABLE_DICT=ON -DCURL_DISABLE_FILE=ON -DCURL_DISABLE_FTP=ON \
    -DCURL_DISABLE_GOPHER=ON -DCURL_DISABLE_IMAP=ON -DCURL_DISABLE_MQTT=ON -DCURL_DISABLE_POP3=ON \
    -DCURL_DISABLE_RTSP=ON -DCURL_DISABLE_SMB=ON -DCURL_DISABLE_SMTP=ON -DCURL_DISABLE_TELNET=ON \
    -DCURL_DISABLE_TFTP=ON -DCURL_DISABLE_COOKIES=ON -DCURL_DISABLE_NETRC=ON -DCURL_DISABLE_ALTSVC=ON \
    -DCURL_DISABLE_HSTS=ON -DCURL_DISABLE_DOH=ON -DCURL_DISABLE_MIME=ON -DCURL_DISABLE_NTLM=ON \
    -DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none -DCURL_CA_FALLBACK=OFF -DENABLE_UNIX_SOCKETS=OFF
}

# deps_libssh2_cmake_args: static libssh2 on OpenSSL, no zlib.
deps_libssh2_cmake_args() {
  printf '%s\n' -DBUILD_SHARED_LIBS=OFF -DCRYPTO_BACKEND=OpenSSL -DENABLE_ZLIB_COMPRESSION=OFF \
    -DBUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF -DOPENSSL_USE_STATIC_LIBS=ON
}

# deps_write_curl_pc PREFIX EXTRA_LIBS: curl's CMake .pc lists -lgcc_s and
# absolute build paths; write a plain static one (libcurl, libssh2, then the
# caller's OpenSSL and system libraries).
deps_write_curl_pc() {
  local prefix=$1 extra=$2 ver
  ver=$(sed -n 's/^#define LIBCURL_VERSION "\(.*\)"/\1/p' "$prefix/include/curl/curlver.h")
  rm -f "$prefix/lib/pkgconfig/libcurl.pc"
  cat > "$prefix/lib/pkgconfig/libcurl.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libcurl
Description: minimal static libcurl for trawl (HTTP, HTTPS, SFTP)
Version: $ver
Libs: -L\${libdir} -lcurl -lssh2 $extra
Libs.private: -L\${libdir} -lcurl -lssh2 $extra
Cflags: -I\${includedir} -DCURL_STATICLIB
PC
}
