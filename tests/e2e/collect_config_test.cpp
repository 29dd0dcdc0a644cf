// SPDX-License-Identifier: Apache-2.0
// A prepared USB stick: trawl-collect copied to a folder with a trawl.yaml
// beside it runs with no arguments, encrypts to the configured recipient,
// writes where the file says, and the command line still wins. A broken
// trawl.yaml stops the run before anything is written, naming file and line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

class CollectConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_ = core::age::GenerateX25519Identity().value();
    const auto built = test::BinDir() / "trawl-collect";
    ASSERT_TRUE(std::filesystem::exists(built)) << built;
    stick_ = dir_ / "stick";
    std::filesystem::create_directories(stick_ / "profiles/artifacts/linux/test");
    std::filesystem::copy_file(built, stick_ / "trawl-collect");
    std::filesystem::permissions(stick_ / "trawl-collect", std::filesystem::perms::owner_all);
    // Evidence: one file with known content.
    test::WriteFile(dir_ / "evidence/winscard.dll", "not really a DLL\n");
    test::WriteFile(stick_ / "profiles/artifacts/linux/test/evidence.yaml",
                    "name: linux.test.evidence\n"
                    "description: the test's evidence folder\n"
                    "rationale: config test\n"
                    "references: [{title: 'config test', source: 'tests/e2e/collect_config_test.cpp'}]\n"
                    "kind: files\n"
                    "platforms: [linux]\n"
                    "parameters:\n"
                    "  paths: ['" +
                        (dir_ / "evidence").string() + "/**']\n");
    test::WriteFile(stick_ / "profiles/stick.yaml",
                    "name: stick\ndescription: config test\nartifacts: [linux.test.evidence]\n");
  }

  // Runs the stick's copy from an unrelated working directory (no shell).
  test::CommandResult RunStick(const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv = {(stick_ / "trawl-collect").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--quiet");
    return test::RunCommand(argv);
  }

  // The one archive in `dir`, checked: it verifies with our key and holds the
  // evidence file's record with its SHA-256.
  void ExpectCollectionIn(const std::filesystem::path& out_dir) {
    std::vector<std::filesystem::path> archives;
    for (const auto& e : std::filesystem::directory_iterator(out_dir)) {
      if (e.path().string().ends_with(".zip.age")) archives.push_back(e.path());
    }
    ASSERT_EQ(archives.size(), 1u) << out_dir;
    const std::string want = core::Sha256Hex(core::AsBytes(test::ReadFile(dir_ / "evidence/winscard.dll")));
    bool found = false;
    auto report = core::archive::WalkArchive(
        archives[0], {id_},
        [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
          if (!m.name.starts_with("records/files.")) return {};
          auto text = s.ReadAll(64u << 20);
          if (!text) return std::unexpected(text.error());
          found = found || text->find(want) != std::string::npos;
          return {};
        });
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_TRUE(report->ok);
    ASSERT_TRUE(report->manifest);
    EXPECT_EQ(report->manifest->profile_name, "stick");
    EXPECT_TRUE(found) << "no files record with the evidence's SHA-256";
  }

  test::TempDir dir_;
  std::filesystem::path stick_;
  core::age::X25519Identity id_;
};

TEST_F(CollectConfigTest, TrawlYamlBesideTheBinarySuppliesRecipientsProfileAndOutput) {
  test::WriteFile(stick_ / "trawl.yaml",
                  "# prepared for the incident\n"
                  "recipients:\n  - " +
                      id_.ToRecipient().Encode() +
                      "\n"
                      "profile: profiles/stick.yaml\n"
                      "output: evidence-out\n"
                      "time_limit: 120\n");
  auto r = RunStick();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Relative paths in trawl.yaml are relative to the stick, not to the cwd.
  ExpectCollectionIn(stick_ / "evidence-out");
}

TEST_F(CollectConfigTest, CommandLineWinsOverTrawlYaml) {
  const auto other = core::age::GenerateX25519Identity().value();
  test::WriteFile(stick_ / "trawl.yaml", "recipients: [" + other.ToRecipient().Encode() +
                                             "]\n"
                                             "profile: profiles/stick.yaml\noutput: evidence-out\n");
  auto r = RunStick({"--output", (dir_ / "cli-out").string(), "--recipient", id_.ToRecipient().Encode()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(std::filesystem::exists(stick_ / "evidence-out"));
  ExpectCollectionIn(dir_ / "cli-out");  // decrypts with id_, not with `other`
}

TEST_F(CollectConfigTest, BrokenTrawlYamlStopsBeforeWritingAndNamesTheLine) {
  test::WriteFile(stick_ / "trawl.yaml",
                  "profile: profiles/stick.yaml\n"
                  "recipient: age1typo\n");
  auto r = RunStick({"--output", (dir_ / "out").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find((stick_ / "trawl.yaml").string() + ":2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown key 'recipient'"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));

  test::WriteFile(stick_ / "trawl.yaml", "time_limit: [1, 2\n");
  r = RunStick({"--output", (dir_ / "out").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find((stick_ / "trawl.yaml").string() + ":"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
}

}  // namespace
}  // namespace trawl
