// SPDX-License-Identifier: Apache-2.0
// Incremental scoring (triage/scoring.h ScoreScope): archives written by the
// real ArchiveWriter are ingested one at a time into one case, each followed
// by a scoring run over the host it added to; the findings, entity scores
// and host scores end up equal to those of a second case that got the same
// archives and one whole-case run. Host rules read only the changed hosts'
// rows; fleet rules see every host and their findings move between hosts;
// a changed rule set, a collection without row ranges and --full score the
// whole case.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_writer.h"
#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/ingest.h"
#include "triage/rules.h"
#include "triage/scoring.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct FileSpec {
  std::string path;
  std::string sha256;
  bool pe = true;
  double entropy = 5.0;
};

class IncrementalScoring : public ::testing::Test {
 protected:
  void SetUp() override { identity_ = core::age::GenerateX25519Identity().value(); }

  // One collection of `host` started at `started`: the System32 listing,
  // the shared application files, and `extra`.
  fs::path Archive(const std::string& host, const std::string& started, const std::vector<FileSpec>& extra) {
    core::archive::WriterOptions o;
    o.output_dir = dir_ / fmt::format("out{}", ++archives_);
    o.base_name = host + "_" + started.substr(0, 10);
    o.recipients = {identity_.ToRecipient()};
    o.header = {{"tool", "trawl-collect"},
                {"tool_version", "0.1.0"},
                {"started", started},
                {"host", {{"hostname", host}, {"os", "windows"}, {"live", false}}},
                {"target_os", "windows"}};
    auto w = core::archive::ArchiveWriter::Create(o);
    EXPECT_TRUE(w) << w.error().ToString();
    for (const char* dll : {"winscard.dll", "version.dll", "msvcr100.dll"}) {
      EXPECT_TRUE((*w)->AddRecord("dir_entries", {{"dir", "C:\\Windows\\System32"}, {"name", dll}, {"type", "file"}}));
    }
    std::vector<FileSpec> files = {{"C:\\Program Files\\Vendor\\app.exe", std::string(64, '1')},
                                   {"C:\\Program Files\\Vendor\\core.dll", std::string(64, '2')},
                                   {"C:\\Program Files\\Vendor\\data.bin", std::string(64, '3'), false}};
    files.insert(files.end(), extra.begin(), extra.end());
    for (const FileSpec& f : files) {
      EXPECT_TRUE((*w)->AddRecord("files", {{"path", f.path},
                                            {"type", "file"},
                                            {"size", 4096},
                                            {"entropy", f.entropy},
                                            {"is_pe", f.pe},
                                            {"pe_is_dll", f.pe && f.path.ends_with(".dll")},
                                            {"pe_signed", false},
                                            {"sha256", f.sha256},
                                            {"status", "ok"},
                                            {"artifact", "windows.apps.test"}}));
    }
    auto parts = (*w)->Finish({{"result", "complete"}, {"ended", started}});
    EXPECT_TRUE(parts) << parts.error().ToString();
    return parts->front().path;
  }

  std::unique_ptr<Db> Open(const std::string& name) {
    auto db = Db::Open(dir_ / name, Db::Mode::kReadWriteCreate);
    EXPECT_TRUE(db) << db.error().ToString();
    return std::move(*db);
  }

  std::int64_t Ingest(Db& db, const fs::path& archive) {
    const IngestResult r = IngestArchive(db, archive, {identity_});
    EXPECT_EQ(r.status, IngestResult::Status::kIngested) << r.reason;
    return r.host_id;
  }

  ScoreSummary Score(Db& db, const std::vector<Rule>& rules, std::vector<std::int64_t> hosts, bool full = false,
                     const std::vector<IocEntry>& iocs = {}) {
    ScoreScope scope;
    scope.full = full;
    scope.hosts = std::move(hosts);
    auto s = ScoreCase(db, rules, iocs, nullptr, scope);
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? *s : ScoreSummary{};
  }

