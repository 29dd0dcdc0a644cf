#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# EVTX reader figures beside libevtx's evtxexport, measured in one run:
#   bench/evtx.sh BUILD_DIR [SHARED_TESTDATA]
# BUILD_DIR is a configured and built tree (its core/libtrawl_core.a and
# generated headers); a ten-line driver is compiled against it here (-O2):
# it reads every record of every file given (ForEachRecord, chunk slack
# recovery on) and prints the record count, optionally rendering each
# record's XML as evtxexport -f xml does.
# The files: every *.evtx of the shared test data that evtxexport exports to
# the end (it stops at the first record it cannot render: the CAPI2 log,
# dns_log_malformed). Both sides run REPEAT times (default 3), one process
# per file, files in the page cache; records/s is each tool's own count of
# records (evtxexport -m items: allocated records only) over its time.
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=${2:-${TRAWL_SHARED_TESTDATA:-$repo/../shared/testdata}}
repeat=${REPEAT:-3}
command -v evtxexport >/dev/null || { echo "evtx.sh: evtxexport is missing (libevtx-utils)" >&2; exit 2; }
[ -f "$build/core/libtrawl_core.a" ] || { echo "evtx.sh: no $build/core/libtrawl_core.a" >&2; exit 2; }
[ -d "$shared/evtx" ] || { echo "evtx.sh: no $shared/evtx" >&2; exit 2; }
work=$(mktemp -d /tmp/trawl-evtx-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/driver.cpp" <<'CPP'
#include <cstdio>
#include <cstring>
#include "core/formats/evtx.h"
#include "core/util/read_at.h"
int main(int argc, char** argv) {
  namespace evtx = trawl::core::formats::evtx;
  evtx::Options options;
  options.xml = argc > 2 && std::strcmp(argv[2], "--xml") == 0;
  auto src = trawl::core::OpenFileSource(argv[1]);
  if (!src) return 2;
  std::size_t n = 0, bytes = 0;
  auto stats = evtx::ForEachRecord(**src, [&](const evtx::Record& r) { ++n, bytes += r.xml.size(); }, options);
  if (!stats) return 1;
  std::printf("%zu %zu\n", n, static_cast<std::size_t>(stats->records - stats->records_recovered));
  return 0;
}
CPP
"${CXX:-c++}" -std=c++23 -O2 -DFMT_HEADER_ONLY=1 -I"$repo" -I"$build" "$work/driver.cpp" "$build/core/libtrawl_core.a" \
  -pthread -o "$work/driver"
files=()
while IFS= read -r -d '' f; do
  evtxexport -f xml "$f" >/dev/null 2>&1 && files+=("$f")
done < <(find "$shared/evtx" -name '*.evtx' -print0 | sort -z)
ours=0
allocated=0
theirs=0
for f in "${files[@]}"; do
  read -r n a < <("$work/driver" "$f")
  ours=$((ours + n))
  allocated=$((allocated + a))
  theirs=$((theirs + $(evtxexport -m items "$f" 2>/dev/null | grep -c '^Event number')))
done
t() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
loop='for i in $(seq "$1"); do for f in "${@:3}"; do '
ours_xml_t=$(t bash -c "$loop"'"$2" "$f" --xml >/dev/null; done; done' _ "$repeat" "$work/driver" "${files[@]}")
ours_t=$(t bash -c "$loop"'"$2" "$f" >/dev/null; done; done' _ "$repeat" "$work/driver" "${files[@]}")
ex_xml_t=$(t bash -c "$loop"'evtxexport -f xml "$f" >/dev/null 2>&1; done; done' _ "$repeat" x "${files[@]}")
ex_t=$(t bash -c "$loop"'evtxexport "$f" >/dev/null 2>&1; done; done' _ "$repeat" x "${files[@]}")
rate() { /usr/bin/python3 -c "print(round($1*$repeat/max($2,0.001)))"; }
printf '| %-58s | %-24s | %-34s |\n' \
  "evtx: ${#files[@]} files, $ours records ($allocated allocated), XML (records/s)" \
  "$(rate "$ours" "$ours_xml_t")/s" "evtxexport -f xml: $(rate "$theirs" "$ex_xml_t")/s ($theirs)"
printf '| %-58s | %-24s | %-34s |\n' "evtx: same files, fields only / evtxexport text (records/s)" \
  "$(rate "$ours" "$ours_t")/s" "evtxexport: $(rate "$theirs" "$ex_t")/s"
