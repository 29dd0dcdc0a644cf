// SPDX-License-Identifier: Apache-2.0
// End to end on REAL collector output: a Windows-like tree (System32 names,
// real prefetch files from shared/testdata, and for the planted case the
// X_TRADER / VEILEDSIGNAL side-load set C:\ProgramData\TPM with PEs built by
// mingw-w64 and a random blob) is collected by the real trawl-collect
// (--root, supply-chain-3cx-xtrader profile, age-encrypted), then analysed by
// the real trawl-triage. The planted side-load must be the top alert with
// reasons naming the side-load and its folder; the same tree without the
// plant must raise no alert. The HTML report of a host with a file named
// "<img src=x onerror=alert(1)>.dll" is loaded in headless Chromium, whose
// DOM must hold the escaped text and no element from the data.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/crypto/age.h"
#include "tests/support/test_env.h"
#include "triage/case_db.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using test::RunCommand;

constexpr const char* kMingw = "x86_64-w64-mingw32-gcc-posix";
constexpr const char* kEvilName = "<img src=x onerror=alert(1)>.dll";

const char* kPrefetchFiles[] = {
    "dfir-artifact-museum/Win10/en_windows_10_consumer_editions_version_1903_updated_dec_2020_x64_dvd_f911c5f0.iso/"
    "CMD.EXE-0BD30981.pf",
    "dfir-artifact-museum/Win7/STIKYNOT.EXE-7E5B28DC.pf",
    "velociraptor/VELOCIRAPTOR.EXE-DB95245D.pf",
};

class TriageGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    if (!test::HaveTool(kMingw)) return;
    // Tiny harmless PEs: a console EXE that imports winscard.dll by name and a DLL.
    test::WriteFile(*dir_ / "exe.c",
                    "#include <windows.h>\n#include <winscard.h>\nint main(int c,char**v){(void)v;"
                    "if(c>7){SCARDCONTEXT x;SCardEstablishContext(SCARD_SCOPE_USER,0,0,&x);}return 0;}\n");
    test::WriteFile(*dir_ / "dll.c",
                    "#include <windows.h>\n__declspec(dllexport) int TrawlFixture(int a){return a+1;}\n"
                    "BOOL WINAPI DllMain(HINSTANCE h,DWORD r,LPVOID p){(void)h;(void)r;(void)p;return TRUE;}\n");
    auto e = RunCommand(
        {kMingw, "-O1", "-s", "-o", (*dir_ / "TpmVscMgrSvr.exe").string(), (*dir_ / "exe.c").string(), "-lwinscard"});
    auto d = RunCommand(
        {kMingw, "-O1", "-s", "-shared", "-o", (*dir_ / "fixture.dll").string(), (*dir_ / "dll.c").string()});
    built_ = e.exit_code == 0 && d.exit_code == 0;
    if (!built_) build_log_ = e.err + d.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!test::HaveTool(kMingw))
      GTEST_SKIP() << kMingw << " is not installed (apt-get install gcc-mingw-w64-x86-64-posix)";
    ASSERT_TRUE(built_) << build_log_;
    ASSERT_TRUE(fs::exists(test::BinDir() / "trawl-collect")) << "build trawl-collect first";
  }

  // A Windows-like volume named `host` (the offline hostname is the root's name).
  // The plant goes to `plant_dir` (below the root) with the side-loading host
  // named `host_exe`: the X_TRADER names by default, any names for a rerun of
  // the template.
  static fs::path BuildTree(const fs::path& parent, const std::string& host, bool plant, bool evil_name,
                            const std::string& plant_dir = "ProgramData/TPM",
                            const std::string& host_exe = "TpmVscMgrSvr.exe", const std::string& blob_name = "blob") {
    const fs::path root = parent / host;
    for (const char* dll : {"kernel32.dll", "ntdll.dll", "winscard.dll", "msvcr100.dll", "version.dll", "user32.dll"}) {
      test::WriteFile(root / "Windows/System32" / dll, "not a real dll");
    }
    test::WriteFile(root / "Windows/SysWOW64/winscard.dll", "not a real dll");
    for (const char* pf : kPrefetchFiles) {
      fs::create_directories(root / "Windows/Prefetch");
      fs::copy_file(test::SharedTestdata() / "prefetch" / pf, root / "Windows/Prefetch" / fs::path(pf).filename());
    }
    test::WriteFile(root / "Users/alice/Documents/notes.txt", "hello");
    if (plant) {
      const fs::path tpm = root / plant_dir;
      fs::create_directories(tpm);
      fs::copy_file(*dir_ / "TpmVscMgrSvr.exe", tpm / host_exe);
      fs::copy_file(*dir_ / "fixture.dll", tpm / "winscard.dll");
      // A different build for msvcr100.dll so the hashes differ.
      std::string dll = test::ReadFile(*dir_ / "fixture.dll");
      dll += std::string(512, '\0');
      test::WriteFile(tpm / "msvcr100.dll", dll);
      std::mt19937 rng(1234);
      std::string blob(64 * 1024, '\0');
      for (auto& c : blob) c = static_cast<char>(rng());
      test::WriteFile(tpm / blob_name, blob);
      if (evil_name) test::WriteFile(tpm / kEvilName, "payload");
    }
    return root;
  }

  struct Collected {
    fs::path key_file;
    fs::path archive;
  };

  static Collected Collect(const fs::path& root, const fs::path& work,
                           const std::string& profile = "supply-chain-3cx-xtrader") {
    Collected c;
    auto id = core::age::GenerateX25519Identity();
    EXPECT_TRUE(id);
    c.key_file = work / "key.txt";
    test::WriteFile(c.key_file, core::age::FormatIdentityFile(*id));
    const fs::path out = work / "out";
    auto r = RunCommand({(test::BinDir() / "trawl-collect").string(), "--root", root.string(), "--target-os", "windows",
                         "--profile", profile, "--recipient", id->ToRecipient().Encode(), "--output", out.string(),
                         "--quiet"});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec)) {
      if (e.path().string().ends_with(".zip.age")) c.archive = e.path();
    }
    EXPECT_FALSE(c.archive.empty()) << r.out << r.err;
    return c;
  }

  static test::CommandResult Triage(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {(test::BinDir() / "trawl-triage").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  static nlohmann::json Query(const fs::path& db, const std::string& sql) {
    auto r = Triage({"query", "--case", db.string(), "--format", "json", sql});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json rows = nlohmann::json::array();
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
    return rows;
  }

  static test::TempDir* dir_;
  static bool built_;
  static std::string build_log_;
};

test::TempDir* TriageGolden::dir_ = nullptr;
bool TriageGolden::built_ = false;
std::string TriageGolden::build_log_;

TEST_F(TriageGolden, PlantedSideLoadIsTopAlert) {
  test::TempDir work;
  const fs::path root = BuildTree(work.path(), "WS-PLANTED", true, false);
  const Collected c = Collect(root, work.path());
  ASSERT_FALSE(c.archive.empty());
  const fs::path db = work / "case.db";
  auto r = Triage({"analyze", "-i", c.key_file.string(), "--case", db.string(), c.archive.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ingested"), std::string::npos) << r.out;
  // The real prefetch files were parsed on ingest.
  auto pf =
      Query(db, "SELECT count(*) AS n FROM prefetch WHERE error IS NULL AND path LIKE 'C:\\Windows\\Prefetch\\%'");
  EXPECT_EQ(pf[0]["n"], 3) << r.out;
  // PE facts of the copied side-load set.
  auto pe = Query(db,
                  "SELECT count(DISTINCT f.path) AS n FROM files f JOIN pe ON pe.sha256 = f.sha256 WHERE f.dir_lc = "
                  "'c:\\programdata\\tpm'");
  EXPECT_EQ(pe[0]["n"], 3);
  auto top = Query(
      db,
      "SELECT e.entity_type, e.entity_key, e.score_int, e.level, e.reasons, h.level AS host_level "
      "FROM entity_scores e JOIN host_scores h ON h.host_id = e.host_id ORDER BY e.score DESC, e.entity_key LIMIT 1");
  ASSERT_EQ(top.size(), 1u) << r.out;
  EXPECT_EQ(top[0]["level"], "alert") << top.dump(1);
  EXPECT_EQ(top[0]["host_level"], "alert");
  EXPECT_EQ(top[0]["entity_type"], "file");
  const std::string key = top[0]["entity_key"];
  EXPECT_TRUE(key == "C:\\ProgramData\\TPM\\winscard.dll" || key == "C:\\ProgramData\\TPM\\msvcr100.dll") << key;
  const std::string reasons = top[0]["reasons"];
  EXPECT_NE(reasons.find("sideload.system_dll_name_in_app_dir"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("DLL side-loading"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("C:\\\\ProgramData\\\\TPM"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("TpmVscMgrSvr.exe"), std::string::npos) << reasons;
  // Both planted DLLs alert; the blob is flagged as an encrypted payload.
  auto alerts = Query(db, "SELECT entity_key FROM entity_scores WHERE level = 'alert' ORDER BY entity_key");
  EXPECT_GE(alerts.size(), 2u);
  auto blob = Query(db,
                    "SELECT count(*) AS n FROM findings WHERE rule_id = 'payload.high_entropy_blob_beside_dlls' "
                    "AND entity_key = 'C:\\ProgramData\\TPM\\blob'");
  EXPECT_EQ(blob[0]["n"], 1);
  // The terminal summary names the top finding and its reason.
  EXPECT_NE(r.out.find("[alert]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DLL side-loading: winscard.dll"), std::string::npos) << r.out;
  // Every finding traces to a record.
  auto untraced = Query(db, "SELECT count(*) AS n FROM findings WHERE record_id IS NULL");
  EXPECT_EQ(untraced[0]["n"], 0);
  // Analyzing again (same archive, re-score) changes nothing.
  const std::string before =
      RunCommand({"sqlite3", db.string(), "SELECT rule_id, entity_key, score FROM findings ORDER BY 1, 2"}).out;
  auto again = Triage({"analyze", "-i", c.key_file.string(), "--case", db.string(), c.archive.string()});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out;
  EXPECT_EQ(RunCommand({"sqlite3", db.string(), "SELECT rule_id, entity_key, score FROM findings ORDER BY 1, 2"}).out,
            before);
  // Reports.
  auto tl = Triage({"report", "--case", db.string(), "--format", "timeline", "-o", (work / "t.csv").string()});
  ASSERT_EQ(tl.exit_code, 0) << tl.err;
  const std::string timeline = test::ReadFile(work / "t.csv");
  EXPECT_TRUE(timeline.starts_with("message,datetime,timestamp_desc,")) << timeline.substr(0, 200);
  EXPECT_NE(timeline.find("Prefetch: CMD.EXE ran"), std::string::npos);
  EXPECT_NE(timeline.find("Last Run Time"), std::string::npos);
  auto js = Triage({"report", "--case", db.string(), "--format", "json", "-o", (work / "r.json").string()});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  const auto doc = nlohmann::json::parse(test::ReadFile(work / "r.json"));
  EXPECT_EQ(doc["hosts"][0]["hostname"], "WS-PLANTED");
  EXPECT_EQ(doc["hosts"][0]["level"], "alert");
  auto st = Triage({"stack", "--case", db.string(), "files"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  // Terminal output shows Windows paths as they are (core::EscapeForTerminal).
  EXPECT_NE(st.out.find("\tC:\\ProgramData\\TPM\\winscard.dll\n"), std::string::npos) << st.out;
}

TEST_F(TriageGolden, CleanTreeRaisesNoAlert) {
  test::TempDir work;
  const fs::path root = BuildTree(work.path(), "WS-CLEAN", false, false);
  const Collected c = Collect(root, work.path());
  ASSERT_FALSE(c.archive.empty());
  const fs::path db = work / "case.db";
  auto r = Triage({"analyze", "-i", c.key_file.string(), "--case", db.string(), c.archive.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto pf = Query(db, "SELECT count(*) AS n FROM prefetch WHERE error IS NULL");
  EXPECT_EQ(pf[0]["n"], 3);
  auto alerts = Query(db, "SELECT entity_key, reasons FROM entity_scores WHERE level = 'alert'");
  EXPECT_TRUE(alerts.empty()) << alerts.dump(1);
  auto host = Query(db, "SELECT h.hostname, s.level FROM hosts h JOIN host_scores s ON s.host_id = h.id");
  ASSERT_EQ(host.size(), 1u);
  EXPECT_EQ(host[0]["hostname"], "WS-CLEAN");
  EXPECT_NE(host[0]["level"], "alert");
  EXPECT_EQ(r.out.find("[alert]"), std::string::npos) << r.out;
}

// The default profile, as a new user runs it: no catalog product and no IOC
// names the plant, the writable-location sweep finds it.
TEST_F(TriageGolden, DefaultProfileFindsTheXtraderPlant) {
  test::TempDir work;
  const fs::path root = BuildTree(work.path(), "WS-DEFAULT", true, false);
  const Collected c = Collect(root, work.path(), "default");
  ASSERT_FALSE(c.archive.empty());
  const fs::path db = work / "case.db";
  auto r = Triage({"analyze", "-i", c.key_file.string(), "--case", db.string(), c.archive.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto hits = Query(db,
                    "SELECT entity_key, level FROM entity_scores WHERE level = 'alert' AND entity_key = "
                    "'C:\\ProgramData\\TPM\\winscard.dll'");
  ASSERT_EQ(hits.size(), 1u) << Query(db, "SELECT entity_key, level, reasons FROM entity_scores").dump(1);
  EXPECT_NE(r.out.find("winscard.dll"), std::string::npos) << r.out;
  auto blob = Query(db,
                    "SELECT count(*) AS n FROM findings WHERE rule_id = 'payload.high_entropy_blob_beside_dlls' "
                    "AND entity_key = 'C:\\ProgramData\\TPM\\blob'");
  EXPECT_EQ(blob[0]["n"], 1);
}

TEST_F(TriageGolden, DefaultProfileFindsTheTemplateUnderNewNames) {
  test::TempDir work;
  const fs::path root =
      BuildTree(work.path(), "WS-RENAMED", true, false, "ProgramData/HealthSvc", "hlthmon.exe", "cache.bin");
  const Collected c = Collect(root, work.path(), "default");
  ASSERT_FALSE(c.archive.empty());
  const fs::path db = work / "case.db";
  auto r = Triage({"analyze", "-i", c.key_file.string(), "--case", db.string(), c.archive.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto top = Query(db, "SELECT entity_key, level, reasons FROM entity_scores ORDER BY score DESC, entity_key LIMIT 1");
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0]["level"], "alert") << top.dump(1);
  const std::string key = top[0]["entity_key"];
  EXPECT_TRUE(key == "C:\\ProgramData\\HealthSvc\\winscard.dll" || key == "C:\\ProgramData\\HealthSvc\\msvcr100.dll")
      << key;
  const std::string reasons = top[0]["reasons"];
  EXPECT_NE(reasons.find("sideload.system_dll_name_in_app_dir"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("hlthmon.exe"), std::string::npos) << reasons;
  EXPECT_NE(r.out.find("DLL side-loading"), std::string::npos) << r.out;
}

TEST_F(TriageGolden, DefaultProfileCleanTreeRaisesNoAlert) {
  test::TempDir work;
  const fs::path root = BuildTree(work.path(), "WS-DEFCLEAN", false, false);
  // Ordinary software in the writable folders: an updater with its own
  // runtime DLL (not a System32 name) and compressed caches.
  fs::create_directories(root / "ProgramData/Vendor");
  fs::copy_file(*dir_ / "TpmVscMgrSvr.exe", root / "ProgramData/Vendor/updater.exe");
  fs::copy_file(*dir_ / "fixture.dll", root / "ProgramData/Vendor/vendorrt.dll");
  const Collected c = Collect(root, work.path(), "default");
  ASSERT_FALSE(c.archive.empty());
  const fs::path db = work / "case.db";
  auto r = Triage({"analyze", "-i", c.key_file.string(), "--case", db.string(), c.archive.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto swept = Query(db, "SELECT count(*) AS n FROM files WHERE artifact = 'windows.sweep.writable_locations'");
  EXPECT_GE(swept[0]["n"], 2);
  auto alerts = Query(db, "SELECT entity_key, reasons FROM entity_scores WHERE level = 'alert'");
  EXPECT_TRUE(alerts.empty()) << alerts.dump(1);
  EXPECT_EQ(r.out.find("[alert]"), std::string::npos) << r.out;
}

TEST_F(TriageGolden, HtmlReportRunsNoScriptFromData) {
  const char* chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium))
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium; dist/install-deps.sh)";
  test::TempDir work;
  const fs::path root = BuildTree(work.path(), "WS-HTML", true, true);
  const Collected c = Collect(root, work.path());
  ASSERT_FALSE(c.archive.empty());
  const fs::path db = work / "case.db";
  auto r = Triage({"analyze", "-i", c.key_file.string(), "--case", db.string(), c.archive.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto evil = Query(db, std::string("SELECT count(*) AS n FROM findings WHERE entity_key LIKE '%") + kEvilName + "'");
  ASSERT_GE(evil[0]["n"].get<int>(), 1) << "the hostile file name must reach the report";
  const fs::path html = work / "report.html";
  auto rep = Triage({"report", "--case", db.string(), "--format", "html", "-o", html.string()});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  const std::string page = test::ReadFile(html);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_NE(page.find("Content-Security-Policy"), std::string::npos);
  auto dom =
      RunCommand({"timeout", "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--user-data-dir=" + (work / "chromium-profile").string(), "--dump-dom", "file://" + html.string()});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // The browser parsed the page: the escaped name is text, and no element came from data.
  EXPECT_NE(dom.out.find("&lt;img src=x onerror=alert(1)&gt;.dll"), std::string::npos) << dom.out.substr(0, 2000);
  EXPECT_EQ(dom.out.find("<img"), std::string::npos);
  // One script element: the report's own (allowed by its hash), none from data.
  const auto script = dom.out.find("<script");
  ASSERT_NE(script, std::string::npos);
  EXPECT_EQ(script, dom.out.rfind("<script"));
  EXPECT_EQ(dom.out.compare(script, 21, "<script>\n(function ()"), 0) << dom.out.substr(script, 40);
  EXPECT_NE(dom.out.find("<title>trawl triage report</title>"), std::string::npos);
}

}  // namespace
}  // namespace trawl::triage