  // Everything scoring wrote, by host name, without the row ids of findings
  // (an incremental run renumbers the findings it replaces).
  using Row = std::vector<std::string>;
  std::multiset<Row> Rows(Db& db, const std::string& sql) {
    std::multiset<Row> out;
    auto s = db.Prepare(sql);
    EXPECT_TRUE(s) << sql;
    while (s && *s->Step()) {
      Row r;
      for (int i = 0; i < s->ColumnCount(); ++i) r.push_back(s->Text(i));
      out.insert(r);
    }
    return out;
  }
  std::multiset<Row> Findings(Db& db) {
    return Rows(db,
                "SELECT h.hostname, f.rule_id, f.entity_type, f.entity_key, f.record_table, f.record_id, f.score, "
                "f.message, f.evidence FROM findings f JOIN hosts h ON h.id = f.host_id");
  }
  std::multiset<Row> EntityScores(Db& db) {
    std::multiset<Row> out;
    for (Row r : Rows(db,
                      "SELECT h.hostname, e.entity_type, e.entity_key, e.score_int, e.level, e.reasons "
                      "FROM entity_scores e JOIN hosts h ON h.id = e.host_id")) {
      json reasons = json::parse(r.back());
      for (auto& reason : reasons) reason.erase("finding_id");
      r.back() = reasons.dump();
      out.insert(r);
    }
    return out;
  }
  std::multiset<Row> HostScores(Db& db) {
    return Rows(db,
                "SELECT h.hostname, s.score, s.level, s.entities, s.findings FROM host_scores s "
                "JOIN hosts h ON h.id = s.host_id");
  }

  static Rule ExtraRule(const std::string& id, const std::string& scope, const std::string& query) {
    Rule r;
    r.id = id;
    r.file = "test:" + id;
    r.title = id;
    r.author = "test";
    r.score = 30;
    r.entity = "file";
    r.scope = scope;
    r.query = query;
    return r;
  }

  std::vector<Rule> RulesWith(const std::vector<Rule>& extra) {
    auto rules = LoadRules({});
    EXPECT_TRUE(rules) << rules.error().ToString();
    std::vector<Rule> out = *rules;
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  }

  // A DLL whose SHA-256 is on one host only while its path is on three or more.
  static Rule FleetOutlier() {
    return ExtraRule("stack.test_outlier", "fleet", R"SQL(
      SELECT f.host_id, f.path AS entity_key, f.id AS record_id, f.sha256,
             'only this host has this ' || f.name AS message
      FROM files f
      WHERE f.ext_lc = 'dll'
        AND (SELECT count(DISTINCT g.host_id) FROM files g WHERE g.name_lc = f.name_lc AND g.path = f.path) >= 3
        AND (SELECT count(DISTINCT g.host_id) FROM files g WHERE g.name_lc = f.name_lc AND g.sha256 = f.sha256) = 1
    )SQL");
  }

  // Not a genuine host rule: it reports how many files rows it can see.
  static Rule FilesVisible() {
    return ExtraRule("test.files_visible", "host",
                     "SELECT h.id AS host_id, h.hostname AS entity_key, 'hosts' AS record_table, "
                     "(SELECT count(*) FROM files) AS files_visible, (SELECT count(*) FROM v_app_files) AS app_files "
                     "FROM hosts h");
  }

  // Reads main.hosts past the narrowing: rows for hosts outside the run must be dropped.
  static Rule EveryHost() {
    return ExtraRule("test.every_host", "host",
                     "SELECT id AS host_id, hostname AS entity_key, 'hosts' AS record_table FROM main.hosts");
  }

  test::TempDir dir_;
  core::age::X25519Identity identity_;
  int archives_ = 0;
};

const std::vector<FileSpec> kPlant = {{"C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe", std::string(64, 'a')},
                                      {"C:\\ProgramData\\TPM\\winscard.dll", std::string(64, 'b')},
                                      {"C:\\ProgramData\\TPM\\blob.bin", std::string(64, 'c'), false, 7.9}};

