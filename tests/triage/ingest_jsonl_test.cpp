// SPDX-License-Identifier: Apache-2.0
// The JSON Lines fast path (triage/ingest_jsonl.h) against its reference,
// nlohmann::json: every line it accepts must give exactly the object nlohmann
// parses (same keys, value types and values, the last duplicate winning), and
// it must decline every line nlohmann rejects. Hand-written edge cases, then
// seeded random mutations of collector-like lines.
#include "triage/ingest_jsonl.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/archive/archive_writer.h"
#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/ingest.h"
#include "triage/rules.h"
#include "triage/scoring.h"

namespace trawl::triage {
namespace {

using nlohmann::json;

// Same value, same nlohmann type, recursively over the (flat) object.
void ExpectSame(const json& fast, const json& ref, const std::string& line) {
  ASSERT_EQ(fast.size(), ref.size()) << line;
  for (auto it = ref.begin(); it != ref.end(); ++it) {
    ASSERT_TRUE(fast.contains(it.key())) << it.key() << " in " << line;
    const json& a = fast[it.key()];
    EXPECT_EQ(a.type(), it.value().type()) << it.key() << " in " << line;
    EXPECT_EQ(a.dump(), it.value().dump()) << it.key() << " in " << line;
  }
}

// Returns whether the fast path accepted the line; checks it against nlohmann.
bool Check(const std::string& line) {
  std::vector<FlatField> fields;
  std::string scratch;
  const bool accepted = ParseFlatRecord(line, fields, scratch);
  const json ref = json::parse(line, nullptr, false);
  const bool ref_ok = !ref.is_discarded() && ref.is_object();
  if (!accepted) return false;
  EXPECT_TRUE(ref_ok) << "accepted what nlohmann rejects: " << line;
  if (!ref_ok) return true;
  json fast = json::object();
  for (const auto& f : fields) fast[std::string(f.key)] = FlatToJson(f.value);  // the last one wins
  ExpectSame(fast, ref, line);
  return true;
}

TEST(IngestJsonl, AcceptsFlatRecordsAsNlohmannParsesThem) {
  const std::vector<std::string> accepted = {
      R"({})",
      R"(  { }  )",
      R"({"path":"C:\\Program Files\\App\\a.dll","size":1024,"is_pe":true,"x":false,"n":null})",
      R"({"a":-1,"b":0,"c":-0,"d":9223372036854775807,"e":-9223372036854775808,"f":18446744073709551615})",
      R"({"big":18446744073709551616,"neg":-9223372036854775809,"huge":123456789012345678901234567890})",
      R"({"f":1.5,"g":-0.0,"h":1e3,"i":1E-3,"j":2.5e+10,"k":0.1,"m":1.7976931348623157e308})",
      R"({"esc":"\"\\\/\b\f\n\r\t","u":"\u00e9\u4e2d\ud83d\ude00\u0000x"})",
      "{\"utf8\":\"J\xc3\xbcrgen \xe4\xb8\xad \xf0\x9f\x98\x80\"}",
      R"({"dup":1,"dup":"two","dup":3.5})",
      R"({"k\u0065y":"v","":""})",
      "{\t\"a\"\n:\r1 ,\"b\" : 2\t}",
  };
  for (const auto& line : accepted) EXPECT_TRUE(Check(line)) << "declined: " << line;
  // Subnormal: either way, as long as an accepted value is nlohmann's.
  Check(R"({"l":5e-324,"m":2.2250738585072011e-308})");
}

TEST(IngestJsonl, DeclinesWhatItDoesNotHandleOrNlohmannRejects) {
  const std::vector<std::string> declined = {
      "",
      "[]",
      "1",
      R"({"a":{"b":1}})",
      R"({"a":[1,2]})",
      "\xef\xbb\xbf{\"a\":1}",  // BOM: nlohmann decides
      R"({"a":1,})",
      R"({"a" 1})",
      R"({"a":1} x)",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":-})",
      R"({"a":+1})",
      R"({"a":1e})",
      R"({"a":1e400})",
      R"({"a":1e-400})",
      R"({"a":tru})",
      R"({"a":"\x"})",
      R"({"a":"\u12"})",
      R"({"a":"\ud800"})",
      R"({"a":"\udc00"})",
      R"({"a":"\ud800\u0041"})",
      "{\"a\":\"tab\there\"}",
      "{\"a\":\"\xc0\xaf\"}",          // overlong
      "{\"a\":\"\xed\xa0\x80\"}",      // UTF-8 encoded surrogate
      "{\"a\":\"\xf4\x90\x80\x80\"}",  // above U+10FFFF
      "{\"a\":\"\xe4\xb8\"}",          // truncated
      "{\"a\":\"unterminated}",
      "{\"a\":1",
      R"({a:1})",
  };
  for (const auto& line : declined) {
    std::vector<FlatField> fields;
    std::string scratch;
    EXPECT_FALSE(ParseFlatRecord(line, fields, scratch)) << line;
  }
}

