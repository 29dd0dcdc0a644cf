// SPDX-License-Identifier: Apache-2.0
// The HTML report in a real browser: archives forged with the public
// recipient (as anyone holding it can) for four hosts, one with the
// X_TRADER side-load planted and every host-controlled string hostile (the
// host name, file names), go through `trawl-triage analyze` and `report
// --format html`; tests/browser/report_check.mjs then drives Debian's
// headless Chromium with Playwright over the page: host table order, the
// plant's evidence, timeline points, search and level filters, and that no
// collected string ran, loaded or became an element. Needs node, Chromium
// and tests/browser/node_modules (dist/install-deps.sh); skipped without
// them unless TRAWL_REQUIRE_BROWSER=1 (CI), where that is a failure.
#include <gtest/gtest.h>

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_writer.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Each payload sets window.__pwned if it ever runs.
constexpr const char* kHostileHost = "WS-EVIL\"><img src=x onerror=\"window.__pwned=1\">";
constexpr const char* kHostileFile = "C:\\ProgramData\\TPM\\<script>window.__pwned=2</script>.dat";
constexpr const char* kHostileName2 = "C:\\ProgramData\\TPM\\\"><svg onload=window.__pwned=3>.log";

fs::path Forge(const fs::path& dir, const core::age::X25519Recipient& to, const std::string& host, int index,
               bool planted) {
  core::archive::WriterOptions o;
  o.output_dir = dir / fmt::format("out{}", index);
  o.base_name = fmt::format("HOST{}_20260301T000000Z", index);
  o.recipients = {to};
  o.header = {{"tool", "trawl-collect"},
              {"tool_version", "0.1.0"},
              {"started", "2026-03-01T00:00:00Z"},
              {"profile", {{"name", "default"}}},
              {"host", {{"hostname", host}, {"os", "windows"}, {"live", false}}},
              {"target_os", "windows"}};
  auto w = core::archive::ArchiveWriter::Create(o);
  EXPECT_TRUE(w) << w.error().ToString();
  for (const char* dll : {"winscard.dll", "msvcr100.dll"}) {
    EXPECT_TRUE((*w)->AddRecord("dir_entries", {{"dir", "C:\\Windows\\System32"}, {"name", dll}, {"type", "file"}}));
  }
  auto file = [&](const std::string& path, const std::string& sha, bool pe, double entropy, const char* btime) {
    EXPECT_TRUE((*w)->AddRecord("files", {{"path", path},
                                          {"type", "file"},
                                          {"size", 90000},
                                          {"btime", btime},
                                          {"mtime", btime},
                                          {"entropy", entropy},
                                          {"is_pe", pe},
                                          {"pe_signed", false},
                                          {"sha256", sha},
                                          {"status", "ok"},
                                          {"artifact", "windows.sweep.writable_locations"}}));
  };
  file("C:\\Program Files\\Vendor\\app.exe", std::string(64, '1'), true, 6.0, "2025-01-10T08:00:00Z");
  file("C:\\Program Files\\Vendor\\core.dll", std::string(64, '2'), true, 6.0, "2025-01-10T08:00:00Z");
  file(fmt::format("C:\\Users\\user{}\\AppData\\Local\\Temp\\notes.txt", index), std::string(63, '3') + "0", false, 4.0,
       "2026-02-01T10:00:00Z");
  if (planted) {
    file("C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe", std::string(64, 'a'), true, 6.1, "2026-02-20T09:12:00Z");
    file("C:\\ProgramData\\TPM\\winscard.dll", std::string(64, 'b'), true, 6.3, "2026-02-20T09:12:05Z");
    file("C:\\ProgramData\\TPM\\msvcr100.dll", std::string(64, 'c'), true, 6.4, "2026-02-20T09:12:06Z");
    file(kHostileFile, std::string(64, 'd'), false, 7.95, "2026-02-20T09:12:07Z");
    file(kHostileName2, std::string(64, 'e'), false, 3.0, "2026-02-20T09:12:08Z");
  }
  auto parts = (*w)->Finish({{"result", "complete"}, {"ended", "2026-03-01T00:05:00Z"}});
  EXPECT_TRUE(parts) << parts.error().ToString();
  return parts->front().path;
}

