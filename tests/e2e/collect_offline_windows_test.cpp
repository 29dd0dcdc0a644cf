// SPDX-License-Identifier: Apache-2.0
// `trawl-collect --root DIR --target-os windows` over a Windows-like tree made
// of real files: prefetch from the shared test data, real PE files, user
// profiles with mixed-case folder names. The archive must carry the raw
// prefetch copies (which parse to the same result as the originals), the
// install-directory records with hashes and PE facts, and the System32 DLL
// name listing the side-loading rule compares against.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/formats/prefetch.h"
#include "core/formats/prefetch_json.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

using nlohmann::json;

TEST(CollectOfflineWindowsTest, MountedVolumeYieldsPrefetchInstallDirsAndSystemListing) {
  test::TempDir dir;
  const auto root = dir / "volume";
  const auto shared = test::SharedTestdata();
  // Prefetch: a Windows 10 compressed file and an XP one, copied raw.
  const auto pf10 = shared / "prefetch/ericzimmerman-prefetch/Win10/CALC.EXE-3FBEF7FD.pf";
  const auto pfxp = shared / "prefetch/ericzimmerman-prefetch/XPPro/NOTEPAD.EXE-336351A9.pf";
  ASSERT_TRUE(std::filesystem::exists(pf10)) << pf10;
  std::filesystem::create_directories(root / "Windows/Prefetch");
  std::filesystem::copy_file(pf10, root / "Windows/Prefetch/CALC.EXE-3FBEF7FD.pf");
  std::filesystem::copy_file(pfxp, root / "Windows/Prefetch/NOTEPAD.EXE-336351A9.pf");
  // System32 names (contents do not matter for the listing).
  for (const char* n : {"kernel32.dll", "winscard.dll", "msvcr100.dll", "ffmpeg_not_here.txt"}) {
    test::WriteFile(root / "Windows/System32" / n, "x");
  }
  // A 3CX-like per-user install with a real DLL, under a lower-case "appdata".
  const auto dll = shared / "pe/plaso/wrc-test-wevt_template.dll";
  const auto app = root / "Users/alice/appdata/Local/Programs/3CXDesktopApp";
  std::filesystem::create_directories(app / "app");
  std::filesystem::copy_file(dll, app / "app/ffmpeg.dll");
  test::WriteFile(app / "app/readme.txt", "not a PE");
  // A real signed PE with a version resource (PowerShell 7's pwsh.exe, whose
  // OriginalFilename is pwsh.dll): what python3-pefile reads from it.
  const auto pwsh = shared / "pe/saferwall-pe/pwsh.exe";
  const bool have_pwsh = std::filesystem::exists(pwsh);
  if (have_pwsh) std::filesystem::copy_file(pwsh, app / "app/pwsh.exe");
  std::filesystem::create_directories(root / "Users/Public");

  auto id = core::age::GenerateX25519Identity().value();
  auto r = test::RunCommand({(test::BinDir() / "trawl-collect").string(), "--root", root.string(), "--target-os",
                             "windows", "--profile", "default", "--recipient", id.ToRecipient().Encode(), "--output",
                             (dir / "out").string(), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::filesystem::path archive;
  for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
    if (e.path().string().ends_with(".zip.age")) archive = e.path();
  }
  ASSERT_FALSE(archive.empty());

  std::map<std::string, std::string> members;
  std::vector<json> files, dir_entries;
  auto report = core::archive::WalkArchive(
      archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
        auto text = s.ReadAll(64u << 20);
        if (!text) return std::unexpected(text.error());
        members[m.name] = *text;
        auto parse_lines = [&](std::vector<json>& out) {
          std::size_t start = 0;
          while (start < text->size()) {
            std::size_t end = text->find('\n', start);
            if (end == std::string::npos) end = text->size();
            if (end > start) out.push_back(json::parse(text->substr(start, end - start)));
            start = end + 1;
          }
        };
        if (m.name.starts_with("records/files.")) parse_lines(files);
        if (m.name.starts_with("records/dir_entries.")) parse_lines(dir_entries);
        return {};
      });
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->ok);
  ASSERT_TRUE(report->manifest);
  EXPECT_EQ(report->manifest->host.live, false);
  EXPECT_EQ(report->manifest->target_os, "windows");

  // Prefetch copied raw under a readable path; the copy parses like the original.
  const std::string pf_member = "files/C/Windows/Prefetch/CALC.EXE-3FBEF7FD.pf";
  ASSERT_TRUE(members.contains(pf_member));
  const std::string original = test::ReadFile(pf10);
  EXPECT_EQ(members[pf_member], original);
  auto parsed = core::formats::ParsePrefetch(core::AsBytes(members[pf_member]));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->executable, "CALC.EXE");
  EXPECT_TRUE(members.contains("files/C/Windows/Prefetch/NOTEPAD.EXE-336351A9.pf"));

  // Install-directory records: target paths, hashes, PE facts.
  bool dll_seen = false, txt_seen = false, pwsh_seen = false;
  for (const auto& f : files) {
    const std::string path = f.value("path", "");
    if (path == "C:\\Users\\alice\\appdata\\Local\\Programs\\3CXDesktopApp\\app\\ffmpeg.dll") {
      dll_seen = true;
      EXPECT_EQ(f["sha256"], core::Sha256Hex(core::AsBytes(test::ReadFile(dll))));
      EXPECT_EQ(f["is_pe"], true);
      EXPECT_EQ(f["pe_is_dll"], true);
      EXPECT_EQ(f["pe_machine"], "I386");
      EXPECT_EQ(f["product"], "3cx-desktopapp");
      EXPECT_FALSE(f.value("copied_as", "").empty()) << "executables in install dirs are copied";
    }
    if (path.ends_with("\\app\\pwsh.exe")) {
      pwsh_seen = true;
      EXPECT_EQ(f.value("pe_original_filename", ""), "pwsh.dll");
      EXPECT_EQ(f.value("pe_product", ""), "PowerShell");
      EXPECT_EQ(f.value("pe_company", ""), "Microsoft Corporation");
      EXPECT_EQ(f.value("pe_description", ""), "pwsh");
      EXPECT_EQ(f.value("pe_file_version", ""), "7.3.4.500");
      EXPECT_EQ(f.value("pe_signed", false), true);
    }
    if (path.ends_with("\\app\\readme.txt")) {
      txt_seen = true;
      EXPECT_EQ(f["is_pe"], false);
    }
  }
  EXPECT_TRUE(dll_seen) << "no record for the 3CX ffmpeg.dll";
  EXPECT_TRUE(txt_seen);
  EXPECT_EQ(pwsh_seen, have_pwsh);

  // System32 listing: DLL names only.
  std::set<std::string> names;
  for (const auto& e : dir_entries) {
    if (e.value("dir", "") == "C:\\Windows\\System32") names.insert(e.value("name", ""));
  }
  EXPECT_TRUE(names.contains("winscard.dll"));
  EXPECT_TRUE(names.contains("msvcr100.dll"));
  EXPECT_FALSE(names.contains("ffmpeg_not_here.txt"));
}

}  // namespace
}  // namespace trawl
