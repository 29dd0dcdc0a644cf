#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package that trawl's build, tests, benchmarks and
# oracles need. Idempotent: a second run installs nothing and takes a second.
#
#   dist/install-deps.sh            # build + test dependencies
#   dist/install-deps.sh --windows  # also what the Windows build and the Wine tests need
set -euo pipefail

want_windows=0
for arg in "$@"; do
  case "$arg" in
    --windows) want_windows=1 ;;
    *) echo "install-deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

pkgs=(
  # toolchain
  g++ cmake ninja-build pkg-config make git file binutils clang-format clang-tidy-19
  # libraries (static .a files come with the -dev packages)
  libssl-dev libarchive-dev libyaml-cpp-dev libsqlite3-dev nlohmann-json3-dev
  libcli11-dev libfmt-dev zlib1g-dev libbz2-dev liblzma-dev libzstd-dev liblz4-dev
  libacl1-dev libgtest-dev googletest libbenchmark-dev
  # uploads (development builds; releases build curl and libssh2 from source)
  libcurl4-openssl-dev
  # header-only Boost (PropertyTree XML reader), used by every build incl. mingw
  libboost-dev
  # building our own minimal libarchive from Debian's source package
  dpkg-dev
  # fuzzing and sanitizer runtimes
  clang libclang-rt-14-dev
  # independent oracles used by the tests (never on collected evidence)
  age unzip libarchive-tools libscca-utils python3-libscca python3-pefile libfwnt-dev
  osslsigncode openssl sqlite3 python3
  # NTFS and partition-table oracles, and the tools that build NTFS test images
  sleuthkit ntfs-3g gdisk
  # registry oracles (hives, ShimCache), and hivexsh to build a SOFTWARE hive in a test
  python3-libregf regripper libhivex-bin
  # EVTX oracles
  python3-evtx libevtx-utils
  # real servers on loopback for the upload tests (HTTPS PUT, SFTP)
  nginx openssh-server openssh-client
  # headless browser: the triage HTML report must run no script from collected names
  chromium
  # test fixtures: small Windows PEs built by the tests themselves
  g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix
  # benchmarks
  hyperfine
)
if [ "$want_windows" = 1 ]; then
  pkgs+=(libz-mingw-w64-dev mingw-w64-tools wine64 wine tcl bc)
fi

# apt-get source needs deb-src entries; Debian 12 images ship binary ones only.
if ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
  cat > /etc/apt/sources.list.d/trawl-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  need_update=1
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ] || [ "${need_update:-0}" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
echo "install-deps: all ${#pkgs[@]} packages present"

# The browser test of the HTML report drives Chromium with Playwright
# (playwright-core from the npm registry, pinned in tests/browser/package-lock.json;
# it uses Debian's /usr/bin/chromium and downloads no browser). Node.js and npm:
# the machine's own when present, else Debian's.
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
lock=$repo/tests/browser/package-lock.json
stamp=$repo/tests/browser/node_modules/.trawl-lock.sha256
if [ "$(cat "$stamp" 2>/dev/null)" != "$(sha256sum <"$lock")" ]; then
  (cd "$repo/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  sha256sum <"$lock" >"$stamp"
fi
echo "install-deps: tests/browser/node_modules ready (playwright-core $(node -p "require('$repo/tests/browser/node_modules/playwright-core/package.json').version"))"
