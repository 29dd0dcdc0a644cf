// SPDX-License-Identifier: Apache-2.0
// Sigma over a case, end to end with the real binaries:
//   - live: a child shell started with a marker on its command line is
//     collected by trawl-collect on this host; `analyze --sigma` with a
//     process_creation rule written here (the marker, the shell's Image and
//     this test binary as ParentImage, which only the parent join supplies)
//     raises exactly one finding, on that process; a rule naming a marker no
//     process carries raises none.
//   - offline: real event logs under a Windows tree (`--root`) are collected
//     by the default profile and ingested record for record (as many as our
//     reader, checked against libevtx and python-evtx in
//     evtx_oracle_posix_test, reads from each file), with the log's path on
//     the host; the shipped rule for System 104 raises one finding per
//     cleared log, and the events reach the timeline and `stack`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/crypto/age.h"
#include "core/formats/evtx.h"
#include "core/util/read_at.h"
#include "tests/support/child_process.h"
#include "tests/support/test_env.h"
#include "triage/case_db.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Keys {
  core::age::X25519Identity id = core::age::GenerateX25519Identity().value();
  fs::path file;
};

Keys MakeKeys(const fs::path& dir) {
  Keys k;
  k.file = dir / "key.txt";
  test::WriteFile(k.file, core::age::FormatIdentityFile(k.id));
  return k;
}

fs::path OnlyArchive(const fs::path& out) {
  fs::path found;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().string().ends_with(".zip.age")) found = e.path();
  return found;
}

