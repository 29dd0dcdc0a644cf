// SPDX-License-Identifier: Apache-2.0
// `trawl-triage kit`: the kit it lays out checks with sha256sum -c, its
// collect.sh runs the collector it copied (settings from the kit's
// trawl.yaml, upload to a real nginx on loopback over HTTPS with the kit's
// CA), and the console wrappers that cannot run here (the Defender
// PowerShell script, the Velociraptor artifact) pass exactly the kit's
// arguments: checked by parsing them. Bad arguments are refused before
// anything is written. (collect.cmd runs under Wine in
// tests/windows/sideload_under_wine.sh.)
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/loopback_servers.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

using nlohmann::json;

class TriageKitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { servers_ = new test::LoopbackServers(); }
  static void TearDownTestSuite() {
    delete servers_;
    servers_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(servers_->ok()) << servers_->error();
    id_ = core::age::GenerateX25519Identity().value();
    // The collectors folder: the Linux collector of this build, and a file
    // standing in for trawl-collect.exe (the Wine test uses the real one).
    std::filesystem::create_directories(dir_ / "collectors");
    std::filesystem::copy_file(test::BinDir() / "trawl-collect", dir_ / "collectors/trawl-collect");
    test::WriteFile(dir_ / "collectors/trawl-collect.exe", "MZ stand-in for the Windows collector\n");
  }

  test::CommandResult Kit(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {(test::BinDir() / "trawl-triage").string(), "kit"};
    if (std::find(extra.begin(), extra.end(), "--collectors") == extra.end()) {
      argv.insert(argv.end(), {"--collectors", (dir_ / "collectors").string()});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::RunCommand(argv);
  }

  static std::string Sha(const std::filesystem::path& p) { return core::Sha256Hex(core::AsBytes(test::ReadFile(p))); }

  test::TempDir dir_;
  core::age::X25519Identity id_;
  static test::LoopbackServers* servers_;
  // A servers.env value.
  static std::string Env(const std::string& key) { return (*servers_)[key]; }
};
test::LoopbackServers* TriageKitTest::servers_ = nullptr;

