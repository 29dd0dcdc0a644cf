// SPDX-License-Identifier: Apache-2.0
// Ingest: archives written by the real ArchiveWriter (age-encrypted) are
// ingested into one transaction; a second ingest changes nothing; a tampered
// archive (flipped ciphertext byte) and an archive whose records do not parse
// are skipped and the case stays the same row for row, as the sqlite3 C API
// reads it; prefetch members are parsed; record columns follow kinds.cpp.
#include "triage/ingest.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/archive/archive_writer.h"
#include "core/profile/kinds.h"
#include "core/util/file.h"
#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/rules.h"
#include "triage/scoring.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kPrefetch =
    "dfir-artifact-museum/Win10/en_windows_10_consumer_editions_version_1903_updated_dec_2020_x64_dvd_f911c5f0.iso/"
    "CMD.EXE-0BD30981.pf";

struct Sample {
  fs::path archive;
  core::age::X25519Identity identity;
};

// bad_record: add a record segment that is not JSON (verifies, but cannot ingest).
Sample WriteArchive(const test::TempDir& dir, const std::string& host, const std::string& started,
                    bool bad_record = false) {
  Sample s;
  s.identity = core::age::GenerateX25519Identity().value();
  core::archive::WriterOptions o;
  o.output_dir = dir / ("out_" + host + (bad_record ? "_bad" : ""));
  o.base_name = host + "_20260101T000000Z";
  o.recipients = {s.identity.ToRecipient()};
  o.header = {{"tool", "trawl-collect"},
              {"tool_version", "0.1.0"},
              {"started", started},
              {"host", {{"hostname", host}, {"os", "windows"}, {"live", false}}},
              {"target_os", "windows"}};
  auto w = core::archive::ArchiveWriter::Create(o);
  EXPECT_TRUE(w) << w.error().ToString();
  auto pf = core::ReadFileText(test::SharedTestdata() / "prefetch" / kPrefetch);
  EXPECT_TRUE(pf);
  const std::string apath = "files/C/Windows/Prefetch/CMD.EXE-0BD30981.pf";
  EXPECT_TRUE((*w)->BeginFile(apath, {}));
  EXPECT_TRUE((*w)->WriteFile(core::AsBytes(*pf)));
  core::archive::ItemRecord item;
  item.source_path = "C:\\Windows\\Prefetch\\CMD.EXE-0BD30981.pf";
  item.type = "file";
  item.artifact = "windows.execution.prefetch";
  EXPECT_TRUE((*w)->EndFile(item));
  EXPECT_TRUE((*w)->AddRecord("files", {{"path", "C:\\Windows\\Prefetch\\CMD.EXE-0BD30981.pf"},
                                        {"type", "file"},
                                        {"size", pf->size()},
                                        {"copied_as", apath},
                                        {"status", "ok"},
                                        {"artifact", "windows.execution.prefetch"}}));
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE((*w)->AddRecord("files", {{"path", "C:\\App\\lib" + std::to_string(i) + ".dll"},
                                          {"type", "file"},
                                          {"size", i},
                                          {"entropy", 3.5},
                                          {"is_pe", true},
                                          {"pe_signed", false},
                                          {"sha256", std::string(64, 'a')},
                                          {"status", "ok"},
                                          {"path_hex", "00"},
                                          {"artifact", "t"}}));
  }
  EXPECT_TRUE((*w)->AddRecord("processes", {{"pid", 4},
                                            {"ppid", 0},
                                            {"name", "x"},
                                            {"exe", "C:\\App\\app.exe"},
                                            {"exe_deleted", false},
                                            {"start_time", "2026-01-01T00:00:00Z"}}));
  EXPECT_TRUE(
      (*w)->AddRecord("dir_entries", {{"dir", "C:\\Windows\\System32"}, {"name", "WinSCard.dll"}, {"type", "file"}}));
  EXPECT_TRUE((*w)->AddRecord("process_errors", {{"pid", 9}, {"error", "denied"}}));
  if (bad_record) {
    EXPECT_TRUE((*w)->BeginFile("records/files.9999.jsonl", {}));
    EXPECT_TRUE((*w)->WriteFile(core::AsBytes(std::string("{\"path\": \"ok\"}\nthis is not json\n"))));
    core::archive::ItemRecord rec;
    rec.type = "records";
    EXPECT_TRUE((*w)->EndFile(rec));
  }
  auto parts = (*w)->Finish({{"result", "complete"}, {"ended", started}});
  EXPECT_TRUE(parts) << parts.error().ToString();
  s.archive = parts->front().path;
  return s;
}