// Rows of one query as JSON objects (column name -> text or integer).
std::vector<json> Query(const fs::path& case_db, const std::string& sql) {
  std::vector<json> rows;
  auto db = triage::Db::Open(case_db, triage::Db::Mode::kReadOnly);
  EXPECT_TRUE(db) << (db ? "" : db.error().message);
  if (!db) return rows;
  auto s = (*db)->Prepare(sql);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  if (!s) return rows;
  while (true) {
    auto row = s->Step();
    EXPECT_TRUE(row);
    if (!row || !*row) break;
    json r = json::object();
    for (int i = 0; i < s->ColumnCount(); ++i) r[s->ColumnName(i)] = s->Text(i);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string SigmaRule(const std::string& id, const std::string& marker) {
  return fmt::format(
      "title: test process with a marker on its command line\n"
      "id: {}\n"
      "status: test\n"
      "author: trawl tests\n"
      "logsource:\n  product: linux\n  category: process_creation\n"
      "detection:\n"
      "  selection:\n"
      "    CommandLine|contains: '{}'\n"
      "    Image|endswith: ['/sh', '/dash', '/bash']\n"
      "    ParentImage|endswith: '/trawl_tests'\n"
      "  condition: selection\n"
      "level: high\n",
      id, marker);
}

TEST(TriageSigmaCase, LiveProcessCommandLineRaisesAFinding) {
  test::TempDir dir;
  const Keys keys = MakeKeys(dir.path());
  const std::string marker = fmt::format("trawl-sigma-e2e-{}", ::getpid());
  test::ChildProcess child({"/bin/sh", "-c", "sleep 300; :", marker});
  ASSERT_TRUE(child.running());
  test::WriteFile(dir / "live.yaml",
                  "name: live\ndescription: processes only\nartifacts:\n  - common.live.processes\n");
  auto c =
      test::RunCommand({(test::BinDir() / "trawl-collect").string(), "--profile", (dir / "live.yaml").string(),
                        "--output", (dir / "out").string(), "--recipient", keys.id.ToRecipient().Encode(), "--quiet"});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  const fs::path archive = OnlyArchive(dir / "out");
  ASSERT_FALSE(archive.empty());

  const std::string hit_id = "6d5b7c1e-0000-4000-8000-000000000001";
  const std::string miss_id = "6d5b7c1e-0000-4000-8000-000000000002";
  test::WriteFile(dir / "sigma/hit.yml", SigmaRule(hit_id, marker));
  test::WriteFile(dir / "sigma/miss.yml", SigmaRule(miss_id, marker + "-on-no-process"));
  const fs::path case_db = dir / "case.db";
  auto a = test::RunCommand({(test::BinDir() / "trawl-triage").string(), "analyze", "-i", keys.file.string(), "--case",
                             case_db.string(), "--sigma", (dir / "sigma").string(), archive.string()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("sigma "), std::string::npos) << a.out;

  const auto hits = Query(case_db,
                          "SELECT entity_type, entity_key, record_table, score, message, author, evidence "
                          "FROM findings WHERE rule_id = 'sigma." +
                              hit_id + "'");
  ASSERT_EQ(hits.size(), 1u) << a.out;
  EXPECT_EQ(hits[0]["entity_type"], "process");
  EXPECT_TRUE(hits[0]["entity_key"].get<std::string>().starts_with(std::to_string(child.pid()) + " "))
      << hits[0]["entity_key"];
  EXPECT_EQ(hits[0]["record_table"], "processes");
  EXPECT_EQ(hits[0]["score"], "70");  // level high
  EXPECT_EQ(hits[0]["author"], "trawl tests");
  const std::string message = hits[0]["message"];
  EXPECT_NE(message.find(marker), std::string::npos) << message;
  EXPECT_NE(message.find("[rule sigma." + hit_id + " by trawl tests]"), std::string::npos) << message;
  const json evidence = json::parse(hits[0]["evidence"].get<std::string>());
  EXPECT_EQ(evidence["pid"], child.pid());
  EXPECT_EQ(evidence["sigma_id"], hit_id);
  EXPECT_TRUE(Query(case_db, "SELECT 1 FROM findings WHERE rule_id = 'sigma." + miss_id + "'").empty());
  // Both rules are in the case's rules table, neither refused.
  EXPECT_EQ(Query(case_db, "SELECT id FROM rules WHERE id LIKE 'sigma.6d5b7c1e-%'").size(), 2u);
  EXPECT_TRUE(Query(case_db, "SELECT * FROM sigma_refusals WHERE rule_id LIKE '6d5b7c1e-%'").empty());
}

std::size_t ReaderRecords(const fs::path& file) {
  auto src = core::OpenFileSource(file.string());
  EXPECT_TRUE(src);
  if (!src) return 0;
  std::size_t n = 0;
  auto stats = core::formats::evtx::ForEachRecord(**src, [&](const core::formats::evtx::Record&) { ++n; });
  EXPECT_TRUE(stats);
  return n;
}

TEST(TriageSigmaCase, OfflineEventLogsAreIngestedAndScored) {
  const fs::path evtx = test::SharedTestdata() / "evtx/omerbenamram-evtx";
  if (!fs::exists(evtx / "system.evtx")) GTEST_SKIP() << evtx << " is missing";
  test::TempDir dir;
  const Keys keys = MakeKeys(dir.path());
  const fs::path logs = dir / "volume/Windows/System32/winevt/Logs";
  fs::create_directories(logs);
  fs::copy_file(evtx / "system.evtx", logs / "System.evtx");
  fs::copy_file(evtx / "sysmon.evtx", logs / "Microsoft-Windows-Sysmon%4Operational.evtx");
  auto c = test::RunCommand({(test::BinDir() / "trawl-collect").string(), "--root", (dir / "volume").string(),
                             "--target-os", "windows", "--profile", "default", "--recipient",
                             keys.id.ToRecipient().Encode(), "--output", (dir / "out").string(), "--quiet"});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  const fs::path archive = OnlyArchive(dir / "out");
  ASSERT_FALSE(archive.empty());
  const fs::path case_db = dir / "case.db";
  const std::string triage = (test::BinDir() / "trawl-triage").string();
  auto a =
      test::RunCommand({triage, "analyze", "-i", keys.file.string(), "--case", case_db.string(), archive.string()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;

  const auto logs_rows = Query(case_db, "SELECT path, records, error FROM event_logs ORDER BY path");
  ASSERT_EQ(logs_rows.size(), 2u) << a.out;
  EXPECT_EQ(logs_rows[0]["path"], "C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational.evtx");
  EXPECT_EQ(logs_rows[1]["path"], "C:\\Windows\\System32\\winevt\\Logs\\System.evtx");
  EXPECT_EQ(logs_rows[0]["records"], std::to_string(ReaderRecords(evtx / "sysmon.evtx")));
  EXPECT_EQ(logs_rows[1]["records"], std::to_string(ReaderRecords(evtx / "system.evtx")));
  const auto counted = Query(case_db,
                             "SELECT l.path, count(e.id) AS n, l.records FROM event_logs l "
                             "LEFT JOIN event_records e ON e.log_id = l.id GROUP BY l.id");
  for (const auto& r : counted) EXPECT_EQ(r["n"], r["records"]) << r["path"];
  // One record as the reader gives it: fields as a JSON object by name.
  const auto rec =
      Query(case_db,
            "SELECT json_extract(fields, '$.Channel') AS ch, json_extract(fields, '$.SubjectUserName') AS u "
            "FROM event_records WHERE channel = 'System' AND event_id = 104 AND record_id = 1847");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0]["ch"], "Microsoft-Windows-Sysmon/Operational");
  EXPECT_EQ(rec[0]["u"], "tony");

  // The shipped System 104 rule: the two cleared-log records, on event entities.
  const auto hits = Query(case_db,
                          "SELECT entity_type, entity_key, record_table FROM findings "
                          "WHERE rule_id = 'sigma.adf698aa-c3eb-4109-a948-80f599120059' ORDER BY entity_key");
  ASSERT_EQ(hits.size(), 2u) << a.out;
  EXPECT_EQ(hits[0]["entity_type"], "event");
  EXPECT_EQ(hits[0]["entity_key"], "System 104 #1847");
  EXPECT_EQ(hits[1]["entity_key"], "System 104 #1848");
  EXPECT_EQ(hits[0]["record_table"], "event_records");
  // No shipped rule refused.
  EXPECT_TRUE(Query(case_db, "SELECT * FROM sigma_refusals").empty());
  // The shipped service rule: of the log's 7045 records in writable folders, the one
  // service run from a user's Temp folder (record 1130, Pathfinder), not the 15 of
  // Defender's own kernel driver (MpKsl*.sys under ProgramData).
  const auto services = Query(case_db,
                              "SELECT entity_key, message FROM findings "
                              "WHERE rule_id = 'sigma.b708553b-0640-427c-a268-9f78d97f14d9'");
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0]["entity_key"], "System 7045 #1130");
  EXPECT_NE(services[0]["message"].get<std::string>().find("AppData\\Local\\Temp"), std::string::npos)
      << services[0]["message"];
  EXPECT_EQ(Query(case_db,
                  "SELECT 1 FROM event_records WHERE event_id = 7045 AND json_extract(fields, '$.ServiceName') "
                  "LIKE 'MpKsl%' AND json_extract(fields, '$.ImagePath') LIKE '%ProgramData%'")
                .size(),
            15u);

  auto t = test::RunCommand({triage, "report", "--case", case_db.string(), "--format", "timeline", "-o", "-"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("Event System 104 (Microsoft-Windows-Eventlog): SubjectUserName=tony"), std::string::npos);
  auto st = test::RunCommand({triage, "stack", "--case", case_db.string(), "services"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("MpKsl"), std::string::npos) << st.out;
  auto se = test::RunCommand({triage, "stack", "--case", case_db.string(), "events"});
  ASSERT_EQ(se.exit_code, 0) << se.err;
  EXPECT_NE(se.out.find("System 104 (Microsoft-Windows-Eventlog)"), std::string::npos) << se.out;
}

}  // namespace
}  // namespace trawl