TEST_F(TriageKitTest, KitChecksOutAndItsCollectShCollectsAndUploads) {
  const auto kit = dir_ / "kit";
  const std::string url = Env("HTTPS_BASE") + "kit-run/{name}?sv=2024&sig=s3cr%2Bt";
  auto r = Kit({"--recipient", id_.ToRecipient().Encode(), "--profile", "supply-chain-3cx-xtrader", "--upload", url,
                "--upload-ca", Env("CA"), "--time-limit", "300", "-o", kit.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* f : {"trawl-collect", "trawl-collect.exe", "trawl.yaml", "collect.sh", "collect.cmd",
                        "defender/trawl-collect-defender.ps1", "velociraptor/Custom.Trawl.Collect.yaml",
                        "upload/ca.pem", "README.txt", "SHA256SUMS"}) {
    EXPECT_TRUE(std::filesystem::exists(kit / f)) << f;
  }
  // SHA256SUMS lists every other file and checks with coreutils.
  auto sums = test::RunCommand({"sh", "-c", "cd '" + kit.string() + "' && sha256sum --strict -c SHA256SUMS"});
  EXPECT_EQ(sums.exit_code, 0) << sums.out << sums.err;
  EXPECT_NE(sums.out.find("trawl-collect: OK"), std::string::npos) << sums.out;
  EXPECT_NE(sums.out.find("velociraptor/Custom.Trawl.Collect.yaml: OK"), std::string::npos);
  // collect.cmd has CRLF line ends and runs the .exe beside it with the arguments given.
  const std::string cmd = test::ReadFile(kit / "collect.cmd");
  EXPECT_NE(cmd.find("set \"TRAWL_EXE=%~dp0trawl-collect.exe\""), std::string::npos);
  EXPECT_NE(cmd.find("\"%TRAWL_EXE%\" %*\r\n"), std::string::npos);
  EXPECT_EQ(cmd.find("\n"), cmd.find("\r\n") + 1);

  // collect.sh from another working directory: settings from the kit's trawl.yaml.
  auto run = test::RunCommand({"sh", "-c", "cd / && sh '" + (kit / "collect.sh").string() + "' --quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto at = run.out.rfind("trawl:result ");
  ASSERT_NE(at, std::string::npos) << run.out;
  const json res = json::parse(run.out.substr(at + 13));
  EXPECT_EQ(res["profile"], "supply-chain-3cx-xtrader");
  ASSERT_EQ(res["archives"].size(), 1u);
  const std::filesystem::path part = res["archives"][0]["path"].get<std::string>();
  EXPECT_EQ(part.parent_path(), kit / "trawl-output") << "output: trawl-output beside the collector";
  const auto remote = std::filesystem::path(Env("WWW")) / "drop/kit-run" / part.filename();
  ASSERT_TRUE(std::filesystem::exists(remote)) << run.out << run.err;
  EXPECT_EQ(test::ReadFile(remote), test::ReadFile(part));
  EXPECT_EQ(run.out.find("s3cr"), std::string::npos) << "the SAS signature leaked into the output";
}

TEST_F(TriageKitTest, ConsoleWrappersPassTheKitsArgumentsAndPinTheCollectorsHash) {
  const auto kit = dir_ / "kit";
  auto r = Kit({"--recipient", id_.ToRecipient().Encode(), "--profile", "default", "--upload",
                Env("SFTP_BASE") + "drop/", "--upload-key", Env("CLIENT_KEY"), "--upload-host-key", Env("HOST_KEY"),
                "--split-size", "2000000000", "-o", kit.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string exe_sha = Sha(kit / "trawl-collect.exe");
  const std::string linux_sha = Sha(kit / "trawl-collect");

  // trawl.yaml: what the collector reads; the key is copied, owner-only.
  const YAML::Node y = YAML::LoadFile((kit / "trawl.yaml").string());
  EXPECT_EQ(y["recipients"][0].as<std::string>(), id_.ToRecipient().Encode());
  EXPECT_EQ(y["profile"].as<std::string>(), "default");
  EXPECT_EQ(y["upload"][0].as<std::string>(), Env("SFTP_BASE") + "drop/");
  EXPECT_EQ(y["upload_key"].as<std::string>(), "upload/upload_key");
  EXPECT_EQ(y["upload_host_key"].as<std::string>(), Env("HOST_KEY"));
  EXPECT_EQ(test::ReadFile(kit / "upload/upload_key"), test::ReadFile(Env("CLIENT_KEY")));
  const auto key_perms = std::filesystem::status(kit / "upload/upload_key").permissions();
  EXPECT_EQ(key_perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);

  // Defender: the argument list, taken apart, is the kit's, with the Live
  // Response time caps and the key where putfile puts it.
  const std::string ps = test::ReadFile(kit / "defender/trawl-collect-defender.ps1");
  EXPECT_NE(ps.find("$expected = '" + exe_sha + "'"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ps, m, std::regex(R"(\$arguments = @\((.*)\)\r\n)"))) << ps;
  std::vector<std::string> ps_args;
  const std::string list = m[1];
  const std::regex quoted(R"('([^']*)')");
  for (std::sregex_iterator it(list.begin(), list.end(), quoted), end; it != end; ++it) {
    ps_args.push_back((*it)[1]);
  }
  const std::string dl = R"(C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Downloads)";
  const std::vector<std::string> want = {"--recipient",
                                         id_.ToRecipient().Encode(),
                                         "--profile",
                                         "default",
                                         "--time-limit",
                                         "480",
                                         "--split-size",
                                         "2000000000",
                                         "--upload",
                                         Env("SFTP_BASE") + "drop/",
                                         "--upload-key",
                                         dl + R"(\upload_key)",
                                         "--upload-host-key",
                                         Env("HOST_KEY"),
                                         "--upload-time-limit",
                                         "60",
                                         "--quiet",
                                         "--output"};
  EXPECT_EQ(ps_args, want);

  // Velociraptor: valid YAML with the fields a client artifact needs, tools
  // pinned to the kit's binaries, and execve's argv carrying the kit's
  // recipient and profile (the archive goes to the Velociraptor server).
  const YAML::Node v = YAML::LoadFile((kit / "velociraptor/Custom.Trawl.Collect.yaml").string());
  EXPECT_EQ(v["name"].as<std::string>(), "Custom.Trawl.Collect");
  EXPECT_EQ(v["type"].as<std::string>(), "CLIENT");
  EXPECT_EQ(v["required_permissions"][0].as<std::string>(), "EXECVE");
  ASSERT_EQ(v["tools"].size(), 2u);
  std::map<std::string, std::string> tools;
  for (const auto& t : v["tools"]) tools[t["name"].as<std::string>()] = t["expected_hash"].as<std::string>();
  EXPECT_EQ(tools["TrawlCollectWindows"], exe_sha);
  EXPECT_EQ(tools["TrawlCollectLinux"], linux_sha);
  ASSERT_EQ(v["sources"].size(), 2u);
  for (const auto& s : v["sources"]) {
    const std::string q = s["query"].as<std::string>();
    EXPECT_NE(s["precondition"].as<std::string>().find("FROM info()"), std::string::npos);
    EXPECT_NE(q.find("execve(argv=[Bin[0].OSPath, \"--recipient\", \"" + id_.ToRecipient().Encode() +
                     "\", \"--profile\", \"default\""),
              std::string::npos)
        << q;
    EXPECT_NE(q.find("upload(file=OSPath"), std::string::npos);
    EXPECT_EQ(q.find("--upload"), std::string::npos) << "the artifact uploads through Velociraptor";
  }
}

TEST_F(TriageKitTest, BadArgumentsAreRefusedBeforeAnythingIsWritten) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::string rcpt = id_.ToRecipient().Encode();
  const std::vector<Case> cases = {
      {{"--recipient", "age1nothing"}, "--recipient"},
      {{"--recipient", rcpt, "--profile", "no-such-profile"}, "not a built-in profile"},
      {{"--recipient", rcpt, "--upload", "ftp://x.invalid/"}, "unsupported scheme"},
      {{"--recipient", rcpt, "--upload", Env("SFTP_BASE")}, "--upload-key FILE is required"},
      {{"--recipient", rcpt, "--upload", "https://x.invalid/a'b/{name}"}, "cannot be put into the kit's scripts"},
      {{"--recipient", rcpt, "--collectors", (dir_ / "nowhere").string()}, "no trawl-collect or trawl-collect.exe"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"-o", (dir_ / "kit").string()});
    auto r = Kit(args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << "want '" << c.error << "' in: " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "kit")) << c.error;
  }
  // A folder that is not empty needs --force.
  test::WriteFile(dir_ / "kit/other.txt", "x");
  auto r = Kit({"--recipient", rcpt, "-o", (dir_ / "kit").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r.err;
  r = Kit({"--recipient", rcpt, "-o", (dir_ / "kit").string(), "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace trawl