// Random byte edits of collector-like lines: whatever the fast path accepts
// must be what nlohmann parses.
TEST(IngestJsonl, RandomMutationsAgreeWithNlohmann) {
  const std::vector<std::string> seeds = {
      R"({"path":"C:\\Windows\\System32\\drivers\\etc\\hosts","source_path":"/mnt/c/Windows/System32/drivers/etc/hosts","type":"file","size":824,"mode":33188,"uid":-1,"mtime":"2025-03-01T10:00:00.000000000Z","md5":"0123456789abcdef0123456789abcdef","entropy":4.25,"is_pe":false,"pe_signed":null})",
      R"({"pid":4,"ppid":0,"name":"System","exe":"\\Device\\HarddiskVolume2\\x.exe","cmdline":"a \"b\" \u00e9","start_time":"2026-01-01T00:00:00Z"})",
      "{\"dir\":\"C:\\\\Users\\\\J\xc3\xbcrgen\",\"name\":\"\xe4\xb8\xad.dll\",\"type\":\"file\","
      "\"n\":-12.5e-3}",
  };
  const std::string alphabet = "{}[]\":,\\/ -+.eE0123456789abcdeftnrulsu\x01\x7f\x80\xbf\xc3\xe4\xed\xf0\xff";
  std::mt19937 rng(20260101);
  int accepted = 0, declined = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string line = seeds[static_cast<std::size_t>(iter) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (line.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          if (pos < line.size()) line[pos] = c;
          break;
        case 1: line.insert(pos, 1, c); break;
        default:
          if (pos < line.size()) line.erase(pos, 1);
          break;
      }
    }
    if (Check(line))
      ++accepted;
    else
      ++declined;
    if (::testing::Test::HasFailure()) break;
  }
  // Both sides of the boundary were exercised.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(declined, 1000);
}

// Through IngestArchive: a fast-path row holds what the nlohmann path stores
// for the same record (the first line has a nested value, so it takes that
// path), down to derived columns and an out-of-range unsigned.
TEST(IngestJsonl, FastPathRowsMatchTheDomPath) {
  test::TempDir dir;
  auto id = core::age::GenerateX25519Identity().value();
  core::archive::WriterOptions o;
  o.output_dir = dir / "out";
  o.base_name = "H1_20260101T000000Z";
  o.recipients = {id.ToRecipient()};
  o.header = {{"tool", "trawl-collect"},
              {"started", "2026-01-01T00:00:00Z"},
              {"host", {{"hostname", "H1"}, {"os", "windows"}}},
              {"target_os", "windows"}};
  auto w = core::archive::ArchiveWriter::Create(o);
  ASSERT_TRUE(w) << w.error().ToString();
  const std::string common =
      R"("path":"C:\\A\\B\\File.DLL","size":18446744073709551615,"uid":-5,"entropy":7.5,"is_pe":true,)"
      R"("md5":"\u00e9\"","path":"C:\\X\\y.Txt","aa_extra":"x",)";
  const std::string lines = "{" + common + R"("zz_extra":[1,2]})" + "\n{" + common + R"("zz_extra":2})" + "\n" +
                            R"({"path":7,"sha256":"ab"})" + "\r\n\n" + R"({"path":"/usr/lib/x.so"})" + "\n";
  ASSERT_TRUE((*w)->BeginFile("records/files.0001.jsonl", {}));
  ASSERT_TRUE((*w)->WriteFile(core::AsBytes(lines)));
  core::archive::ItemRecord rec;
  rec.type = "records";
  ASSERT_TRUE((*w)->EndFile(rec));
  auto parts = (*w)->Finish({{"result", "complete"}});
  ASSERT_TRUE(parts) << parts.error().ToString();
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  const IngestResult r = IngestArchive(**db, parts->front().path, {id});
  std::string problems;
  for (const auto& p : r.problems) problems += p.member + ": " + p.problem + "\n";
  ASSERT_EQ(r.status, IngestResult::Status::kIngested) << r.reason << "\n" << problems;
  EXPECT_EQ(r.records, 4u);
  auto s = (*db)->Prepare(
      "SELECT quote(path), quote(size), quote(uid), quote(entropy), quote(is_pe), quote(md5), "
      "quote(name), "
      "quote(dir), quote(name_lc), quote(dir_lc), quote(ext_lc), quote(extra), "
      "host_id = (SELECT id FROM hosts WHERE hostname = 'H1') FROM files ORDER BY id");
  ASSERT_TRUE(s);
  std::vector<std::vector<std::string>> rows;
  while (*s->Step()) {
    rows.emplace_back();
    for (int i = 0; i < s->ColumnCount(); ++i) rows.back().push_back(s->Text(i));
  }
  ASSERT_EQ(rows.size(), 4u);
  // (Column affinity: the unsigned's text becomes REAL in INTEGER size, 7 text in TEXT path.)
  const std::vector<std::string> dom = {"'C:\\X\\y.Txt'",
                                        "1.84467440737095516156e+19",
                                        "-5",
                                        "7.5",
                                        "1",
                                        "'\xc3\xa9\"'",
                                        "'y.Txt'",
                                        "'C:\\X'",
                                        "'y.txt'",
                                        "'c:\\x'",
                                        "'txt'",
                                        R"('{"aa_extra":"x","zz_extra":[1,2]}')",
                                        "1"};
  EXPECT_EQ(rows[0], dom);
  std::vector<std::string> fast = dom;
  fast[11] = R"('{"aa_extra":"x","zz_extra":2}')";
  EXPECT_EQ(rows[1], fast);
  // A path that is not a string derives empty strings (not NULL), as before.
  EXPECT_EQ(rows[2], (std::vector<std::string>{"'7'", "NULL", "NULL", "NULL", "NULL", "NULL", "''", "''", "''", "''",
                                               "''", "NULL", "1"}));
  EXPECT_EQ(rows[3][6], "'x.so'");
  EXPECT_EQ(rows[3][7], "'/usr/lib'");
}

