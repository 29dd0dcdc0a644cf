// SPDX-License-Identifier: Apache-2.0
// ProfileList end to end: `trawl-collect --root` on a Windows tree whose
// SOFTWARE hive (regipy's real SAM turned into a small SOFTWARE hive by
// Debian's hivexsh, a writer no one here wrote) lists a profile outside
// C:\Users, SYSTEM's profile, and one on drive D:. The default profile must
// sweep the first two like any user's (their AppData files and NTUSER.DAT
// are collected) and log the third as unreachable, named; no SOFTWARE hive
// at all is one info line, not an error.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/formats/regf.h"
#include "core/profile/profile_list.h"
#include "core/util/file.h"
#include "tests/support/disk_images.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// hivexsh script: the SAM's root subkey goes, ProfileList comes in.
std::string ProfileListScript() {
  std::string s = "cd \\SAM\ndel\ncd \\\nadd Microsoft\ncd \\Microsoft\nadd Windows NT\n";
  s += "cd \\Microsoft\\Windows NT\nadd CurrentVersion\ncd \\Microsoft\\Windows NT\\CurrentVersion\nadd ProfileList\n";
  const std::string pl = "\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";
  s += fmt::format(
      "cd {}\nsetval 2\nProfilesDirectory\nexpandstring:%SystemDrive%\\Users\nDefault\n"
      "expandstring:%SystemDrive%\\Users\\Default\n",
      pl);
  const std::pair<const char*, const char*> profiles[] = {
      {"S-1-5-18", "expandstring:%systemroot%\\system32\\config\\systemprofile"},
      {"S-1-5-21-1-2-3-1001", "expandstring:C:\\Users\\alice"},
      {"S-1-5-21-1-2-3-1002", "expandstring:%SystemDrive%\\Profiles\\dave"},
      {"S-1-5-21-1-2-3-1003", "string:D:\\Users\\erin"},
  };
  for (const auto& [sid, path] : profiles) {
    s += fmt::format("cd {}\nadd {}\ncd {}\\{}\nsetval 2\nProfileImagePath\n{}\nFlags\ndword:0\n", pl, sid, pl, sid,
                     path);
  }
  return s + "commit\n";
}

struct Collected {
  std::vector<json> files, log;
  std::set<std::string> members;
};

Collected Collect(const fs::path& root, const fs::path& out) {
  Collected c;
  auto id = core::age::GenerateX25519Identity().value();
  auto r = test::RunCommand({(test::BinDir() / "trawl-collect").string(), "--root", root.string(), "--target-os",
                             "windows", "--profile", "default", "--recipient", id.ToRecipient().Encode(), "--output",
                             out.string(), "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  fs::path archive;
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.path().string().ends_with(".zip.age")) archive = e.path();
  }
  EXPECT_FALSE(archive.empty());
  if (archive.empty()) return c;
  auto report = core::archive::WalkArchive(
      archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
        c.members.insert(m.name);
        if (!m.name.starts_with("records/files.") && m.name != "log.jsonl") return {};
        auto text = s.ReadAll(64u << 20);
        if (!text) return std::unexpected(text.error());
        std::vector<json>& into = m.name == "log.jsonl" ? c.log : c.files;
        std::size_t start = 0;
        while (start < text->size()) {
          std::size_t end = text->find('\n', start);
          if (end == std::string::npos) end = text->size();
          if (end > start) into.push_back(json::parse(text->substr(start, end - start)));
          start = end + 1;
        }
        return {};
      });
  EXPECT_TRUE(report) << (report ? "" : report.error().ToString());
  return c;
}

const json* Event(const Collected& c, std::string_view event, std::string_view sid) {
  for (const json& e : c.log) {
    if (e.value("event", "") == event && (sid.empty() || e.value("sid", "") == sid)) return &e;
  }
  return nullptr;
}

bool HasFile(const Collected& c, std::string_view path) {
  return std::any_of(c.files.begin(), c.files.end(), [&](const json& f) { return f.value("path", "") == path; });
}

