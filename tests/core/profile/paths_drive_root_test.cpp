// SPDX-License-Identifier: Apache-2.0
// The live-Windows case of core/profile/paths: the collector running on
// Windows uses the system drive's root ("C:/") as the expansion root, so a
// target path maps onto itself (C:\ProgramData\TPM -> C:/ProgramData/TPM)
// and users come from C:\Users\*. A tree served from memory stands in for the
// drive, so the test runs on Linux too.
#include <gtest/gtest.h>

#include <map>

#include "core/profile/paths.h"

namespace trawl::core::profile {
namespace {

class MemoryLister final : public DirectoryLister {
 public:
  void Dir(const std::string& path, std::vector<DirEntry> entries) { dirs_[path] = std::move(entries); }
  Result<std::vector<DirEntry>> List(const std::string& dir) override {
    listed_.push_back(dir);
    auto it = dirs_.find(dir);
    if (it == dirs_.end()) return Fail(ErrorCode::kNotFound, dir + ": no such directory");
    return it->second;
  }
  const std::vector<std::string>& listed() const { return listed_; }

 private:
  std::map<std::string, std::vector<DirEntry>> dirs_;
  std::vector<std::string> listed_;
};

DirEntry D(std::string name) { return {std::move(name), true, false, false}; }
DirEntry F(std::string name) { return {std::move(name), false, false, true}; }
DirEntry L(std::string name) { return {std::move(name), false, true, false}; }

MemoryLister LiveDrive() {
  MemoryLister l;
  l.Dir("C:/", {D("Users"), D("ProgramData"), D("Windows")});
  l.Dir("C:/Users", {D("alice"), D("Public"), D("Default"), L("All Users"), D("bob")});
  l.Dir("C:/ProgramData", {D("TPM")});
  l.Dir("C:/ProgramData/TPM", {F("TpmVscMgrSvr.exe"), F("winscard.dll"), F("msvcr100.dll")});
  return l;
}

TEST(PathsDriveRootTest, DriveRootIsKeptWithItsSeparator) {
  for (const std::string root : {"C:/", "C:\\", "C:"}) {
    MemoryLister l = LiveDrive();
    auto ctx = MakeExpansionContext(TargetOs::kWindows, root, l);
    ASSERT_TRUE(ctx) << root;
    // "C:" alone would name the current directory on C: under Windows.
    EXPECT_EQ(ctx->root, "C:/") << root;
  }
  MemoryLister l;
  auto unix_ctx = MakeExpansionContext(TargetOs::kLinux, "/mnt/image/", l);
  ASSERT_TRUE(unix_ctx);
  EXPECT_EQ(unix_ctx->root, "/mnt/image");
}

TEST(PathsDriveRootTest, TargetPathsMapOntoThemselvesOnTheLiveDrive) {
  MemoryLister l = LiveDrive();
  auto ctx = MakeExpansionContext(TargetOs::kWindows, "C:/", l);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(HostPathFor("C:\\ProgramData\\TPM", *ctx), "C:/ProgramData/TPM");
  EXPECT_EQ(HostPathFor("c:\\Windows\\System32\\winscard.dll", *ctx), "C:/Windows/System32/winscard.dll");
  EXPECT_EQ(HostPathFor("D:\\data\\x.dll", *ctx), "");  // another drive is not under this root
  EXPECT_EQ(HostPathFor("C:\\ProgramData\\..\\Windows", *ctx), "");
}

TEST(PathsDriveRootTest, UsersComeFromTheDrivesUsersFolder) {
  MemoryLister l = LiveDrive();
  auto ctx = MakeExpansionContext(TargetOs::kWindows, "C:\\", l);
  ASSERT_TRUE(ctx);
  ASSERT_EQ(ctx->users.size(), 2u);
  EXPECT_EQ(ctx->users[0].name, "alice");
  EXPECT_EQ(ctx->users[0].home, "C:\\Users\\alice");
  EXPECT_EQ(ctx->users[1].name, "bob");
  EXPECT_EQ(ctx->users[1].home, "C:\\Users\\bob");
  EXPECT_EQ(HostPathFor(ctx->users[1].home, *ctx), "C:/Users/bob");
}

TEST(PathsDriveRootTest, GlobsExpandToHostPathsOnTheLiveDrive) {
  MemoryLister l = LiveDrive();
  auto ctx = MakeExpansionContext(TargetOs::kWindows, "C:/", l);
  ASSERT_TRUE(ctx);
  auto e = ExpandGlob("%ProgramData%\\TPM\\*.dll", *ctx, l, GlobOptions{});
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(e->matches.size(), 2u);
  std::map<std::string, std::string> host_of;
  for (const auto& m : e->matches) host_of[m.target_path] = m.host_path;
  EXPECT_EQ(host_of["C:\\ProgramData\\TPM\\winscard.dll"], "C:/ProgramData/TPM/winscard.dll");
  EXPECT_EQ(host_of["C:\\ProgramData\\TPM\\msvcr100.dll"], "C:/ProgramData/TPM/msvcr100.dll");
  // Never "C:" (the current directory) or "C:\\/..." on the way.
  for (const std::string& dir : l.listed()) EXPECT_TRUE(dir.starts_with("C:/")) << dir;
}

}  // namespace
}  // namespace trawl::core::profile
