// SPDX-License-Identifier: Apache-2.0
// End to end on real hives: a Windows tree holding a dirty SYSTEM hive with
// its two transaction logs (regipy SYSTEM_B), a dirty Amcache.hve with its
// logs (DFIRArtifactMuseum, Windows 10 after APT Simulator), a user's
// NTUSER.DAT and APT Simulator's two scheduled tasks is collected by the real
// trawl-collect (default profile) and analysed by the real trawl-triage. The
// hives are replayed at ingest (the counts yarp gives after replay), their
// evidence lands in its tables, the tasks raise their findings, an Amcache
// SHA-1 matches a user IOC list, and a hive that is garbage is a row with its
// error, never a failed ingest.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "core/crypto/age.h"
#include "tests/support/disk_images.h"
#include "tests/support/test_env.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using test::RunCommand;

class RegistryIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(test::SharedTestdata() / "registry")) GTEST_SKIP() << "shared test data is missing";
    if (!test::CanUnpackXz()) GTEST_SKIP() << "no xz support here";
    ASSERT_TRUE(fs::exists(test::BinDir() / "trawl-collect")) << "build trawl-collect first";
  }

  static void Copy(const fs::path& from, const fs::path& to) {
    fs::create_directories(to.parent_path());
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  }

  // Collects `root` with the default profile and analyses it; returns the case.
  fs::path CollectAndAnalyze(const fs::path& root, const std::vector<std::string>& extra = {}) {
    auto id = core::age::GenerateX25519Identity();
    EXPECT_TRUE(id);
    const fs::path key = work_ / "key.txt";
    test::WriteFile(key, core::age::FormatIdentityFile(*id));
    auto c = RunCommand({(test::BinDir() / "trawl-collect").string(), "--root", root.string(), "--target-os", "windows",
                         "--profile", "default", "--recipient", id->ToRecipient().Encode(), "--output",
                         (work_ / "out").string(), "--quiet"});
    EXPECT_TRUE(c.exit_code == 0 || c.exit_code == 1) << c.out << c.err;
    fs::path archive;
    for (const auto& e : fs::directory_iterator(work_ / "out"))
      if (e.path().string().ends_with(".zip.age")) archive = e.path();
    const fs::path db = work_ / "case.db";
    std::vector<std::string> argv = {
        (test::BinDir() / "trawl-triage").string(), "analyze", "-i", key.string(), "--case", db.string()};
    // Options before the archive: one value per --ioc, the archive is not an IOC list.
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(archive.string());
    auto a = RunCommand(argv);
    EXPECT_EQ(a.exit_code, 0) << a.out << a.err;
    analyze_out_ = a.out;
    return db;
  }

  nlohmann::json Query(const fs::path& db, const std::string& sql) {
    auto r = RunCommand(
        {(test::BinDir() / "trawl-triage").string(), "query", "--case", db.string(), "--format", "json", sql});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json rows = nlohmann::json::array();
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
    return rows;
  }
  std::int64_t Count(const fs::path& db, const std::string& sql) {
    auto rows = Query(db, sql);
    return rows.empty() ? -1 : rows[0]["n"].get<std::int64_t>();
  }

  test::TempDir work_;
  std::string analyze_out_;
};

