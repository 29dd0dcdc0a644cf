// SPDX-License-Identifier: Apache-2.0
// ProfileList merged into an expansion context: profiles outside
// <SystemDrive>\Users are walked, another drive is mapped only when the
// caller can reach it, and every profile that is skipped says why. The hive
// side (ReadProfileList on a SOFTWARE hive built with hivexsh) is covered by
// tests/e2e/collect_profile_list_posix_test.cpp.
#include "core/profile/profile_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/profile/paths.h"
#include "tests/support/test_env.h"

namespace trawl::core::profile {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

void Touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  test::WriteFile(p, "x");
}

std::vector<std::string> Targets(const Expansion& e) {
  std::vector<std::string> out;
  for (const PathMatch& m : e.matches) out.push_back(m.target_path);
  std::sort(out.begin(), out.end());
  return out;
}

const ProfileNote* NoteFor(const std::vector<ProfileNote>& notes, std::string_view sid) {
  for (const ProfileNote& n : notes) {
    if (n.sid == sid) return &n;
  }
  return nullptr;
}

class ProfileListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = dir_ / "c";
    d_ = dir_ / "d";
    Touch(c_ / "Users/alice/AppData/Roaming/a.dll");
    Touch(c_ / "Windows/System32/config/systemprofile/AppData/Roaming/sys.dll");
    Touch(c_ / "Profiles/Dave/AppData/Roaming/dave.dll");
    Touch(d_ / "Users/erin/AppData/Roaming/erin.dll");
    auto ctx = MakeExpansionContext(TargetOs::kWindows, c_.string(), lister_);
    ASSERT_TRUE(ctx.has_value());
    ctx_ = *ctx;
    list_.profiles = {
        {"S-1-5-18", "%systemroot%\\system32\\config\\systemprofile"},
        {"S-1-5-21-1-2-3-1001", "C:\\Users\\ALICE"},  // already a user (the Users listing), any case
        {"S-1-5-21-1-2-3-1002", "%SystemDrive%\\Profiles\\Dave"},
        {"S-1-5-21-1-2-3-1003", "D:\\Users\\erin"},
        {"S-1-5-21-1-2-3-1004", "Users\\relative"},
        {"S-1-5-21-1-2-3-1005", "C:\\Users\\..\\Windows"},
        {"S-1-5-21-1-2-3-1006", "C:\\Users\\ghost"},
        {"S-1-5-21-1-2-3-1007", "%USERPROFILE%\\x"},
        {"S-1-5-21-1-2-3-1008", "E:\\Users\\frank"},
    };
  }

  Expansion Expand(const std::string& pattern) {
    auto e = ExpandGlob(pattern, ctx_, lister_, {});
    EXPECT_TRUE(e.has_value()) << pattern << ": " << (e ? "" : e.error().message);
    return e ? *e : Expansion{};
  }

  test::TempDir dir_;
  fs::path c_, d_;
  FsDirectoryLister lister_;
  ExpansionContext ctx_;
  ProfileList list_;
};

TEST_F(ProfileListTest, OfflineAddsSystemDriveProfilesAndReportsTheRest) {
  const auto notes = MergeProfileList(list_, ctx_, lister_, {});
  std::vector<std::string> homes;
  for (const UserProfile& u : ctx_.users) homes.push_back(u.home);
  EXPECT_EQ(homes, (std::vector<std::string>{"C:\\Users\\alice", "C:\\Windows\\system32\\config\\systemprofile",
                                             "C:\\Profiles\\Dave"}));
  EXPECT_EQ(ctx_.users[1].name, "systemprofile");
  EXPECT_TRUE(ctx_.drives.empty());
  EXPECT_EQ(NoteFor(notes, "S-1-5-21-1-2-3-1001"), nullptr) << "a known home is silent";
  ASSERT_NE(NoteFor(notes, "S-1-5-21-1-2-3-1002"), nullptr);
  EXPECT_EQ(NoteFor(notes, "S-1-5-21-1-2-3-1002")->event, "user_profile_added");
  const ProfileNote* erin = NoteFor(notes, "S-1-5-21-1-2-3-1003");
  ASSERT_NE(erin, nullptr);
  EXPECT_EQ(erin->event, "user_profile_unreachable");
  EXPECT_EQ(erin->level, "warning");
  EXPECT_EQ(erin->path, "D:\\Users\\erin");
  EXPECT_THAT(erin->message, HasSubstr("drive D:"));
  for (const char* sid : {"S-1-5-21-1-2-3-1004", "S-1-5-21-1-2-3-1005", "S-1-5-21-1-2-3-1007"}) {
    ASSERT_NE(NoteFor(notes, sid), nullptr) << sid;
    EXPECT_EQ(NoteFor(notes, sid)->event, "user_profile_invalid") << sid;
  }
  EXPECT_EQ(NoteFor(notes, "S-1-5-21-1-2-3-1006")->event, "user_profile_missing");
  EXPECT_EQ(NoteFor(notes, "S-1-5-21-1-2-3-1008")->event, "user_profile_unreachable");
  // Per-user patterns now expand in the new profiles too.
  EXPECT_EQ(Targets(Expand("%APPDATA%\\*.dll")),
            (std::vector<std::string>{"C:\\Profiles\\Dave\\AppData\\Roaming\\dave.dll",
                                      "C:\\Users\\alice\\AppData\\Roaming\\a.dll",
                                      // the walk names folders as the volume spells them
                                      "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Roaming\\sys.dll"}));
}

