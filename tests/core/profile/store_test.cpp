// SPDX-License-Identifier: Apache-2.0
#include "core/profile/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/profile/embedded.h"
#include "tests/support/test_env.h"

namespace trawl::core::profile {
namespace {

using ::testing::HasSubstr;

TEST(ProfileStoreTest, EmbeddedSetMatchesTheSourceTree) {
  // Every YAML file under profiles/ is embedded, byte for byte.
  std::set<std::string> on_disk;
  const auto root = test::SourceDir() / "profiles";
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().extension() == ".yaml") {
      on_disk.insert(e.path().lexically_relative(root).generic_string());
    }
  }
  std::set<std::string> embedded;
  for (const EmbeddedFile& f : EmbeddedProfileFiles()) {
    embedded.insert(std::string(f.path));
    EXPECT_EQ(test::ReadFile(root / std::string(f.path)), std::string(f.text)) << f.path;
  }
  EXPECT_EQ(on_disk, embedded);
}

TEST(ProfileStoreTest, EveryShippedArtifactAndProfileValidates) {
  auto store = ProfileStore::Embedded();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_GE(store->artifacts().size(), 100u);
  for (const auto& [name, art] : store->artifacts()) {
    EXPECT_FALSE(art.rationale.empty()) << name;
    EXPECT_FALSE(art.references.empty()) << name;
  }
  std::set<std::string> referenced;
  for (const char* profile : {"default", "supply-chain-3cx-xtrader", "trading-voip"}) {
    auto resolved = store->Resolve(profile);
    ASSERT_TRUE(resolved.has_value()) << profile << ": " << resolved.error().message;
    EXPECT_EQ(resolved->sha256.size(), 64u);
    // Volatile data first; stable order by priority.
    ASSERT_FALSE(resolved->artifacts.empty());
    EXPECT_EQ(resolved->artifacts.front().name, "common.live.processes");
    for (std::size_t i = 1; i < resolved->artifacts.size(); ++i) {
      EXPECT_LE(resolved->artifacts[i - 1].kind->priority, resolved->artifacts[i].kind->priority);
    }
    for (const ResolvedArtifact& a : resolved->artifacts) {
      EXPECT_NE(store->FindArtifact(a.name), nullptr);
      referenced.insert(a.name);
      // Every parameter of the kind is present after resolution.
      for (const ParamSpec& p : a.kind->parameters) EXPECT_TRUE(a.parameters.Has(p.name));
    }
  }
  // The wide sweep covers every catalog artifact.
  for (const auto& [name, art] : store->artifacts()) {
    if (name.find(".apps.") != std::string::npos) {
      EXPECT_TRUE(referenced.contains(name)) << name << " is in no profile";
    }
  }
  // Each shipped file also validates through the file entry point.
  for (const EmbeddedFile& f : EmbeddedProfileFiles()) {
    auto ok = ValidateFile(test::SourceDir() / "profiles" / std::string(f.path));
    EXPECT_TRUE(ok.has_value()) << f.path << ": " << (ok ? "" : ok.error().message);
  }
}

TEST(ProfileStoreTest, SupplyChainProfileCoversTheIntelPaths) {
  auto profile = LoadProfile("supply-chain-3cx-xtrader");
  ASSERT_TRUE(profile.has_value()) << profile.error().message;
  std::string all_paths;
  for (const ResolvedArtifact& a : profile->artifacts) {
    for (const std::string& p : a.parameters.GetList("paths")) all_paths += p + "\n";
  }
  for (const char* needle :
       {"%LOCALAPPDATA%\\Programs\\3CXDesktopApp\\**", "%ProgramData%\\3CXPhone", "%ProgramData%\\TPM\\**", "C:\\tt",
        "catroot2\\edb.chk.log", "krwve.jat", "TxR", "Prefetch\\*.pf", "/private/etc/apdl.cf", "libffmpeg.dylib"}) {
    EXPECT_THAT(all_paths, HasSubstr(needle));
  }
  // The override in the profile reached the resolved artifact.
  for (const ResolvedArtifact& a : profile->artifacts) {
    if (a.name == "windows.apps.tt_xtrader") {
      EXPECT_EQ(a.parameters.GetSize("copy_small_files_max"), 4ULL << 20);
      EXPECT_EQ(a.limits.max_files, 200000u);
    }
  }
}

TEST(ProfileStoreTest, UnknownProfileNameSuggests) {
  auto r = LoadProfile("defualt");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(r.error().message, HasSubstr("did you mean 'default'?"));
  auto list = ListProfiles();
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->size(), 3u);
}

}  // namespace
}  // namespace trawl::core::profile
