// SPDX-License-Identifier: Apache-2.0
#include "core/profile/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "core/profile/store.h"
#include "tests/support/test_env.h"

namespace trawl::core::profile {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Writes a file below a profiles-like tree in a TempDir and validates it
// through the public entry point, returning the error text.
class LoaderErrorTest : public ::testing::Test {
 protected:
  std::string Validate(const std::string& rel, const std::string& text) {
    const fs::path p = dir_.path() / rel;
    fs::create_directories(p.parent_path());
    test::WriteFile(p, text);
    auto r = ValidateFile(p);
    EXPECT_FALSE(r.has_value()) << rel << " unexpectedly valid";
    if (r) return {};
    EXPECT_EQ(r.error().code, ErrorCode::kFormat);
    return r.error().message;
  }
  std::string Path(const std::string& rel) { return (dir_.path() / rel).string(); }

  static constexpr const char* kArtifactHead =
      "name: windows.test.thing\n"
      "description: d\n"
      "rationale: r\n"
      "references: [{source: test}]\n";

  test::TempDir dir_;
};

TEST_F(LoaderErrorTest, YamlSyntaxError) {
  const std::string msg =
      Validate("artifacts/windows/test/thing.yaml", "name: windows.test.thing\ndescription: [unclosed\n");
  // The path is literal text (a Windows one holds backslashes, which a regex
  // would read as escapes); only the position after it is a pattern.
  const std::string path = Path("artifacts/windows/test/thing.yaml") + ":";
  ASSERT_THAT(msg, StartsWith(path));
  EXPECT_TRUE(std::regex_match(msg.substr(path.size()), std::regex(R"([0-9]+:[0-9]+: YAML syntax error: .*)"))) << msg;
}

TEST_F(LoaderErrorTest, UnknownKeyInArtifactOverrideSuggests) {
  const std::string msg = Validate("profiles/p.yaml",
                                   "name: p\n"
                                   "description: d\n"
                                   "artifacts:\n"
                                   "  - name: common.live.processes\n"
                                   "    parameters:\n"
                                   "      hash_modles: true\n");
  EXPECT_EQ(msg, Path("profiles/p.yaml") +
                     ":6:7: unknown key 'hash_modles' in artifact override "
                     "(did you mean 'hash_modules'?)");
}

TEST_F(LoaderErrorTest, UnknownKeysAtEveryLevel) {
  std::string msg = Validate("artifacts/windows/test/thing.yaml", std::string(kArtifactHead) + "kindd: files\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:5:1: unknown key 'kindd' in artifact (did you mean 'kind'?)"));
  msg = Validate("artifacts/windows/test/thing.yaml",
                 std::string(kArtifactHead) + "kind: files\nparameters:\n  paths: ['C:\\x']\n  copy_max_sise: 1\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:8:3: unknown key 'copy_max_sise' in parameters of kind "
                             "'files' (did you mean 'copy_max_size'?)"));
  msg = Validate("artifacts/windows/test/thing.yaml",
                 "name: windows.test.thing\ndescription: d\nrationale: r\n"
                 "references: [{source: s, uri: x}]\nkind: processes\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:4:26: unknown key 'uri' in reference (did you mean 'url'?)"));
  msg = Validate("profiles/q.yaml",
                 "name: q\ndescription: d\nlimits: {time_limt: 5}\n"
                 "artifacts: [common.live.processes]\n");
  EXPECT_THAT(msg, HasSubstr("q.yaml:3:10: unknown key 'time_limt' in profile limits "
                             "(did you mean 'time_limit'?)"));
}

TEST_F(LoaderErrorTest, WrongTypes) {
  std::string msg = Validate("artifacts/windows/test/thing.yaml",
                             std::string(kArtifactHead) + "kind: files\nparameters:\n  paths: 'C:\\x'\n  hash: yes\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:7:10: parameter 'paths' must be a list (glob_list), got 'C:\\x'"));
  EXPECT_THAT(msg, HasSubstr("thing.yaml:8:9: parameter 'hash' must be true or false, got 'yes'"));
  msg = Validate("artifacts/windows/test/thing.yaml",
                 std::string(kArtifactHead) + "kind: files\nparameters:\n  paths: ['C:\\x']\n  copy_max_size: lots\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:8:18: parameter 'copy_max_size' must be a size"));
  msg = Validate("artifacts/windows/test/thing.yaml", std::string(kArtifactHead) + "kind: [files]\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:5:7: 'kind' must be a string, got a list"));
}