TEST(CollectProfileList, ProfilesOutsideUsersAreSweptAndOtherDrivesNamed) {
  if (!test::HaveTool("hivexsh")) GTEST_SKIP() << "hivexsh (Debian libhivex-bin) is not installed";
  const fs::path sam_xz = test::SharedTestdata() / "registry/regipy/SAM.xz";
  if (!test::CanUnpackXz() || !fs::exists(sam_xz)) GTEST_SKIP() << "regipy SAM is missing or cannot be unpacked";
  test::TempDir dir;
  const fs::path root = dir / "volume";
  const fs::path config = root / "Windows/System32/config";
  fs::create_directories(config);
  fs::copy_file(test::UnpackedImage(sam_xz), config / "SOFTWARE");
  test::WriteFile(dir / "script", ProfileListScript());
  const auto hx = test::RunCommand({"hivexsh", "-w", "-f", (dir / "script").string(), (config / "SOFTWARE").string()});
  ASSERT_EQ(hx.exit_code, 0) << hx.out << hx.err;

  // The hive as our reader sees it (the collector reads the same file).
  {
    auto bytes = core::ReadFileBytes(config / "SOFTWARE");
    ASSERT_TRUE(bytes);
    auto hive = core::formats::regf::Hive::Open(std::move(*bytes));
    ASSERT_TRUE(hive) << hive.error().ToString();
    const auto list = core::profile::ReadProfileList(*hive);
    EXPECT_TRUE(list.problems.empty());
    ASSERT_EQ(list.profiles.size(), 4u);
    EXPECT_EQ(list.profiles[2].sid, "S-1-5-21-1-2-3-1002");
    EXPECT_EQ(list.profiles[2].path, "%SystemDrive%\\Profiles\\dave");
    EXPECT_EQ(list.profiles_directory, "%SystemDrive%\\Users");
    EXPECT_EQ(list.default_dir, "%SystemDrive%\\Users\\Default");
  }

  const std::string pe = test::ReadFile(test::SharedTestdata() / "pe/plaso/wrc-test-wevt_template.dll");
  for (const char* home : {"Users/alice", "Profiles/dave", "Windows/System32/config/systemprofile"}) {
    test::WriteFile(root / home / "NTUSER.DAT", "regf-not-really");
  }
  fs::create_directories(root / "Profiles/dave/AppData/Roaming/Upd");
  test::WriteFile(root / "Profiles/dave/AppData/Roaming/Upd/winscard.dll", pe);
  fs::create_directories(root / "Windows/System32/config/systemprofile/AppData/Local/Temp");
  test::WriteFile(root / "Windows/System32/config/systemprofile/AppData/Local/Temp/svc.dll", pe);
  fs::create_directories(root / "Users/alice/AppData/Roaming");
  test::WriteFile(root / "Users/alice/AppData/Roaming/a.txt", "a");

  const Collected c = Collect(root, dir / "out");
  EXPECT_TRUE(HasFile(c, "C:\\Profiles\\dave\\AppData\\Roaming\\Upd\\winscard.dll"));
  EXPECT_TRUE(HasFile(c, "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\Temp\\svc.dll"));
  EXPECT_TRUE(HasFile(c, "C:\\Users\\alice\\AppData\\Roaming\\a.txt"));
  EXPECT_TRUE(c.members.contains("files/C/Profiles/dave/NTUSER.DAT"));
  const json* added = Event(c, "user_profile_added", "S-1-5-21-1-2-3-1002");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->value("path", ""), "C:\\Profiles\\dave");
  ASSERT_NE(Event(c, "user_profile_added", "S-1-5-18"), nullptr);
  const json* erin = Event(c, "user_profile_unreachable", "S-1-5-21-1-2-3-1003");
  ASSERT_NE(erin, nullptr);
  EXPECT_EQ(erin->value("level", ""), "warning");
  EXPECT_EQ(erin->value("path", ""), "D:\\Users\\erin");
  EXPECT_EQ(Event(c, "user_profile_added", "S-1-5-21-1-2-3-1001"), nullptr) << "alice is a Users folder already";

  // Without the hive: one info line naming the missing file, users from the listing.
  fs::remove(config / "SOFTWARE");
  const Collected bare = Collect(root, dir / "out2");
  const json* unread = Event(bare, "profile_list_unread", "");
  ASSERT_NE(unread, nullptr);
  EXPECT_EQ(unread->value("level", ""), "info");
  EXPECT_FALSE(HasFile(bare, "C:\\Profiles\\dave\\AppData\\Roaming\\Upd\\winscard.dll"));
  EXPECT_TRUE(HasFile(bare, "C:\\Users\\alice\\AppData\\Roaming\\a.txt"));
}

}  // namespace
}  // namespace trawl
