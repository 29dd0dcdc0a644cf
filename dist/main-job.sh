#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job on a fresh Debian 12 machine: install what is needed, build the
# static release binaries, make an analyst key, collect this host with the
# built-in default profile, verify and triage the archive, show the report.
#   dist/main-job.sh [WORKDIR]      (default: ./trawl-demo)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$repo/trawl-demo}")
"$repo/dist/install-deps.sh" >&2
"$repo/dist/build-release.sh" linux >&2
bin=$repo/dist/out
mkdir -p "$work"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
key=$work/analyst-key-$stamp.txt

echo "== 1. analyst key (stays with the analyst)"
recipient=$("$bin/trawl-triage" keygen -o "$key" 2>/dev/null)
echo "identity: $key"
echo "recipient: $recipient"

echo "== 2. collect this host (static binary, default profile, encrypted to the recipient)"
set +e
"$bin/trawl-collect" --profile default --recipient "$recipient" --output "$work/collection-$stamp" \
  --time-limit 600 --quiet | tee "$work/collect-$stamp.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -le 1 ] || { echo "collection failed (exit $rc)"; exit "$rc"; }
archive=$(tail -n 1 "$work/collect-$stamp.log" | awk '{print $2}')

echo "== 3. verify the archive (authenticity and every manifest hash)"
"$bin/trawl-triage" verify -i "$key" "$archive"

echo "== 4. triage: ingest into a case database, score, summarise"
case_db=$work/case.db
if "$bin/trawl-triage" analyze --help >/dev/null 2>&1; then
  "$bin/trawl-triage" analyze -i "$key" --case "$case_db" "$archive"
  "$bin/trawl-triage" report --case "$case_db" --format html -o "$work/report-$stamp.html"
  "$bin/trawl-triage" report --case "$case_db" --format timeline -o "$work/timeline-$stamp.csv"
  echo "HTML report: $work/report-$stamp.html"
else
  "$bin/trawl-triage" decrypt -i "$key" "$archive" -o "$work/extracted-$stamp"
fi