TEST_F(ProfileListTest, LiveMapsTheDriveOfAProfileElsewhere) {
  std::vector<std::string> asked;
  const auto notes = MergeProfileList(list_, ctx_, lister_, [&](std::string_view drive) {
    asked.emplace_back(drive);
    return drive == "D:" ? d_.string() : std::string();  // E: is not there
  });
  EXPECT_EQ(asked, (std::vector<std::string>{"D:", "E:"}));
  ASSERT_TRUE(ctx_.drives.contains("D:"));
  EXPECT_EQ(ctx_.drives["D:"], d_.string());
  EXPECT_EQ(NoteFor(notes, "S-1-5-21-1-2-3-1003")->event, "user_profile_added");
  EXPECT_EQ(NoteFor(notes, "S-1-5-21-1-2-3-1008")->event, "user_profile_unreachable");
  const Expansion e = Expand("%APPDATA%\\erin.dll");
  ASSERT_EQ(Targets(e), std::vector<std::string>{"D:\\Users\\erin\\AppData\\Roaming\\erin.dll"});
  EXPECT_EQ(fs::path(e.matches[0].host_path), d_ / "Users/erin/AppData/Roaming/erin.dll");
  EXPECT_EQ(e.matches[0].user, "erin");
  // Literal patterns on the mapped drive resolve too, whatever the case of the letter.
  EXPECT_EQ(Targets(Expand("d:\\users\\ERIN\\appdata\\roaming\\*.dll")),
            std::vector<std::string>{"D:\\Users\\erin\\AppData\\Roaming\\erin.dll"});
  EXPECT_EQ(fs::path(HostPathFor("D:\\Users\\erin", ctx_)), d_ / "Users/erin");
  // A drive nobody mapped still does not apply.
  const Expansion other = Expand("E:\\Users\\**");
  EXPECT_TRUE(other.matches.empty());
  ASSERT_EQ(other.issues.size(), 1u);
  EXPECT_THAT(other.issues[0].message, HasSubstr("not the mapped system drive"));
  EXPECT_EQ(HostPathFor("E:\\x", ctx_), "");
}

TEST(ProfileListPaths, RegistryVariablesExpandWithTheContext) {
  ExpansionContext ctx;
  ctx.os = TargetOs::kWindows;
  EXPECT_EQ(ExpandRegistryPath("%SystemDrive%\\Users\\a", ctx), "C:\\Users\\a");
  EXPECT_EQ(ExpandRegistryPath("%SYSTEMROOT%\\ServiceProfiles\\LocalService", ctx),
            "C:\\Windows\\ServiceProfiles\\LocalService");
  EXPECT_EQ(ExpandRegistryPath("%windir%\\%NOPE%\\x%", ctx), "C:\\Windows\\%NOPE%\\x%");
  ctx.env["SystemRoot"] = "C:\\WINNT";
  EXPECT_EQ(ExpandRegistryPath("%systemroot%\\a", ctx), "C:\\WINNT\\a");
  EXPECT_EQ(ExpandRegistryPath("", ctx), "");
}

}  // namespace
}  // namespace trawl::core::profile
