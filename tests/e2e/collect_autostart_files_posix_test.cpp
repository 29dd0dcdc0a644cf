// SPDX-License-Identifier: Apache-2.0
// Kind autostart_files end to end, `trawl-collect --root` over a Windows
// tree with a real SYSTEM hive (regipy's, ~500 services and drivers in two
// ControlSets), a SOFTWARE hive made with Debian's hivexsh (Run values, a
// rundll32 loader, Winlogon Shell with two programs, AppInit_DLLs) and a
// task XML. The files the autostarts name are found on the volume whatever
// their case, hashed and PE-analysed under the artifact's name; the ones
// that are named but absent are logged; each file is read once however many
// services name it.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/disk_images.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kArtifact = "windows.persistence.autostart_files";

std::string SoftwareScript() {
  std::string s = "cd \\SAM\ndel\ncd \\\nadd Microsoft\ncd \\Microsoft\nadd Windows\nadd Windows NT\n";
  s += "cd \\Microsoft\\Windows\nadd CurrentVersion\ncd \\Microsoft\\Windows\\CurrentVersion\nadd Run\n";
  s += "cd \\Microsoft\\Windows NT\nadd CurrentVersion\ncd \\Microsoft\\Windows NT\\CurrentVersion\nadd Winlogon\n"
       "add Windows\n";
  s += "cd \\Microsoft\\Windows\\CurrentVersion\\Run\nsetval 3\n"
       "Updater\nstring:\"C:\\ProgramData\\Updater\\u.exe\" /q\n"
       "Loader\nstring:rundll32.exe \"C:\\Users\\Public\\x.dll\",Start\n"
       "Gone\nstring:C:\\ProgramData\\Deleted\\gone.exe\n";
  s += "cd \\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\nsetval 1\n"
       "Shell\nstring:explorer.exe, C:\\Users\\Public\\evil.exe\n";
  s += "cd \\Microsoft\\Windows NT\\CurrentVersion\\Windows\nsetval 1\n"
       "AppInit_DLLs\nstring:C:\\ProgramData\\inject.dll\n";
  return s + "commit\n";
}

constexpr std::string_view kTaskXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Author>mallory</Author><URI>\Evil</URI></RegistrationInfo>
  <Actions Context="Author">
    <Exec><Command>C:\ProgramData\Task Dir\t.exe</Command><Arguments>-x</Arguments></Exec>
  </Actions>
</Task>
)";

struct Collected {
  std::vector<json> files, log;
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
  if (archive.empty()) return c;
  auto report = core::archive::WalkArchive(
      archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
        if (!m.name.starts_with("records/files.") && m.name != "log.jsonl") return {};
        auto text = s.ReadAll(256u << 20);
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

TEST(CollectAutostartFiles, ServicesAutorunsAndTasksBringTheirFiles) {
  if (!test::HaveTool("hivexsh")) GTEST_SKIP() << "hivexsh (Debian libhivex-bin) is not installed";
  const fs::path registry = test::SharedTestdata() / "registry/regipy";
  if (!test::CanUnpackXz() || !fs::exists(registry / "SAM.xz")) GTEST_SKIP() << "regipy hives missing or no xz";
  test::TempDir dir;
  const fs::path root = dir / "volume";
  const fs::path config = root / "Windows/System32/config";
  fs::create_directories(config);
  fs::copy_file(test::UnpackedImage(registry / "SYSTEM.xz"), config / "SYSTEM");
  fs::copy_file(test::UnpackedImage(registry / "SAM.xz"), config / "SOFTWARE");
  test::WriteFile(dir / "script", SoftwareScript());
  const auto hx = test::RunCommand({"hivexsh", "-w", "-f", (dir / "script").string(), (config / "SOFTWARE").string()});
  ASSERT_EQ(hx.exit_code, 0) << hx.out << hx.err;
  fs::create_directories(root / "Windows/System32/Tasks");
  test::WriteFile(root / "Windows/System32/Tasks/Evil", std::string(kTaskXml));

  const std::string pe = test::ReadFile(test::SharedTestdata() / "pe/plaso/wrc-test-wevt_template.dll");
  const std::string sha = core::Sha256Hex(core::AsBytes(pe));
  // What the hives and the task name, as a volume spells them (any case).
  for (const char* rel :
       {"Windows/System32/drivers/acpi.sys",  // ACPI: system32\drivers\ACPI.sys
        "Windows/System32/SVCHOST.EXE",       // ~100 services: %SystemRoot%\system32\svchost.exe -k
        "Windows/System32/dhcpcore.dll",      // Dhcp's ServiceDll
        "Windows/System32/rundll32.exe", "Windows/explorer.exe", "ProgramData/Updater/u.exe", "Users/Public/x.dll",
        "Users/Public/evil.exe", "ProgramData/inject.dll", "ProgramData/Task Dir/t.exe"}) {
    fs::create_directories((root / rel).parent_path());
    test::WriteFile(root / rel, pe);
  }
  fs::create_directories(root / "Users/alice");

  const Collected c = Collect(root, dir / "out");
  std::map<std::string, int> seen;  // path -> records of this artifact
  for (const json& f : c.files) {
    if (f.value("artifact", "") != kArtifact) continue;
    ++seen[f.value("path", "")];
    EXPECT_EQ(f.value("sha256", ""), sha) << f.dump();
    EXPECT_EQ(f.value("is_pe", false), true) << f.dump();
  }
  for (const char* path :
       {"C:\\Windows\\System32\\drivers\\acpi.sys", "C:\\Windows\\System32\\SVCHOST.EXE",
        "C:\\Windows\\System32\\dhcpcore.dll", "C:\\Windows\\System32\\rundll32.exe", "C:\\Windows\\explorer.exe",
        "C:\\ProgramData\\Updater\\u.exe", "C:\\Users\\Public\\x.dll", "C:\\Users\\Public\\evil.exe",
        "C:\\ProgramData\\inject.dll", "C:\\ProgramData\\Task Dir\\t.exe"}) {
    EXPECT_EQ(seen[path], 1) << path;
  }
  EXPECT_EQ(seen.size(), 10u);

  std::size_t missing = 0;
  bool gone_logged = false;
  json done;
  for (const json& e : c.log) {
    if (e.value("event", "") == "autostart_target_missing") {
      ++missing;
      if (e.value("path", "") == "c:\\programdata\\deleted\\gone.exe") {
        gone_logged = true;
        EXPECT_EQ(e.value("via", ""), "autorun");
      }
    }
    if (e.value("event", "") == "artifact_done" && e.value("artifact", "") == kArtifact) done = e;
  }
  EXPECT_TRUE(gone_logged);
  EXPECT_GT(missing, 100u) << "most drivers of the real hive are not in this small tree";
  ASSERT_FALSE(done.is_null());
  EXPECT_GT(done.value("services", 0), 400);
  EXPECT_EQ(done.value("task_actions", 0), 1);
  EXPECT_EQ(done.value("files", 0), 10);
  EXPECT_EQ(done.value("found", 0) + done.value("missing", 0), done.value("distinct_targets", 0));
}

}  // namespace
}  // namespace trawl