TEST_F(RegistryIngest, HivesAreReplayedAndTheirEvidenceLands) {
  const fs::path reg = test::SharedTestdata() / "registry";
  const fs::path root = work_ / "WS-REG";
  const fs::path config = root / "Windows/System32/config";
  Copy(test::UnpackedImage(reg / "regipy/SYSTEM_B.xz"), config / "SYSTEM");
  Copy(test::UnpackedImage(reg / "regipy/SYSTEM_B.LOG1.xz"), config / "SYSTEM.LOG1");
  Copy(test::UnpackedImage(reg / "regipy/SYSTEM_B.LOG2.xz"), config / "SYSTEM.LOG2");
  const fs::path amcache = reg / "dfir-artifact-museum/Amcache_Win10_APTSimulatorVM";
  for (const char* f : {"Amcache.hve", "Amcache.hve.LOG1", "Amcache.hve.LOG2"})
    Copy(amcache / f, root / "Windows/AppCompat/Programs" / f);
  Copy(test::UnpackedImage(reg / "regipy/NTUSER_with_winscp.DAT.xz"), root / "Users/alice/NTUSER.DAT");
  const fs::path tasks = test::SharedTestdata() / "tasks/dfir-artifact-museum/Server2022/APTSimulatorVM";
  for (const char* t : {"GameOver", "falshupdate22"}) Copy(tasks / t, root / "Windows/System32/Tasks" / t);
  // A "hive" that is not one: a row with its error, never a failed ingest.
  test::WriteFile(root / "Users/bob/NTUSER.DAT", std::string(10000, 'A'));
  // The user's own IOC list holds the SHA-1 Amcache keeps for 7z.exe.
  test::WriteFile(work_ / "iocs.txt", "1189cebeb8ffed7316f98b895ff949a726f4026f;90;test: 7-Zip as a stand-in\n");

  const fs::path db = CollectAndAnalyze(root, {"--ioc", (work_ / "iocs.txt").string()});
  EXPECT_NE(analyze_out_.find("3 hives, 2 tasks"), std::string::npos) << analyze_out_;

  auto hives = Query(db,
                     "SELECT path, hive_type, user_name, dirty, json_array_length(logs_applied) AS applied, error "
                     "FROM registry_hives ORDER BY path");
  ASSERT_EQ(hives.size(), 4u) << hives.dump(1);
  EXPECT_EQ(hives[0]["path"], "C:\\Users\\alice\\NTUSER.DAT");
  EXPECT_EQ(hives[0]["user_name"], "alice");
  EXPECT_EQ(hives[1]["path"], "C:\\Users\\bob\\NTUSER.DAT");
  EXPECT_NE(hives[1]["error"].get<std::string>().find("regf"), std::string::npos) << hives[1].dump();
  EXPECT_EQ(hives[2]["hive_type"], "Amcache");
  EXPECT_EQ(hives[2]["dirty"], 1);
  EXPECT_EQ(hives[2]["applied"], 4);  // LOG1 36-37, LOG2 38-39 (yarp's replay: 471 keys / 10961 values)
  EXPECT_EQ(hives[3]["hive_type"], "SYSTEM");
  EXPECT_EQ(hives[3]["applied"], 24);  // LOG1 2107-2110, LOG2 2111-2130

  // Amcache after replay: InventoryApplicationFile / InventoryApplication.
  EXPECT_EQ(Count(db, "SELECT count(*) AS n FROM amcache_files WHERE source = 'InventoryApplicationFile'"), 124);
  EXPECT_EQ(Count(db, "SELECT count(*) AS n FROM amcache_apps WHERE source = 'InventoryApplication'"), 90);
  auto z = Query(db,
                 "SELECT path, dir_lc, name_lc, size, publisher FROM amcache_files WHERE sha1 = "
                 "'1189cebeb8ffed7316f98b895ff949a726f4026f'");
  ASSERT_EQ(z.size(), 1u);
  EXPECT_EQ(z[0]["path"], "c:\\program files\\7-zip\\7z.exe");
  EXPECT_EQ(z[0]["dir_lc"], "c:\\program files\\7-zip");
  EXPECT_EQ(z[0]["name_lc"], "7z.exe");
  // SYSTEM after replay: ShimCache (Windows 10 creators format), BAM, services.
  EXPECT_EQ(Count(db, "SELECT count(*) AS n FROM shimcache WHERE format = '10-creators'"), 406);
  EXPECT_EQ(Count(db, "SELECT count(*) AS n FROM bam"), 31);
  auto ike = Query(db, "SELECT service_dll, service_dll_lc, start_type FROM services WHERE name = 'IKEEXT'");
  ASSERT_FALSE(ike.empty());
  EXPECT_EQ(ike[0]["service_dll"], "%SystemRoot%\\System32\\ikeext.dll");
  EXPECT_EQ(ike[0]["service_dll_lc"], "c:\\windows\\system32\\ikeext.dll");
  // The user's Run key.
  auto run = Query(db, "SELECT location, command FROM autoruns WHERE name = 'Docker Desktop'");
  ASSERT_EQ(run.size(), 1u);
  EXPECT_EQ(run[0]["location"], "HKU\\alice\\Software\\Microsoft\\Windows\\CurrentVersion\\Run");
  // Tasks and their findings.
  auto game = Query(db, "SELECT command, arguments, author FROM scheduled_tasks WHERE path LIKE '%GameOver'");
  ASSERT_EQ(game.size(), 1u);
  EXPECT_EQ(game[0]["command"], "C:\\TMP\\mim.exe");
  auto findings = Query(db, "SELECT rule_id, entity_key, score FROM findings ORDER BY rule_id, entity_key");
  std::set<std::string> got;
  for (const auto& f : findings) got.insert(f["rule_id"].get<std::string>() + " " + f["entity_key"].get<std::string>());
  EXPECT_TRUE(got.count("persistence.suspicious_scheduled_task \\GameOver")) << findings.dump(1);
  EXPECT_TRUE(got.count("persistence.suspicious_scheduled_task \\falshupdate22")) << findings.dump(1);
  EXPECT_TRUE(got.count("persistence.service_in_writable_dir ad_driver")) << findings.dump(1);
  EXPECT_TRUE(got.count("ioc.user_hash_list c:\\program files\\7-zip\\7z.exe")) << findings.dump(1);
  // Nothing flagged that is Windows' or Defender's own.
  for (const auto& f : findings) {
    const std::string key = f["entity_key"];
    EXPECT_EQ(key.find("Windows Defender"), std::string::npos) << key;
    EXPECT_EQ(key.find("OneDrive"), std::string::npos) << key;
  }
  // Timeline rows for the new evidence.
  auto tl = RunCommand({(test::BinDir() / "trawl-triage").string(), "report", "--case", db.string(), "--format",
                        "timeline", "-o", (work_ / "t.csv").string()});
  ASSERT_EQ(tl.exit_code, 0) << tl.err;
  const std::string timeline = test::ReadFile(work_ / "t.csv");
  EXPECT_NE(timeline.find("Amcache: "), std::string::npos);
  EXPECT_NE(timeline.find("BAM: "), std::string::npos);
  EXPECT_NE(timeline.find("Service "), std::string::npos);
}

}  // namespace
}  // namespace trawl::triage