TEST(TriageReportBrowser, AnalystViewAndNoScriptFromData) {
  const fs::path tests = test::SourceDir() / "tests" / "browser";
  const bool require = std::getenv("TRAWL_REQUIRE_BROWSER") != nullptr;
  std::string missing;
  if (!fs::exists("/usr/bin/chromium")) missing = "/usr/bin/chromium (apt-get install chromium)";
  if (!test::HaveTool("node")) missing = "node";
  if (!fs::exists(tests / "node_modules" / "playwright-core")) {
    missing = "tests/browser/node_modules (npm ci --prefix tests/browser; dist/install-deps.sh does it)";
  }
  if (!missing.empty()) {
    if (require) FAIL() << "TRAWL_REQUIRE_BROWSER=1 but missing: " << missing;
    GTEST_SKIP() << "missing " << missing;
  }
  test::TempDir work;
  const fs::path triage = test::BinDir() / "trawl-triage";
  auto keygen = test::RunCommand({triage.string(), "keygen", "-o", (work / "key.txt").string()});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  std::string recipient_text = keygen.out.substr(0, keygen.out.find('\n'));
  auto recipient = core::age::ParseRecipient(recipient_text);
  ASSERT_TRUE(recipient) << keygen.out;
  std::vector<std::string> analyze = {triage.string(),
                                      "analyze",
                                      "-i",
                                      (work / "key.txt").string(),
                                      "--case",
                                      (work / "case.db").string(),
                                      "--ioc",
                                      (work / "iocs.txt").string()};
  // The hostile-named blob is also on an IOC list: it reaches the findings.
  test::WriteFile(work / "iocs.txt", std::string(64, 'd') + ";60;hostile blob\n");
  analyze.push_back(Forge(work.path(), *recipient, "WS-0001", 1, false).string());
  analyze.push_back(Forge(work.path(), *recipient, "WS-0002", 2, false).string());
  analyze.push_back(Forge(work.path(), *recipient, kHostileHost, 3, true).string());
  analyze.push_back(Forge(work.path(), *recipient, "WS-0004", 4, false).string());
  auto a = test::RunCommand(analyze);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  const fs::path html = work / "report.html";
  auto r = test::RunCommand(
      {triage.string(), "report", "--case", (work / "case.db").string(), "--format", "html", "-o", html.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string page = test::ReadFile(html);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<svg onload"), std::string::npos);
  EXPECT_NE(page.find("script-src 'sha256-"), std::string::npos);
  // The entities whose row mentions "winscard", as the case has them.
  const std::string count_sql =
      "SELECT count(*) FROM entity_scores WHERE lower(entity_key || reasons) LIKE '%winscard%'";
  auto hits = test::RunCommand({triage.string(), "query", "--case", (work / "case.db").string(), count_sql});
  ASSERT_EQ(hits.exit_code, 0) << hits.err;
  const int search_hits = std::stoi(hits.out.substr(hits.out.rfind('\n', hits.out.size() - 2) + 1));
  ASSERT_GE(search_hits, 1);
  // Hosts with no findings (folded in the report), and one of their names.
  const std::string quiet_sql =
      "SELECT count(*) || ' ' || coalesce(min(h.hostname), '') FROM hosts h LEFT JOIN host_scores s ON s.host_id = "
      "h.id WHERE coalesce(s.findings, 0) = 0";
  auto quiet = test::RunCommand({triage.string(), "query", "--case", (work / "case.db").string(), quiet_sql});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  const std::string quiet_line = quiet.out.substr(quiet.out.rfind('\n', quiet.out.size() - 2) + 1);
  const int quiet_hosts = std::stoi(quiet_line);
  const std::string quiet_host =
      quiet_line.substr(quiet_line.find(' ') + 1, quiet_line.find('\n') - quiet_line.find(' ') - 1);
  ASSERT_GE(quiet_hosts, 1) << quiet.out;
  const json want = {{"hosts", 4},
                     {"quiet_hosts", quiet_hosts},
                     {"quiet_search", quiet_host},
                     {"top_host", kHostileHost},
                     {"planted_path", "C:\\ProgramData\\TPM\\winscard.dll"},
                     {"planted_sha256", std::string(64, 'b')},
                     {"rule_id", "sideload.system_dll_name_in_app_dir"},
                     {"search", "winscard"},
                     {"search_hits", search_hits},
                     {"host_search", "WS-0002"},
                     {"hostile_text", "<script>window.__pwned=2</script>.dat"}};
  test::WriteFile(work / "expect.json", want.dump());
  auto check = test::RunCommand({"timeout", "180", "node", (tests / "report_check.mjs").string(), html.string(),
                                 (work / "expect.json").string()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << "\nanalyze said:\n" << a.out;
  EXPECT_NE(check.out.find("checks passed"), std::string::npos) << check.out << check.err;
}

// analyze takes folders (every *.zip.age below) and file-name patterns
// (expanded by trawl itself: no shell does it on Windows), and a pattern
// that matches nothing is reported, not silently nothing.
TEST(TriageAnalyzeArgs, FoldersAndPatterns) {
  test::TempDir work;
  const fs::path triage = test::BinDir() / "trawl-triage";
  auto keygen = test::RunCommand({triage.string(), "keygen", "-o", (work / "key.txt").string()});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  auto recipient = core::age::ParseRecipient(keygen.out.substr(0, keygen.out.find('\n')));
  ASSERT_TRUE(recipient);
  for (int i = 1; i <= 3; ++i) Forge(work / "fleet", *recipient, fmt::format("WS-{}", i), i, i == 2);
  auto run = [&](const std::string& arg) {
    return test::RunCommand(
        {triage.string(), "analyze", "-i", (work / "key.txt").string(), "--case", (work / "case.db").string(), arg});
  };
  auto count = [](const std::string& out, const std::string& what) {
    std::size_t n = 0;
    for (auto at = out.find(what); at != std::string::npos; at = out.find(what, at + 1)) ++n;
    return n;
  };
  auto one = run((work / "fleet" / "out1" / "HOST*.zip.age").string());
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_EQ(count(one.out, "ingested  "), 1u) << one.out;
  auto all = run((work / "fleet").string());
  EXPECT_EQ(all.exit_code, 0) << all.out << all.err;
  EXPECT_EQ(count(all.out, "ingested  "), 2u) << all.out;
  EXPECT_EQ(count(all.out, "unchanged "), 1u) << all.out;
  EXPECT_NE(all.out.find("2 host(s) scored, incremental"), std::string::npos) << all.out;
  auto none = run((work / "fleet" / "nothing*.zip.age").string());
  EXPECT_EQ(none.exit_code, 1) << none.out << none.err;
  EXPECT_NE(none.out.find("SKIPPED   " + (work / "fleet" / "nothing*.zip.age").string()), std::string::npos)
      << none.out;
}

}  // namespace
}  // namespace trawl
