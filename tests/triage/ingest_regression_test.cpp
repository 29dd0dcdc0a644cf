// SPDX-License-Identifier: Apache-2.0
// Regression tests for the JSON Lines ingest found while fuzzing and
// hardening (fuzz/jsonl_fuzz.cpp). Archives are plain zips written by
// ZipWriter, as a hostile collector could write them.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/archive/zip_writer.h"
#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/ingest.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;

fs::path WriteZip(const fs::path& path, const std::string& member, const std::string& content) {
  std::string zip;
  auto w = core::archive::ZipWriter::Create([&](core::Bytes b) -> core::Result<void> {
    zip.append(reinterpret_cast<const char*>(b.data()), b.size());
    return {};
  });
  EXPECT_TRUE(w);
  EXPECT_TRUE((*w)->AddEntry(member, core::AsBytes(content), {}));
  EXPECT_TRUE((*w)->Close());
  test::WriteFile(path, zip);
  return path;
}

// A log line that is an object holding a million nested arrays parsed (nlohmann
// parses iteratively) and then overflowed the stack in json::dump() when the
// line was stored. Lines are now depth-checked before parsing.
TEST(IngestRegression, DeeplyNestedJsonLineDoesNotOverflowTheStack) {
  test::TempDir dir;
  const std::string deep =
      R"({"level":"info","event":"x","d":)" + std::string(1000000, '[') + std::string(1000000, ']') + "}\n";
  for (const char* member : {"log.jsonl", "records/processes.jsonl", "records/other.jsonl"}) {
    const auto zip = WriteZip(dir / (std::string(member).substr(0, 3) + ".zip"), member, deep);
    auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.error().ToString();
    const IngestResult r = IngestArchive(**db, zip, {});
    EXPECT_EQ(r.status, IngestResult::Status::kSkipped) << member;
    EXPECT_TRUE(std::any_of(r.problems.begin(), r.problems.end(),
                            [](const auto& p) { return p.problem.find("nested deeper than") != std::string::npos; }))
        << member << ": " << r.reason;
  }
}

}  // namespace
}  // namespace trawl::triage