TEST_F(IncrementalScoring, OneHostAtATimeEqualsTheWholeCase) {
  std::vector<fs::path> archives;
  archives.push_back(Archive("WS01", "2026-03-01T00:00:00Z", {}));
  archives.push_back(Archive("WS02", "2026-03-01T00:00:00Z", kPlant));
  // WS03's core.dll differs from everyone's: the fleet outlier, until WS05 has it too.
  archives.push_back(
      Archive("WS03", "2026-03-01T00:00:00Z", {{"C:\\Program Files\\Vendor\\core.dll", std::string(64, '9')}}));
  archives.push_back(Archive("WS04", "2026-03-01T00:00:00Z", {}));
  archives.push_back(
      Archive("WS05", "2026-03-01T00:00:00Z", {{"C:\\Program Files\\Vendor\\core.dll", std::string(64, '9')}}));
  // A second collection of WS01, a week later, with the plant.
  archives.push_back(Archive("WS01", "2026-03-08T00:00:00Z", kPlant));
  const auto rules = RulesWith({FleetOutlier(), EveryHost()});

  auto inc = Open("incremental.db");
  std::vector<ScoreSummary> runs;
  for (const fs::path& a : archives) {
    const std::int64_t host = Ingest(*inc, a);
    runs.push_back(Score(*inc, rules, {host}));
    if (runs.size() == 3) {
      // WS03's core.dll is the only one of its hash among three hosts.
      auto f = Findings(*inc);
      EXPECT_EQ(std::count_if(f.begin(), f.end(), [](const Row& r) { return r[1] == "stack.test_outlier"; }), 1);
    }
  }
  EXPECT_FALSE(runs[0].incremental);  // a new case: the first run scores the whole case
  EXPECT_NE(runs[0].full_reason, "");
  for (std::size_t i = 1; i < runs.size(); ++i) {
    EXPECT_TRUE(runs[i].incremental) << i << ": " << runs[i].full_reason;
  }
  // WS05 made WS03's core.dll common again: WS03 was re-scored for the fleet rule.
  EXPECT_EQ(runs[4].hosts_scored, 2u);

  auto whole = Open("whole.db");
  for (const fs::path& a : archives) Ingest(*whole, a);
  const ScoreSummary all = Score(*whole, rules, {}, true);
  EXPECT_FALSE(all.incremental);

  const auto fi = Findings(*inc), fw = Findings(*whole);
  EXPECT_EQ(fi, fw);
  EXPECT_EQ(EntityScores(*inc), EntityScores(*whole));
  EXPECT_EQ(HostScores(*inc), HostScores(*whole));
  // Not equal by both being empty: the plant on two hosts, one finding per host for every_host.
  std::map<std::string, std::set<std::string>> by_rule;
  for (const Row& r : fw) by_rule[r[1]].insert(r[0]);
  EXPECT_EQ(by_rule["sideload.template_in_writable_dir"], (std::set<std::string>{"WS01", "WS02"}));
  EXPECT_EQ(by_rule["test.every_host"], (std::set<std::string>{"WS01", "WS02", "WS03", "WS04", "WS05"}));
  EXPECT_EQ(std::count_if(fw.begin(), fw.end(), [](const Row& r) { return r[1] == "test.every_host"; }), 5);
  EXPECT_TRUE(by_rule["stack.test_outlier"].empty());
  auto top = Rows(*inc,
                  "SELECT h.hostname, s.level FROM host_scores s JOIN hosts h ON h.id = s.host_id "
                  "WHERE s.level = 'alert'");
  EXPECT_EQ(top, (std::multiset<Row>{{"WS01", "alert"}, {"WS02", "alert"}}));
}

