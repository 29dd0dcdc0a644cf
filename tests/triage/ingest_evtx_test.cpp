// SPDX-License-Identifier: Apache-2.0
// Event logs in an archive are hostile like everything else in it: a
// garbage .evtx, a log cut short and a real log in one forged archive are
// all ingested (the archive verifies); the garbage one is an event_logs row
// with its error and no records, the cut one gives what its whole chunks and
// the recoverable part hold, flagged, and the real one every record the
// reader gives, with its path from the files record that copied it. A
// member too large for the per-archive row cap fails the archive and leaves
// the case unchanged.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/evtx.h"
#include "core/util/read_at.h"
#include "tests/support/test_env.h"
#include "tests/support/zip_builder.h"
#include "triage/case_db.h"
#include "triage/ingest.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::int64_t Count(Db& db, const std::string& sql) {
  auto s = db.Prepare(sql);
  EXPECT_TRUE(s) << s.error().ToString();
  if (!s) return -1;
  auto row = s->Step();
  EXPECT_TRUE(row && *row);
  return s->Int(0);
}

std::string Text(Db& db, const std::string& sql) {
  auto s = db.Prepare(sql);
  EXPECT_TRUE(s) << s.error().ToString();
  if (!s) return "";
  auto row = s->Step();
  EXPECT_TRUE(row && *row);
  return s->Text(0);
}

struct Counted {
  std::size_t records = 0, recovered = 0;
};
Counted Read(const std::string& bytes) {
  core::MemorySource src(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), "x");
  Counted c;
  auto stats = core::formats::evtx::ForEachRecord(src, [&](const core::formats::evtx::Record& r) {
    ++c.records;
    c.recovered += r.recovered;
  });
  EXPECT_TRUE(stats);
  return c;
}

fs::path Archive(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& logs) {
  json files_lines = json::array();
  std::string records;
  json entries = json::array();
  test::ZipBuilder zip;
  for (const auto& [name, bytes] : logs) {
    const std::string member = "files/C/Windows/System32/winevt/Logs/" + name;
    records += json{{"path", "C:\\Windows\\System32\\winevt\\Logs\\" + name},
                    {"type", "file"},
                    {"copied_as", member},
                    {"size", bytes.size()}}
                   .dump() +
               "\n";
    zip.Add(member, bytes);
    json e = test::MemberEntry(member, bytes);
    e["type"] = "file";
    entries.push_back(e);
  }
  zip.Add("records/files.0001.jsonl", records);
  entries.push_back(test::MemberEntry("records/files.0001.jsonl", records));
  zip.Add("manifest.json", test::ManifestText(entries));
  zip.WriteTo(path);
  return path;
}

TEST(IngestEvtx, GarbageCutAndRealLogsInOneArchive) {
  const fs::path real = test::SharedTestdata() / "evtx/omerbenamram-evtx/security.evtx";
  if (!fs::exists(real)) GTEST_SKIP() << real << " is missing";
  const std::string full = test::ReadFile(real);
  const std::string cut = full.substr(0, 4096 + 65536 + 30000);  // one chunk and part of the next
  const std::string garbage(100000, '\x41');
  test::TempDir dir;
  const auto archive = Archive(dir / "a.zip", {{"Security.evtx", full}, {"System.evtx", cut}, {"Junk.evtx", garbage}});
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  const IngestResult r = IngestArchive(**db, archive, {});
  ASSERT_EQ(r.status, IngestResult::Status::kIngested) << r.reason;
  EXPECT_EQ(r.event_logs, 3u);

  const Counted want_full = Read(full), want_cut = Read(cut);
  ASSERT_GT(want_full.records, 2000u);
  ASSERT_GT(want_cut.recovered, 0u) << "the cut chunk's records should be recovered";
  EXPECT_EQ(r.events, want_full.records + want_cut.records);
  auto& d = **db;
  EXPECT_EQ(Count(d, "SELECT records FROM event_logs WHERE path LIKE '%Security.evtx'"),
            static_cast<std::int64_t>(want_full.records));
  EXPECT_EQ(Count(d,
                  "SELECT count(*) FROM event_records e JOIN event_logs l ON l.id = e.log_id "
                  "WHERE l.path LIKE '%System.evtx'"),
            static_cast<std::int64_t>(want_cut.records));
  EXPECT_EQ(Count(d,
                  "SELECT count(*) FROM event_records e JOIN event_logs l ON l.id = e.log_id "
                  "WHERE l.path LIKE '%System.evtx' AND e.recovered = 1"),
            static_cast<std::int64_t>(want_cut.recovered));
  EXPECT_EQ(Count(d, "SELECT chunks_bad FROM event_logs WHERE path LIKE '%System.evtx'"), 1);
  // Garbage: a row with the reader's error, no records.
  EXPECT_EQ(Count(d,
                  "SELECT count(*) FROM event_records e JOIN event_logs l ON l.id = e.log_id "
                  "WHERE l.path LIKE '%Junk.evtx'"),
            0);
  EXPECT_FALSE(Text(d, "SELECT error FROM event_logs WHERE path LIKE '%Junk.evtx'").empty());
  // Fields are JSON objects; every record's host is the collection's.
  EXPECT_EQ(Count(d,
                  "SELECT count(*) FROM event_records WHERE json_valid(fields) = 0 OR "
                  "json_type(fields) <> 'object'"),
            0);
  EXPECT_EQ(Count(d,
                  "SELECT count(*) FROM event_records e JOIN collections c ON c.id = e.collection_id "
                  "WHERE e.host_id IS NOT c.host_id"),
            0);
}

TEST(IngestEvtx, RowCapFailsTheArchiveAndLeavesTheCaseUnchanged) {
  const fs::path real = test::SharedTestdata() / "evtx/omerbenamram-evtx/security.evtx";
  if (!fs::exists(real)) GTEST_SKIP() << real << " is missing";
  test::TempDir dir;
  const auto archive = Archive(dir / "a.zip", {{"Security.evtx", test::ReadFile(real)}});
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  IngestOptions o;
  o.max_rows_per_table = 1000;
  const IngestResult r = IngestArchive(**db, archive, {}, o);
  EXPECT_EQ(r.status, IngestResult::Status::kSkipped);
  EXPECT_NE(r.reason.find("event_records"), std::string::npos) << r.reason;
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM event_records"), 0);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM event_logs"), 0);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM collections"), 0);
}

}  // namespace
}  // namespace trawl::triage