// A version-1 case (files_dir on dir_lc only, no partial indexes, pe with a
// rowid) is migrated in place by a read-write open, its rows kept.
TEST(TriageCaseDb, MigratesSchemaVersion1) {
  test::TempDir dir;
  std::string v1 = ExpandedSchemaSql(3);
  auto cut = [&](std::string_view from, std::string_view to) {
    const auto pos = v1.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    v1.replace(pos, from.size(), to);
  };
  cut("files_dir ON files (dir_lc, ext_lc, host_id)", "files_dir ON files (dir_lc)");
  cut(") WITHOUT ROWID;", ");");
  for (const char* partial :
       {"CREATE INDEX IF NOT EXISTS files_product", "CREATE INDEX IF NOT EXISTS files_pe_padding_anomaly",
        "CREATE INDEX IF NOT EXISTS files_pe_digest_mismatch"}) {
    const auto pos = v1.find(partial);
    ASSERT_NE(pos, std::string::npos) << partial;
    v1.erase(pos, v1.find('\n', pos) - pos);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "case.db").string().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, v1.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO pe (sha256, product_name) VALUES ('ab', '3CX'); "
                         "INSERT INTO files (collection_id, path, sha256, dir_lc, ext_lc) VALUES "
                         "(1, 'C:\\a.exe', 'ab', 'c:', 'exe'); "
                         "PRAGMA user_version = 1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(raw);
  sqlite3_close(raw);
  {
    auto ro = Db::Open(dir / "case.db", Db::Mode::kReadOnly);
    EXPECT_FALSE(ro);  // read-only opens do not migrate
  }
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  auto one = [&](const std::string& sql) {
    auto s = (*db)->Prepare(sql);
    EXPECT_TRUE(s) << sql;
    if (!s || !*s->Step()) return std::string("<none>");
    return s->Text(0);
  };
  EXPECT_EQ(one("PRAGMA user_version"), std::to_string(kCaseSchemaVersion));
  EXPECT_EQ(one("SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_schema WHERE name = 'pe'"), "1");
  // Through version 3 to 4: files is the view over interned storage, with its indexes.
  EXPECT_EQ(one("SELECT count(*) FROM sqlite_schema WHERE name IN ('file_rows_product', "
                "'file_contents_pe_padding_anomaly', 'file_contents_pe_digest_mismatch', 'file_rows_path', "
                "'file_rows_content')"),
            "5");
  EXPECT_EQ(one("SELECT type FROM sqlite_schema WHERE name = 'files'"), "view");
  EXPECT_EQ(one("SELECT product_name FROM pe WHERE sha256 = 'ab'"), "3CX");
  EXPECT_EQ(one("SELECT count(*) FROM files WHERE sha256 = 'ab'"), "1");
  EXPECT_EQ(one("SELECT count(*) FROM sqlite_schema WHERE name = 'pe_v1'"), "0");
  EXPECT_EQ(one("PRAGMA integrity_check"), "ok");
}

