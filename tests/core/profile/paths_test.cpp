// SPDX-License-Identifier: Apache-2.0
#include "core/profile/paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/profile/store.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl::core::profile {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

void Touch(const fs::path& p, const std::string& content = "x") {
  fs::create_directories(p.parent_path());
  test::WriteFile(p, content);
}

std::vector<std::string> Targets(const Expansion& e) {
  std::vector<std::string> out;
  for (const PathMatch& m : e.matches) out.push_back(m.target_path);
  std::sort(out.begin(), out.end());
  return out;
}

// A Windows volume as a Linux mount shows it: mixed case on disk.
class WindowsTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path r = dir_.path();
    for (const char* user : {"alice", "bob"}) {
      const fs::path app = r / "Users" / user / "AppData/Local/Programs/3CXDesktopApp";
      Touch(app / "app/ffmpeg.dll");
      Touch(app / "app/d3dcompiler_47.dll");
      Touch(app / "app-18.12.416/ffmpeg.dll");
      Touch(app / "3CXDesktopApp.exe");
    }
    Touch(r / "Users/Public/Documents/readme.txt");
    Touch(r / "Users/Default/NTUSER.DAT");
    // The junction Windows keeps for old installers; where links cannot be
    // made (win64 build) the tree lacks it and link-specific tests skip.
    link_error_ = test::TryCreateSymlink("Default", r / "Users/Default User", true);
    Touch(r / "ProgramData/TPM/TpmVscMgrSvr.exe");
    Touch(r / "ProgramData/TPM/winscard.dll");
    Touch(r / "ProgramData/TPM/sub/deeper/msvcr100.dll");
    Touch(r / "ProgramData/TPM/cache/skip.tmp");
    Touch(r / "program files/Vendor/lower.exe");  // two folders differing in case only
    Touch(r / "Program Files/Vendor/upper.exe");
    Touch(r / "WINDOWS/system32/catroot2/edb.chk.log");
    Touch(r / "Windows/System32/kernel32.dll");
    auto ctx = MakeExpansionContext(TargetOs::kWindows, r.string(), lister_);
    ASSERT_TRUE(ctx.has_value());
    ctx_ = *ctx;
  }

  Expansion Expand(const std::string& pattern, GlobOptions options = {}) {
    auto e = ExpandGlob(pattern, ctx_, lister_, options);
    EXPECT_TRUE(e.has_value()) << pattern << ": " << (e ? "" : e.error().message);
    return e ? *e : Expansion{};
  }

  std::vector<std::string> UserNames() const {
    std::vector<std::string> names;
    for (const UserProfile& u : ctx_.users) names.push_back(u.name);
    return names;
  }

  test::TempDir dir_;
  FsDirectoryLister lister_;
  ExpansionContext ctx_;
  std::string link_error_;  // why Users/Default User could not be made; empty when it exists
};