// One value as SQL text: NULL, a number, a quoted string or X'..' blob.
std::string SqlValue(sqlite3_stmt* st, int col) {
  switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return std::to_string(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT: return fmt::format("{}", sqlite3_column_double(st, col));  // shortest text that round-trips
    case SQLITE_BLOB: {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, col));
      std::string hex = "X'";
      for (int i = 0; i < sqlite3_column_bytes(st, col); ++i) hex += fmt::format("{:02x}", p[i]);
      return hex + "'";
    }
    default: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
      std::string quoted = "'";
      for (char c : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col)))) {
        quoted += c == '\'' ? std::string("''") : std::string(1, c);
      }
      return quoted + "'";
    }
  }
}

// The independent view of the database, read with the sqlite3 C API rather
// than the Db wrapper under test: user_version, every schema object's SQL and
// every row of every table (sqlite_sequence included), as the sqlite3 CLI's
// .dump would show them. Equal dumps mean an unchanged case.
std::string Dump(const fs::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return {};
  }
  std::string out;
  // Appends one line per row; returns the rows' first columns.
  auto query = [&](const std::string& sql) {
    std::vector<std::string> first;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
      return first;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::string line;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (c) line += '|';
        line += SqlValue(st, c);
      }
      out += line + "\n";
      first.push_back(sqlite3_column_type(st, 0) == SQLITE_TEXT
                          ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0))
                          : std::string());
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db);
    sqlite3_finalize(st);
    return first;
  };
  query("PRAGMA user_version");
  query("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
  for (const std::string& table : query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) {
    std::string ident = "\"";
    for (char c : table) ident += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += "-- " + table + "\n";
    query("SELECT * FROM " + ident + "\"");
  }
  sqlite3_close(db);
  return out;
}

std::int64_t Count(Db& db, const std::string& sql) {
  auto s = db.Prepare(sql);
  EXPECT_TRUE(s) << sql;
  if (!s) return -1;
  EXPECT_TRUE(s->Step());
  return s->Int(0);
}

TEST(TriageIngest, SchemaColumnsFollowKinds) {
  test::TempDir dir;
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  EXPECT_EQ(Count(**db, "PRAGMA user_version"), kCaseSchemaVersion);
  for (const auto* spec : core::profile::RecordTables()) {
    for (const auto& c : spec->columns) {
      EXPECT_EQ(Count(**db, fmt::format("SELECT count(*) FROM pragma_table_info('{}') WHERE name = '{}'", spec->table,
                                        c.name)),
                1)
          << spec->table << "." << c.name;
    }
  }
  for (const char* t : {"hosts", "collections", "pe", "prefetch", "prefetch_files", "findings", "entity_scores"}) {
    EXPECT_GT(Count(**db, fmt::format("SELECT count(*) FROM pragma_table_info('{}')", t)), 0) << t;
  }
}