// A version-2 case (collections with UNIQUE (host_id, started, part), no
// content_sha256 or conflict) is rebuilt in place: rows kept, the constraint
// gone (two archives may claim one collection, issue #18), the new columns
// and indexes there.
TEST(TriageCaseDb, MigratesSchemaVersion2) {
  test::TempDir dir;
  std::string v2 = ExpandedSchemaSql(3);
  const auto from = v2.find("CREATE TABLE IF NOT EXISTS collections (");
  const auto to = v2.find("CREATE UNIQUE INDEX IF NOT EXISTS collections_content");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  v2.replace(from, v2.find('\n', to) - from,
             "CREATE TABLE IF NOT EXISTS collections (id INTEGER PRIMARY KEY, host_id INTEGER, archive_name TEXT NOT "
             "NULL, archive_sha256 TEXT NOT NULL UNIQUE, started TEXT, ended TEXT, part INTEGER NOT NULL DEFAULT 0, "
             "result TEXT, tool_version TEXT, profile_name TEXT, profile_sha256 TEXT, target_os TEXT, live INTEGER, "
             "root TEXT, limits_hit TEXT, counts TEXT, ingested_at TEXT NOT NULL, UNIQUE (host_id, started, part));");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "case.db").string().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, v2.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO collections (id, host_id, archive_name, archive_sha256, started, part, "
                         "ingested_at) VALUES (7, 1, 'a.zip.age', 'aa', 's', 1, 'now'); "
                         "PRAGMA user_version = 2;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(raw);
  sqlite3_close(raw);
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db) << db.error().ToString();
  auto one = [&](const std::string& sql) {
    auto s = (*db)->Prepare(sql);
    EXPECT_TRUE(s) << sql;
    if (!s || !*s->Step()) return std::string("<none>");
    return s->Text(0);
  };
  EXPECT_EQ(one("PRAGMA user_version"), std::to_string(kCaseSchemaVersion));
  EXPECT_EQ(one("SELECT archive_name FROM collections WHERE id = 7"), "a.zip.age");
  EXPECT_TRUE(
      (*db)->Exec("INSERT INTO collections (host_id, archive_name, archive_sha256, started, part, "
                  "ingested_at, content_sha256) VALUES (1, 'b.zip.age', 'bb', 's', 1, 'now', 'cc')"));
  EXPECT_EQ(one("SELECT count(*) FROM collections WHERE host_id = 1 AND started = 's' AND part = 1"), "2");
  EXPECT_EQ(one("SELECT count(*) FROM sqlite_schema WHERE name IN ('collections_claim', 'collections_content')"), "2");
  EXPECT_EQ(one("SELECT count(*) FROM sqlite_schema WHERE name = 'collections_v2' OR sql LIKE '%collections_v2%'"),
            "0");
  EXPECT_EQ(one("PRAGMA integrity_check"), "ok");
}

// Scoring writes findings.evidence and entity_scores.reasons as text without
// a DOM (triage/scoring.cpp); they must read as nlohmann's own dump of the
// same value, byte for byte. (Here rather than in scoring_test.cpp only to
// keep this change inside the ingest test files.)
TEST(TriageScoringJson, EvidenceAndReasonsAreNlohmannsDump) {
  test::TempDir dir;
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->Exec("INSERT INTO hosts (id, hostname) VALUES (1, 'h')"));
  Rule rule;
  rule.id = "test.evidence";
  rule.file = "x/test/evidence.yaml";
  rule.title = "t";
  rule.author = "a \"q\" \\ \xc3\xa9 \xff";
  rule.score = 50;
  rule.entity = "file";
  rule.query =
      "SELECT 1 AS host_id, 'k' AS entity_key, 1.5 AS f, 0.1 AS g, 1e300 AS big, -3 AS neg, NULL "
      "AS n, "
      "'q\"\\' || char(10) || char(1) || 'é' AS s, x'ff41' AS b, 'dup1' AS d, 'dup2' AS d, "
      "char(127) AS del, "
      "'C:\\Program Files\\x' AS path, 'msg \"x\" \\ y' AS message, 1 AS \"a\"\"b\"";
  auto scored = ScoreCase(**db, {rule}, {});
  ASSERT_TRUE(scored) << scored.error().ToString();
  ASSERT_EQ(scored->findings, 1u);
  for (const char* sql : {"SELECT evidence FROM findings", "SELECT reasons FROM entity_scores"}) {
    auto q = (*db)->Prepare(sql);
    ASSERT_TRUE(q && *q->Step()) << sql;
    const std::string text = q->Text(0);
    const json parsed = json::parse(text, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << text;
    EXPECT_EQ(parsed.dump(-1, ' ', false, json::error_handler_t::replace), text) << sql;
  }
}

}  // namespace
}  // namespace trawl::triage