TEST_F(WindowsTreeTest, UsersSkipPublicAndDefault) {
  ASSERT_EQ(UserNames(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(ctx_.users[0].home, "C:\\Users\\alice");
  // %PUBLIC% still maps to Users\Public.
  EXPECT_EQ(Targets(Expand("%PUBLIC%\\Documents\\*.txt")),
            std::vector<std::string>{"C:\\Users\\Public\\Documents\\readme.txt"});
}

// Profile folders that are links (junctions on a live volume) are not users,
// whatever their name: "Default User" is also skipped by name, so a link
// under a name no rule knows shows that links as such are skipped.
TEST_F(WindowsTreeTest, UsersSkipJunctions) {
  if (!link_error_.empty()) GTEST_SKIP() << "no links on this platform: " << link_error_;
  const fs::path users = dir_.path() / "Users";
  ASSERT_TRUE(fs::is_symlink(users / "Default User"));
  const std::string alias_error = test::TryCreateSymlink("alice", users / "carol", true);
  if (!alias_error.empty()) GTEST_SKIP() << "no links on this platform: " << alias_error;
  auto ctx = MakeExpansionContext(TargetOs::kWindows, dir_.path().string(), lister_);
  ASSERT_TRUE(ctx.has_value());
  ctx_ = *ctx;
  EXPECT_EQ(UserNames(), (std::vector<std::string>{"alice", "bob"}));
  // Nor are per-user patterns expanded through the link.
  EXPECT_EQ(Targets(Expand("%LOCALAPPDATA%\\Programs\\3CXDesktopApp\\*.exe")),
            (std::vector<std::string>{"C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\3CXDesktopApp.exe",
                                      "C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\3CXDesktopApp.exe"}));
}

TEST_F(WindowsTreeTest, PerUserVariablesExpandForEveryUser) {
  const Expansion e = Expand("%LOCALAPPDATA%\\Programs\\3CXDesktopApp\\app*\\ffmpeg.dll");
  EXPECT_EQ(Targets(e), (std::vector<std::string>{
                            "C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app-18.12.416\\ffmpeg.dll",
                            "C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll",
                            "C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\app-18.12.416\\ffmpeg.dll",
                            "C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll"}));
  for (const PathMatch& m : e.matches) {
    EXPECT_TRUE(m.is_regular);
    EXPECT_TRUE(fs::exists(m.host_path)) << m.host_path;
    EXPECT_TRUE(m.host_path.starts_with(dir_.path().string()));
  }
  EXPECT_EQ(e.matches[0].user, "alice");
}

TEST_F(WindowsTreeTest, CaseInsensitiveComponentsMatchAnyCase) {
  EXPECT_EQ(Targets(Expand("c:\\PROGRAMDATA\\tpm\\[W]INSC?RD.dll")),
            std::vector<std::string>{"C:\\ProgramData\\TPM\\winscard.dll"});
  EXPECT_EQ(Targets(Expand("%localappdata%\\PROGRAMS\\3cxdesktopapp\\APP\\FFmpeg.DLL")),
            (std::vector<std::string>{"C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll",
                                      "C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll"}));
}

// Folders differing in case only exist on a case-sensitive mount of the
// volume; a case-folding file system (Windows) makes them one.
TEST_F(WindowsTreeTest, CaseInsensitiveComponentsFindEveryCaseVariant) {
  int program_files = 0;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    program_files += EqualsIgnoreCaseAscii(e.path().filename().string(), "program files") ? 1 : 0;
  }
  if (program_files != 2) GTEST_SKIP() << "this file system folds case: no folders differing in case only";
  EXPECT_EQ(Targets(Expand("%ProgramFiles%\\vendor\\*.EXE")),
            (std::vector<std::string>{"C:\\Program Files\\Vendor\\upper.exe", "C:\\program files\\Vendor\\lower.exe"}));
  EXPECT_EQ(Targets(Expand("C:\\Windows\\system32\\catroot2\\edb.chk.log")),
            std::vector<std::string>{"C:\\WINDOWS\\system32\\catroot2\\edb.chk.log"});
  EXPECT_EQ(Targets(Expand("%SystemRoot%\\System32\\[k]ernel3?.dll")),
            std::vector<std::string>{"C:\\Windows\\System32\\kernel32.dll"});
}

TEST_F(WindowsTreeTest, DoubleStarHonoursDepthAndExclusions) {
  GlobOptions options;
  options.max_depth = 8;
  auto all = Targets(Expand("C:\\ProgramData\\TPM\\**", options));
  EXPECT_THAT(all, Contains("C:\\ProgramData\\TPM\\sub\\deeper\\msvcr100.dll"));
  EXPECT_THAT(all, Contains("C:\\ProgramData\\TPM\\winscard.dll"));

  options.max_depth = 2;
  Expansion shallow = Expand("C:\\ProgramData\\TPM\\**", options);
  EXPECT_THAT(Targets(shallow), Contains("C:\\ProgramData\\TPM\\sub\\deeper"));
  EXPECT_THAT(Targets(shallow), Not(Contains("C:\\ProgramData\\TPM\\sub\\deeper\\msvcr100.dll")));
  EXPECT_TRUE(shallow.depth_limited);

  options.max_depth = 8;
  options.exclude = {"cache", "%ProgramData%\\TPM\\sub\\**"};
  auto excluded = Targets(Expand("%ProgramData%\\TPM\\**\\*", options));
  EXPECT_THAT(excluded, Contains("C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe"));
  for (const std::string& t : excluded) {
    EXPECT_THAT(t, Not(HasSubstr("cache")));
    EXPECT_THAT(t, Not(HasSubstr("deeper")));
  }
}

TEST_F(WindowsTreeTest, MaxMatchesTruncates) {
  GlobOptions options;
  options.max_matches = 2;
  Expansion e = Expand("%LOCALAPPDATA%\\**", options);
  EXPECT_EQ(e.matches.size(), 2u);
  EXPECT_TRUE(e.truncated);
}

TEST_F(WindowsTreeTest, OtherDrivesAndUnixPatternsDoNotApply) {
  Expansion d = Expand("D:\\tt\\**");
  EXPECT_TRUE(d.matches.empty());
  ASSERT_EQ(d.issues.size(), 1u);
  EXPECT_THAT(d.issues[0].message, HasSubstr("not the mapped system drive"));
  EXPECT_TRUE(Expand("/etc/passwd").matches.empty());
}

TEST_F(WindowsTreeTest, WalkBelowListsAnInstallRoot) {
  Expansion roots = Expand("%LOCALAPPDATA%\\Programs\\3CXDesktopApp");
  ASSERT_EQ(roots.matches.size(), 2u);
  GlobOptions options;
  options.max_depth = 4;
  auto below = WalkBelow(roots.matches[0], ctx_, lister_, options);
  ASSERT_TRUE(below.has_value());
  EXPECT_THAT(Targets(*below),
              Contains("C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\d3dcompiler_47.dll"));
  EXPECT_EQ(below->matches.size(), 6u);  // app, app-18.12.416, exe, 3 dlls
}

TEST(PathsTest, SymlinksAreReportedButNeverFollowed) {
  test::TempDir dir;
  const fs::path r = dir.path() / "root";
  Touch(r / "data/real.txt");
  Touch(dir.path() / "outside/secret.txt");
  for (const std::string& why :
       {test::TryCreateSymlink("..", r / "data/loop", true),                   // loop
        test::TryCreateSymlink(dir.path() / "outside", r / "data/out", true),  // escapes the root
        test::TryCreateSymlink("/etc/passwd", r / "data/passwd", false)}) {
    if (!why.empty()) GTEST_SKIP() << "no links on this platform: " << why;
  }
  FsDirectoryLister lister;
  auto ctx = MakeExpansionContext(TargetOs::kLinux, r.string(), lister);
  ASSERT_TRUE(ctx.has_value());
  GlobOptions options;
  options.max_depth = 64;
  auto e = ExpandGlob("/data/**", *ctx, lister, options);
  ASSERT_TRUE(e.has_value());
  std::vector<std::string> t = Targets(*e);
  EXPECT_EQ(t, (std::vector<std::string>{"/data", "/data/loop", "/data/out", "/data/passwd", "/data/real.txt"}));
  for (const PathMatch& m : e->matches) {
    EXPECT_TRUE(m.host_path.starts_with(r.string())) << m.host_path;
    if (m.target_path != "/data" && m.target_path != "/data/real.txt") {
      EXPECT_TRUE(m.is_symlink) << m.target_path;
      EXPECT_FALSE(m.is_dir);
    }
  }
  // Through a link component nothing is found either.
  auto through = ExpandGlob("/data/out/*", *ctx, lister, options);
  ASSERT_TRUE(through.has_value());
  EXPECT_TRUE(through->matches.empty());
  EXPECT_FALSE(e->depth_limited);
}

TEST(PathsTest, TildeExpandsToHomesFromFakePasswd) {
  test::TempDir dir;
  const fs::path r = dir.path();
  Touch(r / "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "carol:x:1000:1000:Carol:/home/carol:/bin/bash\n"
        "svc:x:1001:1001::/srv/svc:/bin/sh\n"
        "ghost:x:1002:1002::/home/ghost:/bin/sh\n"  // home missing: not a user
        "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
        "broken line without fields\n"
        "evil:x:1003:1003::/../../etc:/bin/sh\n");
  Touch(r / "root/.mt5/drive_c/terminal64.exe");
  Touch(r / "home/carol/.mt5/drive_c/terminal64.exe");
  Touch(r / "home/dave/.mt5/drive_c/terminal64.exe");  // only in /home
  Touch(r / "srv/svc/.mt5/drive_c/terminal64.exe");
  Touch(r / "usr/sbin/.mt5/drive_c/terminal64.exe");  // daemon's home: not a user
  FsDirectoryLister lister;
  auto ctx = MakeExpansionContext(TargetOs::kLinux, r.string(), lister);
  ASSERT_TRUE(ctx.has_value());
  std::vector<std::string> homes;
  for (const UserProfile& u : ctx->users) homes.push_back(u.home);
  EXPECT_EQ(homes, (std::vector<std::string>{"/root", "/home/carol", "/srv/svc", "/home/dave"}));
  auto e = ExpandGlob("~/.mt5/**/*.exe", *ctx, lister, GlobOptions{});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(Targets(*e), (std::vector<std::string>{
                             "/home/carol/.mt5/drive_c/terminal64.exe", "/home/dave/.mt5/drive_c/terminal64.exe",
                             "/root/.mt5/drive_c/terminal64.exe", "/srv/svc/.mt5/drive_c/terminal64.exe"}));
  EXPECT_EQ(DetectTargetOs(r.string(), lister), TargetOs::kLinux);
}

TEST(PathsTest, VariablesAndPatternChecks) {
  ExpansionContext ctx;
  ctx.os = TargetOs::kWindows;
  ctx.users = {{"alice", "C:\\Users\\alice"}};
  ctx.env["programfiles(x86)"] = "C:\\PF86";
  auto v = ExpandVariables("%programfiles(X86)%\\a;%APPDATA%\\b", ctx);
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ((*v)[0].pattern, "C:\\PF86\\a;C:\\Users\\alice\\AppData\\Roaming\\b");
  EXPECT_FALSE(CheckPattern("%NOPE%\\x").has_value());
  EXPECT_THAT(CheckPattern("%NOPE%\\x").error().message, HasSubstr("unknown variable '%NOPE%'"));
  EXPECT_FALSE(CheckPattern("C:\\a[bc\\x").has_value());
  EXPECT_FALSE(CheckPattern("C:\\a**\\x").has_value());
  EXPECT_FALSE(CheckPattern("").has_value());
  EXPECT_FALSE(CheckPattern("relative\\x").has_value());
  EXPECT_FALSE(CheckPattern("/a/../b").has_value());
  EXPECT_FALSE(CheckPattern("~bob/x").has_value());
  EXPECT_TRUE(CheckPattern("C:\\tt\\**\\*.dll").has_value());
  EXPECT_EQ(HostPathFor("C:\\Windows\\x", ExpansionContext{TargetOs::kWindows, "/mnt/c", {}, {}, {}}),
            "/mnt/c/Windows/x");
  EXPECT_EQ(HostPathFor("/etc/../x", ExpansionContext{}), "");
}

TEST(GlobTest, ComponentMatching) {
  EXPECT_TRUE(MatchComponent("*.dll", "FFMPEG.DLL", true));
  EXPECT_FALSE(MatchComponent("*.dll", "FFMPEG.DLL", false));
  EXPECT_TRUE(MatchComponent("app*", "app-18.12.416", false));
  EXPECT_TRUE(MatchComponent("a?c",
                             "a\xc3\xa9"
                             "c",
                             false));  // ? is one code point
  EXPECT_TRUE(MatchComponent("[!x]*", "abc", false));
  EXPECT_FALSE(MatchComponent("[!a]*", "abc", false));
  EXPECT_TRUE(MatchComponent("[]]", "]", false));
  EXPECT_TRUE(MatchComponent("[A-Z]x", "qx", true));
  EXPECT_TRUE(MatchComponent("*a*a*a*a*a*b", std::string(40, 'a') + "b", false));
  EXPECT_FALSE(MatchComponent("*a*a*a*a*a*b", std::string(4000, 'a'), false));
  EXPECT_TRUE(MatchPathComponents({"C:", "**", "cache", "**"}, {"c:", "x", "Cache", "y"}, true));
  EXPECT_FALSE(MatchPathComponents({"a", "**", "b"}, {"a", "c"}, false));
}

TEST(PathsTest, ExplainShowsExpandedPathsWithoutCollecting) {
  test::TempDir dir;
  Touch(dir.path() / "Users/alice/AppData/Local/Programs/3CXDesktopApp/app/ffmpeg.dll");
  Touch(dir.path() / "ProgramData/TPM/winscard.dll");
  Touch(dir.path() / "Windows/Prefetch/3CXDESKTOPAPP.EXE-12345678.pf");
  auto ctx = MakeExpansionContext(TargetOs::kWindows, dir.path().string());
  ASSERT_TRUE(ctx.has_value());
  auto profile = LoadProfile("supply-chain-3cx-xtrader");
  ASSERT_TRUE(profile.has_value());
  const std::string text = ExplainProfile(*profile, *ctx);
  EXPECT_THAT(text, HasSubstr("sha256 " + profile->sha256));
  EXPECT_THAT(text, HasSubstr("-> C:\\ProgramData\\TPM\\winscard.dll"));
  EXPECT_THAT(text, HasSubstr("-> C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll"));
  EXPECT_THAT(text, HasSubstr("-> C:\\Windows\\Prefetch\\3CXDESKTOPAPP.EXE-12345678.pf"));
  EXPECT_THAT(text, HasSubstr("macos.supply_chain.3cx_iocs"));
  EXPECT_THAT(text, HasSubstr("skipped: not for windows"));
  // Run order: processes first.
  EXPECT_LT(text.find("common.live.processes"), text.find("windows.execution.prefetch"));
}

}  // namespace
}  // namespace trawl::core::profile