// A case written by an earlier trawl-triage of the same schema version lacks
// the tables and record columns added since: opening it for writing adds
// them, so the next archive's records insert (rows already there keep NULL).
TEST(TriageIngest, OlderCaseOfThisVersionGetsNewTablesAndColumns) {
  test::TempDir dir;
  {
    auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.error().ToString();
    auto dropped = (*db)->Exec(
        "ALTER TABLE modules DROP COLUMN region_sha256; ALTER TABLE processes DROP COLUMN exe_description; "
        "DROP TABLE event_records; DROP TABLE sigma_refusals");
    ASSERT_TRUE(dropped) << dropped.error().ToString();
    EXPECT_EQ(Count(**db, "SELECT count(*) FROM pragma_table_info('modules') WHERE name = 'region_sha256'"), 0);
  }
  auto ro = Db::Open(dir / "case.db", Db::Mode::kReadOnly);  // read-only: left as it is
  ASSERT_TRUE(ro);
  EXPECT_EQ(Count(**ro, "SELECT count(*) FROM sqlite_schema WHERE name = 'event_records'"), 0);
  ro->reset();
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM pragma_table_info('modules') WHERE name = 'region_sha256'"), 1);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM pragma_table_info('processes') WHERE name = 'exe_description'"), 1);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('event_records', 'sigma_refusals')"), 2);
}

TEST(TriageIngest, IngestsOnceAndIsIdempotent) {
  test::TempDir dir;
  const Sample s = WriteArchive(dir, "WS01", "2026-01-01T00:00:00Z");
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  const std::vector<core::age::Identity> ids = {s.identity};
  const IngestResult first = IngestArchive(**db, s.archive, ids);
  ASSERT_EQ(first.status, IngestResult::Status::kIngested) << first.reason;
  EXPECT_EQ(first.hostname, "WS01");
  EXPECT_EQ(first.prefetch, 1u);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM files WHERE host_id = (SELECT id FROM hosts WHERE hostname = 'WS01')"),
            101);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM files WHERE extra LIKE '%path_hex%'"), 100);
  EXPECT_EQ(
      Count(**db, "SELECT count(*) FROM files WHERE name_lc = 'lib7.dll' AND dir_lc = 'c:\\app' AND ext_lc = 'dll'"),
      1);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM dir_entries WHERE name_lc = 'winscard.dll' AND host_id IS NOT NULL"), 1);
  // Declared since issue #11 (core/profile/kinds.cpp): its own table, not other_records.
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM process_errors WHERE host_id IS NOT NULL"), 1);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM other_records"), 0);
  EXPECT_EQ(Count(**db,
                  "SELECT count(*) FROM prefetch WHERE executable = 'CMD.EXE' AND run_count > 0 AND path LIKE "
                  "'C:\\Windows\\Prefetch\\CMD.EXE-0BD30981.pf'"),
            1);
  EXPECT_GT(Count(**db,
                  "SELECT count(*) FROM prefetch_files WHERE rel_path_lc LIKE '\\windows\\system32\\%' AND host_id IS "
                  "NOT NULL"),
            5);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM archive_entries WHERE archive_path LIKE '%CMD.EXE-0BD30981.pf'"), 1);
  const std::string before = Dump(dir / "case.db");
  EXPECT_NE(before.find("'WS01'"), std::string::npos) << "the dump misses rows";
  const IngestResult again = IngestArchive(**db, s.archive, ids);
  EXPECT_EQ(again.status, IngestResult::Status::kDuplicate) << again.reason;
  // The same collection in a copy with a different file hash (appended junk fails auth,
  // so re-encrypt is out of reach here): a renamed copy is still recognised by its hash.
  fs::copy_file(s.archive, dir / "copy.zip.age");
  EXPECT_EQ(IngestArchive(**db, dir / "copy.zip.age", ids).status, IngestResult::Status::kDuplicate);
  EXPECT_EQ(Dump(dir / "case.db"), before);
  // A second host lands in the same case.
  const Sample other = WriteArchive(dir, "WS02", "2026-01-02T00:00:00Z");
  const IngestResult second = IngestArchive(**db, other.archive, {other.identity});
  ASSERT_EQ(second.status, IngestResult::Status::kIngested) << second.reason;
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM hosts"), 2);
  EXPECT_EQ(Count(**db, "SELECT count(DISTINCT host_id) FROM files"), 2);
  EXPECT_EQ(Count(**db, "SELECT count(*) FROM files WHERE host_id IS NULL"), 0);
}