TEST_F(LoaderErrorTest, UnknownKindAndArtifact) {
  std::string msg = Validate("artifacts/windows/test/thing.yaml", std::string(kArtifactHead) + "kind: proceses\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:5:7: unknown kind 'proceses' (did you mean 'processes'?)"));
  msg = Validate("profiles/r.yaml",
                 "name: r\ndescription: d\nartifacts:\n  - common.live.processes\n"
                 "  - windows.execution.prefech\n");
  EXPECT_EQ(msg, Path("profiles/r.yaml") +
                     ":5:5: unknown artifact 'windows.execution.prefech' "
                     "(did you mean 'windows.execution.prefetch'?)");
}

TEST_F(LoaderErrorTest, NameMustMatchPath) {
  std::string msg = Validate("artifacts/windows/test/thing.yaml",
                             "name: windows.test.other\ndescription: d\nrationale: r\n"
                             "references: [{source: s}]\nkind: processes\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:1:7: artifact name 'windows.test.other' does not match "
                             "its path (expected 'windows.test.thing')"));
  msg = Validate("profiles/s.yaml", "name: other\ndescription: d\nartifacts: [common.live.processes]\n");
  EXPECT_THAT(msg, HasSubstr("s.yaml:1:7: profile name 'other' does not match its file name"));
  msg = Validate("artifacts/linux/test/thing.yaml",
                 "name: linux.test.thing\ndescription: d\nrationale: r\n"
                 "references: [{source: s}]\nplatforms: [windows]\nkind: processes\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:5:12: an artifact under artifacts/linux/ must have "
                             "platforms [linux]"));
}

TEST_F(LoaderErrorTest, BadGlobsAndVariables) {
  const std::string head = std::string(kArtifactHead) + "kind: files\nparameters:\n  paths:\n";
  std::string msg = Validate("artifacts/windows/test/thing.yaml", head +
                                                                      "    - 'C:\\a[bc\\x'\n"
                                                                      "    - 'C:\\a**\\x'\n"
                                                                      "    - ''\n"
                                                                      "    - '%LOCALAPPDTA%\\x'\n"
                                                                      "    - 'relative\\x'\n"
                                                                      "    - '/etc/passwd'\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:8:7: bad glob 'C:\\a[bc\\x': unbalanced '['"));
  EXPECT_THAT(msg, HasSubstr("thing.yaml:9:7: bad glob 'C:\\a**\\x': '**' must be a whole path component"));
  EXPECT_THAT(msg, HasSubstr("thing.yaml:10:7: empty path in 'paths'"));
  EXPECT_THAT(msg, HasSubstr("thing.yaml:11:7: unknown variable '%LOCALAPPDTA%'"));
  EXPECT_THAT(msg, HasSubstr("thing.yaml:12:7: path 'relative\\x' is not absolute"));
  EXPECT_THAT(msg, HasSubstr("thing.yaml:13:7: unix path '/etc/passwd' in an artifact for [windows]"));
  msg = Validate("artifacts/windows/test/thing.yaml",
                 std::string(kArtifactHead) + "kind: dir_listing\nparameters:\n  paths: ['C:\\x']\n  pattern: '[a'\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:8:12: parameter 'pattern' is not a valid name glob"));
}