TEST_F(IncrementalScoring, HostRulesSeeOnlyTheChangedHosts) {
  auto db = Open("case.db");
  const auto rules = RulesWith({FilesVisible()});
  Score(*db, rules, {Ingest(*db, Archive("WS01", "2026-03-01T00:00:00Z", {}))});
  const std::int64_t ws02 = Ingest(*db, Archive("WS02", "2026-03-01T00:00:00Z", kPlant));
  const ScoreSummary s = Score(*db, rules, {ws02});
  ASSERT_TRUE(s.incremental) << s.full_reason;
  EXPECT_EQ(s.hosts_scored, 1u);
  // WS02 has 6 files rows (5 outside C:\Windows); the case 9.
  const auto rows = Rows(*db,
                         "SELECT h.hostname, json_extract(f.evidence, '$.files_visible'), "
                         "json_extract(f.evidence, '$.app_files') FROM findings f JOIN hosts h ON h.id = f.host_id "
                         "WHERE f.rule_id = 'test.files_visible'");
  EXPECT_EQ(rows, (std::multiset<Row>{{"WS01", "3", "3"}, {"WS02", "6", "6"}}));
  // The whole case, on request.
  Score(*db, rules, {}, true);
  EXPECT_EQ(Rows(*db,
                 "SELECT json_extract(evidence, '$.files_visible') FROM findings WHERE rule_id = "
                 "'test.files_visible'"),
            (std::multiset<Row>{{"9"}, {"9"}}));
}

TEST_F(IncrementalScoring, ChangedRulesOrUnrangedCollectionsScoreTheWholeCase) {
  auto db = Open("case.db");
  const auto rules = RulesWith({});
  Score(*db, rules, {Ingest(*db, Archive("WS01", "2026-03-01T00:00:00Z", kPlant))});
  // Nothing new: nothing runs, the findings stand.
  const auto before = Findings(*db);
  ASSERT_FALSE(before.empty());
  const ScoreSummary none = Score(*db, rules, {});
  EXPECT_TRUE(none.unchanged);
  EXPECT_EQ(Findings(*db), before);
  // Another IOC list is another rule set.
  const std::int64_t ws02 = Ingest(*db, Archive("WS02", "2026-03-01T00:00:00Z", {}));
  const ScoreSummary changed = Score(*db, rules, {ws02}, false, {{std::string(64, '1'), "sha256", 70, "x", "l", 1}});
  EXPECT_FALSE(changed.incremental);
  EXPECT_NE(changed.full_reason.find("differ"), std::string::npos) << changed.full_reason;
  // The IOC hit is on both hosts: the whole case was scored.
  EXPECT_EQ(Rows(*db, "SELECT count(DISTINCT host_id) FROM findings WHERE rule_id = 'ioc.user_hash_list'"),
            (std::multiset<Row>{{"2"}}));
  // A collection ingested before row ranges were recorded.
  const std::int64_t ws03 = Ingest(*db, Archive("WS03", "2026-03-01T00:00:00Z", {}));
  ASSERT_TRUE(db->Exec(fmt::format(
      "DELETE FROM collection_rows WHERE collection_id IN (SELECT id FROM collections WHERE host_id = {})", ws03)));
  const ScoreSummary old = Score(*db, rules, {ws03}, false, {{std::string(64, '1'), "sha256", 70, "x", "l", 1}});
  EXPECT_FALSE(old.incremental);
  EXPECT_NE(old.full_reason.find("row ranges"), std::string::npos) << old.full_reason;
}

TEST_F(IncrementalScoring, RuleScopeIsParsedAndChecked) {
  const std::string base =
      "id: stack.x\ntitle: t\ndescription: d\nrationale: r\nauthor: a\nreferences: [{title: t, source: s}]\n"
      "score: 10\nentity: file\nquery: SELECT 1 AS host_id, 'x' AS entity_key\n";
  auto host = ParseRule(base, "x.yaml", "");
  ASSERT_TRUE(host) << host.error().ToString();
  EXPECT_EQ(host->scope, "host");
  auto fleet = ParseRule(base + "scope: fleet\n", "x.yaml", "");
  ASSERT_TRUE(fleet) << fleet.error().ToString();
  EXPECT_EQ(fleet->scope, "fleet");
  auto bad = ParseRule(base + "scope: world\n", "x.yaml", "");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("x.yaml:10:8: scope 'world' must be host"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace trawl::triage
