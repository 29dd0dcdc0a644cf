// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: trawl-triage's JSON Lines ingest. The input becomes one
// records/<table>.jsonl member (table picked by the first byte among the
// collector's record tables, plus log.jsonl) of a plain zip written with
// ZipWriter, and IngestArchive reads it into a scratch case database. The
// archive has no manifest, so every ingest ends in a rollback after the lines
// were parsed and inserted: the database stays small across runs.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/archive/zip_writer.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/case_scratch.h"
#include "triage/case_db.h"
#include "triage/ingest.h"

namespace {

trawl::fuzz::CaseScratch& S() {
  static trawl::fuzz::CaseScratch s("jsonl");
  return s;
}

constexpr const char* kMembers[] = {"records/processes.jsonl",   "records/modules.jsonl", "records/files.jsonl",
                                    "records/dir_entries.jsonl", "records/other.jsonl",   "log.jsonl"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl;
  if (size < 1) return 0;
  trawl::fuzz::CaseScratch& s = S();
  const char* member = kMembers[data[0] % std::size(kMembers)];
  std::string zip;
  {
    auto writer = core::archive::ZipWriter::Create([&](core::Bytes b) -> core::Result<void> {
      zip.append(reinterpret_cast<const char*>(b.data()), b.size());
      return {};
    });
    FUZZ_CHECK(writer.has_value(), "zip writer");
    FUZZ_CHECK((*writer)->AddEntry(member, fuzz::AsBytes(data + 1, size - 1), {}).has_value(), "zip entry");
    FUZZ_CHECK((*writer)->Close().has_value(), "zip close");
  }
  const auto path = s.root / "input.zip";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(zip.data(), static_cast<std::streamsize>(zip.size()));
  }
  const auto result = triage::IngestArchive(*s.db, path, {});
  FUZZ_CHECK(result.status != triage::IngestResult::Status::kIngested, "an archive without a manifest was ingested");
  return 0;
}