TEST(TriageIngest, TamperedArchiveSkippedCaseUnchanged) {
  test::TempDir dir;
  const Sample good = WriteArchive(dir, "WS01", "2026-01-01T00:00:00Z");
  const Sample victim = WriteArchive(dir, "WS02", "2026-01-02T00:00:00Z");
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  ASSERT_EQ(IngestArchive(**db, good.archive, {good.identity}).status, IngestResult::Status::kIngested);
  auto rules = LoadRules({});
  ASSERT_TRUE(rules);
  ASSERT_TRUE(ScoreCase(**db, *rules, {}));
  const std::string before = Dump(dir / "case.db");
  // Flip one byte in the middle of the ciphertext.
  std::string bytes = test::ReadFile(victim.archive);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  test::WriteFile(dir / "tampered.zip.age", bytes);
  const IngestResult r = IngestArchive(**db, dir / "tampered.zip.age", {victim.identity});
  EXPECT_EQ(r.status, IngestResult::Status::kSkipped);
  EXPECT_FALSE(r.reason.empty());
  EXPECT_EQ(Dump(dir / "case.db"), before);
  // Wrong key: skipped too.
  const IngestResult nokey = IngestArchive(**db, victim.archive, {good.identity});
  EXPECT_EQ(nokey.status, IngestResult::Status::kSkipped);
  EXPECT_EQ(Dump(dir / "case.db"), before);
}

TEST(TriageIngest, UnparseableRecordsSkipArchive) {
  test::TempDir dir;
  const Sample bad = WriteArchive(dir, "WS03", "2026-01-03T00:00:00Z", true);
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  const std::string before = Dump(dir / "case.db");
  const IngestResult r = IngestArchive(**db, bad.archive, {bad.identity});
  ASSERT_EQ(r.status, IngestResult::Status::kSkipped);
  bool named = false;
  for (const auto& p : r.problems) {
    named = named || (p.member == "records/files.9999.jsonl" && p.problem.find("line 2") != std::string::npos);
  }
  EXPECT_TRUE(named) << r.reason;
  EXPECT_EQ(Dump(dir / "case.db"), before);
}

TEST(TriageCaseDb, QueryIsReadOnly) {
  test::TempDir dir;
  {
    auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Exec("INSERT INTO hosts (hostname) VALUES ('h1')"));
  }
  const std::string before = Dump(dir / "case.db");
  EXPECT_NE(before.find("'h1'"), std::string::npos) << before;
  for (const char* sql : {"DELETE FROM hosts", "UPDATE hosts SET hostname = 'x'", "ATTACH '/tmp/a.db' AS a",
                          "PRAGMA user_version = 7", "SELECT load_extension('x')", "SELECT 1; DELETE FROM hosts"}) {
    std::ostringstream out, err;
    EXPECT_EQ(RunQueryCommand(dir / "case.db", sql, "tsv", out, err), 2) << sql;
    EXPECT_FALSE(err.str().empty());
  }
  EXPECT_EQ(Dump(dir / "case.db"), before);
  std::ostringstream out, err;
  EXPECT_EQ(RunQueryCommand(dir / "case.db", "SELECT hostname, char(27) || '[31m' AS esc FROM hosts", "tsv", out, err),
            0);
  EXPECT_EQ(out.str(), "hostname\tesc\nh1\t\\x1b[31m\n");
}

TEST(TriageCaseDb, SplitTargetPath) {
  EXPECT_EQ(SplitTargetPath("C:\\ProgramData\\TPM\\winscard.dll"),
            std::make_pair(std::string("C:\\ProgramData\\TPM"), std::string("winscard.dll")));
  EXPECT_EQ(SplitTargetPath("/usr/lib/a\\b.so"), std::make_pair(std::string("/usr/lib"), std::string("a\\b.so")));
  EXPECT_EQ(SplitTargetPath("/x"), std::make_pair(std::string("/"), std::string("x")));
  EXPECT_EQ(SplitTargetPath("name"), std::make_pair(std::string(), std::string("name")));
}

}  // namespace
}  // namespace trawl::triage
