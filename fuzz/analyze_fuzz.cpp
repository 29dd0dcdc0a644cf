// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a whole forged archive through `analyze`'s ingest
// (IngestArchive: the streaming zip reader, the manifest check, records,
// prefetch and PE members, the case transaction). The input is written as a
// plain zip file, as a forger would hand it over after `age -d` and edits.
// Limits are lowered so that libFuzzer's -rss_limit_mb and -timeout catch
// what would otherwise cost memory or time out of proportion to the input
// (issue #18, findings 2 and 4). Invariant: an archive that is not ingested
// leaves the case exactly as it was (row counts of every table).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/fuzz_support.h"
#include "fuzz/case_scratch.h"
#include "triage/case_db.h"
#include "triage/ingest.h"

namespace {

trawl::fuzz::CaseScratch& S() {
  static trawl::fuzz::CaseScratch s("analyze");
  return s;
}

std::int64_t Rows(trawl::triage::Db& db) {
  auto s = db.Prepare(
      "SELECT (SELECT count(*) FROM collections) + (SELECT count(*) FROM files) + (SELECT count(*) FROM processes) + "
      "(SELECT count(*) FROM modules) + (SELECT count(*) FROM archive_entries) + (SELECT count(*) FROM prefetch) + "
      "(SELECT count(*) FROM collection_log) + (SELECT count(*) FROM other_records) + (SELECT count(*) FROM hosts)");
  FUZZ_CHECK(s.has_value(), "count statement prepares");
  auto row = s->Step();
  FUZZ_CHECK(row.has_value() && *row, "count statement runs");
  return s->Int(0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl;
  trawl::fuzz::CaseScratch& s = S();
  const auto input = s.root / "input.zip";
  {
    std::ofstream f(input, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  triage::IngestOptions o;
  o.limits.inflation_floor = 8u << 20;
  o.limits.max_member_size = 8u << 20;
  o.limits.max_members = 10000;
  o.limits.manifest.max_bytes = 1u << 20;
  o.limits.manifest.max_other_values = 20000;
  o.max_rows_per_table = 100000;
  const std::int64_t before = Rows(*s.db);
  const triage::IngestResult r = triage::IngestArchive(*s.db, input, {}, o);
  if (r.status != triage::IngestResult::Status::kIngested) {
    FUZZ_CHECK(Rows(*s.db) == before, "a refused archive changed the case");
  }
  return 0;
}
