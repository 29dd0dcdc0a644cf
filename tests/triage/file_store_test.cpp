// SPDX-License-Identifier: Apache-2.0
// The files storage of case schema 4 (triage/file_store.cpp): the view reads
// back exactly what was written, hostile values included; what hosts share
// is stored once; a version-3 case (files as one table) migrates to the same
// rows and columns.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/util/time.h"
#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/ingest.h"
#include "triage/rules.h"
#include "triage/scoring.h"

namespace trawl::triage {
namespace {

std::vector<std::vector<std::string>> Rows(Db& db, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  auto s = db.Prepare(sql);
  EXPECT_TRUE(s) << sql;
  if (!s) return rows;
  while (*s->Step()) {
    rows.emplace_back();
    for (int i = 0; i < s->ColumnCount(); ++i) rows.back().push_back(s->IsNull(i) ? "NULL" : s->Text(i));
  }
  return rows;
}

std::string One(Db& db, const std::string& sql) {
  auto r = Rows(db, sql);
  return r.empty() || r[0].empty() ? "<none>" : r[0][0];
}

// Every files column as quote() gives it, row by row: what `query` users see.
std::string QuoteAllSql(Db& db) {
  std::string cols;
  for (const auto& r : Rows(db, "SELECT name FROM pragma_table_info('files') ORDER BY cid")) {
    cols += (cols.empty() ? "quote(\"" : ", quote(\"") + r[0] + "\")";
  }
  return "SELECT " + cols + " FROM files ORDER BY id";
}

TEST(TriageFileStore, TimesRoundTripInCxxAndSql) {
  test::TempDir dir;
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  std::mt19937_64 rng(20261207);
  // 1678-01-01 .. 2261-12-31 in nanoseconds, both signs, plus the edges.
  const std::int64_t lo = -9'214'560'000'000'000'000LL, hi = 9'214'646'399'999'999'999LL;
  std::vector<std::int64_t> values = {lo, hi, -1, 1, 999'999'999, -1'000'000'000, 951'782'400'000'000'000LL};
  std::uniform_int_distribution<std::int64_t> any(lo, hi);
  for (int i = 0; i < 2000; ++i) values.push_back(any(rng));
  auto sql = (*db)->Prepare("SELECT " + SqlIsoOfNs("?1") + ", trawl_time_ns(?2)");
  ASSERT_TRUE(sql);
  for (const std::int64_t ns : values) {
    const std::string text = core::UnixNsToIso(ns);
    ASSERT_EQ(IsoToUnixNs(text), ns) << text;
    sql->Bind(1, ns);
    sql->Bind(2, std::string_view(text));
    ASSERT_TRUE(*sql->Step());
    ASSERT_EQ(sql->Text(0), text) << ns;
    ASSERT_EQ(sql->Int(1), ns) << text;
    sql->Reset();
  }
  // Not the collector's form, or not a date: kept as text.
  for (const char* bad :
       {"2024-02-30T00:00:00.000000000Z", "2023-02-29T00:00:00.000000000Z", "1677-12-31T23:59:59.999999999Z",
        "2262-01-01T00:00:00.000000000Z", "2024-13-01T00:00:00.000000000Z", "2024-01-01T24:00:00.000000000Z",
        "2024-01-01T00:00:60.000000000Z", "2024-01-01T00:00:00.00000000Z", "2024-01-01T00:00:00Z",
        "2024-01-01 00:00:00.000000000Z", "2024-01-01T00:00:00.000000000z", "+024-01-01T00:00:00.000000000Z",
        "1970-01-01T00:00:00.000000000Z", ""}) {
    EXPECT_FALSE(IsoToUnixNs(bad)) << bad;
  }
  EXPECT_EQ(IsoToUnixNs("2024-02-29T12:00:00.000000001Z"), 1'709'208'000'000'000'001LL);
}

TEST(TriageFileStore, ViewReadsBackWhatWasWrittenAndSharesFacts) {
  test::TempDir dir;
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  const std::string cols =
      "collection_id, host_id, path, source_path, type, size, mtime, atime, ctime, btime, sha256, md5, entropy, "
      "pe_signer, artifact, name, dir, name_lc, dir_lc, ext_lc, extra";
  const std::string t = "2024-03-01T10:00:00.123456789Z";
  // Two hosts with the same file, a third with the same hash but other PE
  // facts, and hostile values: a number where a time or source path belongs,
  // a forged source_path of integer 0, a date that does not exist, a path
  // that is not text.
  const std::string rows =
      "(1, 1, 'C:\\A\\x.dll', 'C:\\A\\x.dll', 'file', 10, '" + t + "', '" + t + "', '" + t + "', '" + t +
      "', 'aa', 'm1', 7.5, 'Signer', 'art', 'x.dll', 'C:\\A', 'x.dll', 'c:\\a', 'dll', NULL),"
      "(2, 2, 'C:\\A\\x.dll', 'C:\\A\\x.dll', 'file', 10, '" +
      t + "', '" + t + "', '" + t + "', '" + t +
      "', 'aa', 'm1', 7.5, 'Signer', 'art', 'x.dll', 'C:\\A', 'x.dll', 'c:\\a', 'dll', NULL),"
      "(3, 3, 'C:\\A\\x.dll', '/mnt/c/A/x.dll', 'file', 10, 5, '2024-02-30T00:00:00.000000000Z', 1.5, '', "
      "'aa', 'm1', 7.5, 'Other', 'art2', 'x.dll', 'C:\\A', 'x.dll', 'c:\\a', 'dll', '{\"k\":1}'),"
      "(3, 3, 7, 0, 'dir', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', '', '', '', '', NULL)";
  ASSERT_TRUE((*db)->Exec("INSERT INTO files (" + cols + ") VALUES " + rows));
  const auto got = Rows(
      **db, "SELECT quote(id), " + [&] {
        std::string q;
        for (std::size_t a = 0, b; a < cols.size(); a = b + 2) {
          b = cols.find(", ", a);
          if (b == std::string::npos) b = cols.size();
          q += (q.empty() ? "quote(" : ", quote(") + cols.substr(a, b - a) + ")";
        }
        return q;
      }() + " FROM files ORDER BY id");
  ASSERT_EQ(got.size(), 4u);
  const std::string qt = "'" + t + "'";
  EXPECT_EQ(got[0],
            (std::vector<std::string>{
                "1",       "1",       "1",       "'C:\\A\\x.dll'", "'C:\\A\\x.dll'", "'file'", "10",       qt,
                qt,        qt,        qt,        "'aa'",           "'m1'",           "7.5",    "'Signer'", "'art'",
                "'x.dll'", "'C:\\A'", "'x.dll'", "'c:\\a'",        "'dll'",          "NULL"}));
  EXPECT_EQ(got[2], (std::vector<std::string>{"3",
                                              "3",
                                              "3",
                                              "'C:\\A\\x.dll'",
                                              "'/mnt/c/A/x.dll'",
                                              "'file'",
                                              "10",
                                              "'5'",
                                              "'2024-02-30T00:00:00.000000000Z'",
                                              "'1.5'",
                                              "''",
                                              "'aa'",
                                              "'m1'",
                                              "7.5",
                                              "'Other'",
                                              "'art2'",
                                              "'x.dll'",
                                              "'C:\\A'",
                                              "'x.dll'",
                                              "'c:\\a'",
                                              "'dll'",
                                              "'{\"k\":1}'"}));
  EXPECT_EQ(got[3], (std::vector<std::string>{"4",    "3",    "3",    "'7'",  "'0'",  "'dir'", "NULL", "NULL",
                                              "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",  "NULL", "NULL",
                                              "''",   "''",   "''",   "''",   "''",   "NULL"}));
  // Stored once: one path and folder for the three x.dll rows, one content
  // for hosts 1 and 2, another for host 3's other signer; collector times as
  // integers, the equal source path as 0.
  EXPECT_EQ(One(**db, "SELECT count(*) FROM file_paths WHERE path = 'C:\\A\\x.dll'"), "1");
  EXPECT_EQ(One(**db, "SELECT count(*) FROM file_dirs WHERE dir = 'C:\\A'"), "1");
  EXPECT_EQ(One(**db, "SELECT count(*) FROM file_contents WHERE sha256 = 'aa'"), "2");
  EXPECT_EQ(One(**db, "SELECT count(DISTINCT content_id) FROM file_rows WHERE host_id IN (1, 2)"), "1");
  EXPECT_EQ(One(**db, "SELECT typeof(mtime) || ' ' || typeof(source_path) FROM file_rows WHERE id = 1"),
            "integer integer");
  EXPECT_EQ(One(**db, "SELECT content_id IS NULL FROM file_rows WHERE id = 4"), "1");
}

// With the statistics ingest keeps, lookups through the view by hash, name
// and folder go through the interned tables' indexes and skip from host to
// host in file_rows, on the whole case and on one host's rows.
TEST(TriageFileStore, LookupsThroughTheViewUseTheIndexes) {
  test::TempDir dir;
  {
    auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.error().ToString();
    ASSERT_TRUE((*db)->Exec("BEGIN"));
    ASSERT_TRUE((*db)->Exec("INSERT INTO hosts (id, hostname) VALUES (1, 'a'), (2, 'b'), (3, 'c')"));
    auto ins = (*db)->Prepare(
        "INSERT INTO files (collection_id, host_id, path, type, sha256, name, dir, name_lc, dir_lc, ext_lc) VALUES "
        "(?1, ?1, ?2, 'file', ?3, ?4, ?5, lower(?4), lower(?5), 'dll')");
    ASSERT_TRUE(ins);
    for (int host = 1; host <= 3; ++host) {
      for (int i = 0; i < 1500; ++i) {
        const std::string folder = "C:\\Windows\\D" + std::to_string(i % 50);
        const std::string name = "f" + std::to_string(i) + ".dll";
        ins->Bind(1, std::int64_t{host});
        ins->Bind(2, std::string_view(folder + "\\" + name));
        ins->Bind(3, std::string_view(i % 700 == 0 ? "x" + std::to_string(host) : "h" + std::to_string(i)));
        ins->Bind(4, std::string_view(name));
        ins->Bind(5, std::string_view(folder));
        ASSERT_TRUE(ins->Run());
      }
    }
    ASSERT_TRUE((*db)->Exec("COMMIT"));
    ASSERT_TRUE(UpdatePlannerStatistics(**db));
  }
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadOnly);  // loads the statistics
  ASSERT_TRUE(db) << db.error().ToString();
  auto plan = [&](const std::string& sql) {
    std::string text;
    for (const auto& r : Rows(**db, "EXPLAIN QUERY PLAN " + sql)) text += r.back() + "\n";
    return text;
  };
  for (const char* hash : {"sha256", "sha1", "md5"}) {
    const std::string p =
        plan(std::string("SELECT host_id FROM v_hashes WHERE hash = 'h5' AND hash_type = '") + hash + "'");
    EXPECT_NE(p.find(std::string("file_contents_") + hash + " ("), std::string::npos) << p;
    EXPECT_NE(p.find("file_rows_content (ANY(host_id) AND content_id=?)"), std::string::npos) << p;
  }
  std::string p = plan("SELECT id FROM files WHERE name_lc = 'f5.dll'");
  EXPECT_NE(p.find("file_paths_name (name_lc=?)"), std::string::npos) << p;
  EXPECT_NE(p.find("file_rows_path (ANY(host_id) AND path_id=?)"), std::string::npos) << p;
  p = plan("SELECT id FROM files WHERE host_id = 2 AND dir_lc = 'c:\\windows\\d7' AND ext_lc = 'dll'");
  EXPECT_NE(p.find("file_dirs_lc (dir_lc=?)"), std::string::npos) << p;
  EXPECT_NE(p.find("file_rows_path (host_id=? AND path_id=?)"), std::string::npos) << p;
  EXPECT_EQ(p.find("SCAN r"), std::string::npos) << p;
  // The answers, too.
  EXPECT_EQ(One(**db, "SELECT count(*) || ' ' || group_concat(DISTINCT host_id) FROM v_hashes WHERE hash = 'x2'"),
            "3 2");
  EXPECT_EQ(One(**db, "SELECT count(*) FROM files WHERE name_lc = 'f5.dll'"), "3");
}

// A host's slice in an incremental run is its collection's id range and
// its host id. Without the range's share given to the planner, SQLite
// guessed a rowid range keeps 1/64 of the rows and, from about 64 hosts on,
// read the host through file_rows_content (host_id=?) with a table lookup per
// row: the X_TRADER filename IOC rule went from 0.016 s to 0.20 s at 100 hosts.
TEST(TriageFileStore, HostSliceReadsItsRowRangeAtAnyFleetSize) {
  test::TempDir dir;
  constexpr int kHosts = 120;
  constexpr int kRows = 60;
  {
    auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.error().ToString();
    ASSERT_TRUE((*db)->Exec("BEGIN"));
    auto ins = (*db)->Prepare(
        "INSERT INTO files (collection_id, host_id, path, type, sha256, name, dir, name_lc, dir_lc, ext_lc) VALUES "
        "(?1, ?1, ?2, 'file', ?3, ?4, ?5, lower(?4), lower(?5), 'dll')");
    ASSERT_TRUE(ins);
    for (int host = 1; host <= kHosts; ++host) {
      ASSERT_TRUE(
          (*db)->Exec(fmt::format("INSERT INTO hosts (id, hostname) VALUES ({0}, 'h{0}'); INSERT INTO "
                                  "collections (id, host_id, archive_name, archive_sha256, ingested_at) "
                                  "VALUES ({0}, {0}, 'a{0}', 's{0}', 'now')",
                                  host)));
      for (int i = 0; i < kRows; ++i) {
        const std::string folder = "C:\\Windows\\D" + std::to_string(i % 7);
        const std::string name = "f" + std::to_string(i) + ".dll";
        ins->Bind(1, std::int64_t{host});
        ins->Bind(2, std::string_view(folder + "\\" + name));
        ins->Bind(3, std::string_view("h" + std::to_string(i)));
        ins->Bind(4, std::string_view(name));
        ins->Bind(5, std::string_view(folder));
        ASSERT_TRUE(ins->Run());
      }
      ASSERT_TRUE((*db)->Exec(fmt::format("INSERT INTO collection_rows VALUES ({0}, 'files', {1}, {2})", host,
                                          (host - 1) * kRows + 1, host * kRows)));
    }
    ASSERT_TRUE((*db)->Exec("COMMIT"));
    ASSERT_TRUE(UpdatePlannerStatistics(**db));
  }
  auto rules = LoadRules({});
  ASSERT_TRUE(rules) << rules.error().ToString();
  const Rule* ioc = nullptr;
  for (const Rule& r : *rules) {
    if (r.id == "ioc.3cx_xtrader_filenames") ioc = &r;
  }
  ASSERT_NE(ioc, nullptr);
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadOnly);
  ASSERT_TRUE(db) << db.error().ToString();
  ASSERT_TRUE(NarrowToHosts(**db, {kHosts}));
  std::string plan;
  for (const auto& r : Rows(**db, "EXPLAIN QUERY PLAN " + ioc->query)) plan += r.back() + "\n";
  EXPECT_NE(plan.find("SEARCH r USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("(host_id=?)"), std::string::npos) << plan;
  // The slice holds exactly that host's rows.
  EXPECT_EQ(One(**db, "SELECT count(*) || ' ' || min(host_id) || ' ' || max(host_id) FROM files"),
            fmt::format("{} {} {}", kRows, kHosts, kHosts));
}

// A version-3 case (files as one table with its own indexes) migrates to
// the same rows, ids and columns.
TEST(TriageCaseDb, MigratesSchemaVersion3) {
  test::TempDir dir;
  std::vector<std::vector<std::string>> before;
  std::vector<std::vector<std::string>> columns_v4;
  {
    // The rows, written through the current schema ...
    auto db = Db::Open(dir / "v4.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Exec(
        "INSERT INTO files (collection_id, host_id, path, source_path, type, size, mtime, sha256, pe_signed, "
        "artifact, name, dir, name_lc, dir_lc, ext_lc) VALUES "
        "(1, 1, 'C:\\P\\a.exe', 'C:\\P\\a.exe', 'file', 1, '2020-01-01T00:00:00.000000001Z', 'h1', 1, 'x', "
        "'a.exe', 'C:\\P', 'a.exe', 'c:\\p', 'exe'),"
        "(1, 1, 'C:\\P\\b.dll', 'C:\\P\\b.dll', 'file', 2, 'not a time', 'h2', 0, 'x', 'b.dll', 'C:\\P', 'b.dll', "
        "'c:\\p', 'dll'),"
        "(2, 2, 'C:\\P\\a.exe', '/img/P/a.exe', 'file', 1, NULL, 'h1', 1, 'y', 'a.exe', 'C:\\P', 'a.exe', 'c:\\p', "
        "'exe')"));
    ASSERT_TRUE((*db)->Exec("DELETE FROM file_rows WHERE id = 2"));  // ids with a gap
    before = Rows(**db, QuoteAllSql(**db));
    columns_v4 = Rows(**db, "SELECT name FROM pragma_table_info('files') ORDER BY cid");
  }
  ASSERT_EQ(before.size(), 2u);
  // ... copied into a version-3 case.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "case.db").string().c_str(), &raw), SQLITE_OK);
  const std::string v3 = ExpandedSchemaSql(3);
  ASSERT_EQ(sqlite3_exec(raw, v3.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  const std::string copy = "ATTACH '" + (dir / "v4.db").string() +
                           "' AS v4; INSERT INTO main.files SELECT * FROM v4.files; DETACH v4; "
                           "PRAGMA user_version = 3;";
  ASSERT_EQ(sqlite3_exec(raw, copy.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  sqlite3_close(raw);
  {
    auto ro = Db::Open(dir / "case.db", Db::Mode::kReadOnly);
    ASSERT_FALSE(ro);  // read-only opens do not migrate, and say so
    EXPECT_NE(ro.error().message.find("migrates it to version 4"), std::string::npos) << ro.error().message;
  }
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  EXPECT_EQ(One(**db, "PRAGMA user_version"), std::to_string(kCaseSchemaVersion));
  EXPECT_EQ(One(**db, "SELECT type FROM sqlite_schema WHERE name = 'files'"), "view");
  EXPECT_EQ(One(**db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('files_v3', 'files_dir', 'files_sha256')"),
            "0");
  EXPECT_EQ(Rows(**db, "SELECT name FROM pragma_table_info('files') ORDER BY cid"), columns_v4);
  EXPECT_EQ(Rows(**db, QuoteAllSql(**db)), before);
  EXPECT_EQ(One(**db, "SELECT count(*) FROM file_paths WHERE path = 'C:\\P\\a.exe'"), "1");
  // New rows continue after the migrated ids.
  ASSERT_TRUE(
      (*db)->Exec("INSERT INTO files (collection_id, host_id, path, name, dir, name_lc, dir_lc, ext_lc) VALUES "
                  "(3, 3, 'C:\\Q', 'Q', 'C:', 'q', 'c:', '')"));
  EXPECT_EQ(One(**db, "SELECT max(id) FROM files"), "4");
  EXPECT_EQ(One(**db, "PRAGMA integrity_check"), "ok");
}

// A version-4 case made before the collector declared a files column (here:
// one per storage table, `access` and `pe_file_version`) gains them on the
// next read-write open: the storage tables get the columns, the view and its
// trigger are made again, and the rows already there read NULL in them.
TEST(TriageCaseDb, FilesColumnsDeclaredLaterAreAdded) {
  test::TempDir dir;
  const auto* spec = core::profile::FindRecordTable("files");
  ASSERT_NE(spec, nullptr);
  std::vector<core::profile::ColumnSpec> older;
  for (const auto& c : spec->columns) {
    if (c.name != "access" && c.name != "pe_file_version") older.push_back(c);
  }
  ASSERT_EQ(older.size() + 2, spec->columns.size());
  {
    auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    const core::profile::RecordSpec old_spec{spec->table, spec->description, older};
    auto drop = (*db)->Exec(
        "DROP VIEW v_app_files; DROP VIEW v_hashes; DROP VIEW files; ALTER TABLE file_rows DROP COLUMN access; "
        "ALTER TABLE file_contents DROP COLUMN pe_file_version;");
    ASSERT_TRUE(drop) << drop.error().ToString();
    ASSERT_TRUE((*db)->Exec(FileStorageSql(old_spec)));
    ASSERT_TRUE((*db)->Exec(
        "INSERT INTO files (collection_id, host_id, path, sha256, name, dir, name_lc, dir_lc, ext_lc) VALUES "
        "(1, 1, 'C:\\a.dll', 'aa', 'a.dll', 'C:', 'a.dll', 'c:', 'dll')"));
    EXPECT_EQ(One(**db,
                  "SELECT count(*) FROM pragma_table_info('files') WHERE name IN ('access', "
                  "'pe_file_version')"),
              "0");
  }
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  std::vector<std::vector<std::string>> want;
  for (const auto& c : spec->columns) want.push_back({std::string(c.name)});
  auto have = Rows(**db, "SELECT name FROM pragma_table_info('files') WHERE cid BETWEEN 3 AND " +
                             std::to_string(2 + spec->columns.size()) + " ORDER BY cid");
  EXPECT_EQ(have, want);
  ASSERT_TRUE((*db)->Exec(
      "INSERT INTO files (collection_id, host_id, path, sha256, access, pe_file_version, name, dir, name_lc, dir_lc, "
      "ext_lc) VALUES (1, 2, 'C:\\a.dll', 'aa', 'raw', '1.0', 'a.dll', 'C:', 'a.dll', 'c:', 'dll')"));
  EXPECT_EQ(Rows(**db, "SELECT host_id, quote(access), quote(pe_file_version), path FROM files ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"1", "NULL", "NULL", "C:\\a.dll"},
                                                   {"2", "'raw'", "'1.0'", "C:\\a.dll"}}));
}

}  // namespace
}  // namespace trawl::triage