TEST_F(LoaderErrorTest, LimitsOutOfRange) {
  std::string msg =
      Validate("artifacts/windows/test/thing.yaml",
               std::string(kArtifactHead) + "kind: processes\nlimits:\n  max_depth: 100\n  max_files: 0\n");
  EXPECT_THAT(msg, HasSubstr("thing.yaml:7:14: limit 'max_depth' is 100, out of range 0..64"));
  EXPECT_THAT(msg, HasSubstr("thing.yaml:8:14: limit 'max_files' is 0, out of range 1..100000000"));
  msg = Validate("profiles/t.yaml",
                 "name: t\ndescription: d\nlimits:\n  max_output: 1KiB\n"
                 "artifacts:\n  - name: windows.execution.prefetch\n"
                 "    parameters: {max_depth: 65}\n");
  EXPECT_THAT(msg, HasSubstr("t.yaml:4:15: limit 'max_output' is 1KiB, out of range 1MiB..16TiB"));
  EXPECT_THAT(msg, HasSubstr("t.yaml:7:29: parameter 'max_depth' is 65, out of range 0..64"));
}

TEST_F(LoaderErrorTest, MissingRequiredParameter) {
  std::string msg = Validate("artifacts/windows/test/thing.yaml", std::string(kArtifactHead) + "kind: files\n");
  EXPECT_THAT(msg, HasSubstr("parameter 'paths' is required for kind 'files'"));
}

TEST(LoaderTest, OverlayDirectoryAndProfileFile) {
  test::TempDir dir;
  const fs::path art = dir.path() / "artifacts/windows/custom/tpm.yaml";
  fs::create_directories(art.parent_path());
  test::WriteFile(art,
                  "name: windows.custom.tpm\ndescription: d\nrationale: r\n"
                  "references: [{source: s}]\nkind: files\n"
                  "parameters: {paths: ['%ProgramData%\\TPM\\*.dll'], copy: true}\n");
  test::WriteFile(dir.path() / "mine.yaml",
                  "name: mine\ndescription: d\nartifacts:\n  - windows.custom.tpm\n"
                  "  - common.live.processes\n");
  auto p = LoadProfile((dir.path() / "mine.yaml").string());
  ASSERT_TRUE(p.has_value()) << p.error().message;
  ASSERT_EQ(p->artifacts.size(), 2u);
  EXPECT_EQ(p->artifacts[0].name, "common.live.processes");  // priority sort
  EXPECT_TRUE(p->artifacts[1].parameters.GetBool("copy"));
  EXPECT_TRUE(p->artifacts[1].parameters.GetBool("hash"));  // kind default
  EXPECT_EQ(p->artifacts[1].parameters.GetSize("copy_max_size"), 64ULL << 20);
  // Identity ignores layout and comments, follows content.
  test::WriteFile(dir.path() / "mine.yaml",
                  "# comment\nname: mine\ndescription: other words\nartifacts: [windows.custom.tpm, "
                  "common.live.processes]\n");
  auto same = LoadProfile((dir.path() / "mine.yaml").string());
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->sha256, p->sha256);
  test::WriteFile(dir.path() / "mine.yaml",
                  "name: mine\ndescription: d\nartifacts:\n  - {name: windows.custom.tpm, "
                  "parameters: {copy: false}}\n  - common.live.processes\n");
  auto changed = LoadProfile((dir.path() / "mine.yaml").string());
  ASSERT_TRUE(changed.has_value());
  EXPECT_NE(changed->sha256, p->sha256);
  auto store = ProfileStore::WithDirectory(dir.path());
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_NE(store->FindArtifact("windows.custom.tpm"), nullptr);
  EXPECT_TRUE(store->Resolve("mine").has_value());
}

TEST(LoaderTest, SizesAndSuggestions) {
  EXPECT_EQ(*ParseSize("64MiB"), 64ULL << 20);
  EXPECT_EQ(*ParseSize("10 MB"), 10'000'000ULL);
  EXPECT_EQ(*ParseSize("7"), 7ULL);
  EXPECT_FALSE(ParseSize("99999999999999999999").has_value());
  EXPECT_FALSE(ParseSize("20000000TiB").has_value());
  EXPECT_FALSE(ParseSize("-1").has_value());
  EXPECT_EQ(ClosestMatch("hash_modles", {"hash_modules", "include_modules"}), "hash_modules");
  EXPECT_EQ(ClosestMatch("zzz", {"hash_modules"}), "");
}

}  // namespace
}  // namespace trawl::core::profile
