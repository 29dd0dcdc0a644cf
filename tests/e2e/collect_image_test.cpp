// SPDX-License-Identifier: Apache-2.0
// `trawl-collect --image` over NTFS images made here (tests/data/ntfs): the
// default and supply-chain profiles run without mounting; every file record
// says access "raw"; content hashes equal The Sleuth Kit's icat of the same
// file; the user-profile junction loop is reported, never entered; locked
// hives, Amcache and event logs of the image are copied; partition choice
// and bad arguments give clear errors; triage loads the result.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/disk_images.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

using nlohmann::json;

struct Collected {
  int exit_code = -1;
  std::string out, err;
  std::vector<json> files, mft;
  std::map<std::string, std::string> members;
  std::optional<core::archive::Manifest> manifest;
  std::filesystem::path archive;
};

Collected Collect(const test::TempDir& dir, const std::vector<std::string>& args, const core::age::X25519Identity& id) {
  Collected c;
  std::vector<std::string> argv{(test::BinDir() / "trawl-collect").string(),
                                "--recipient",
                                id.ToRecipient().Encode(),
                                "--output",
                                (dir / "out").string(),
                                "--quiet"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::RunCommand(argv);
  c.exit_code = r.exit_code;
  c.out = r.out;
  c.err = r.err;
  if (!std::filesystem::exists(dir / "out")) return c;
  for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
    if (e.path().string().ends_with(".zip.age")) c.archive = e.path();
  }
  if (c.archive.empty()) return c;
  auto report = core::archive::WalkArchive(
      c.archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
        auto text = s.ReadAll(256u << 20);
        if (!text) return std::unexpected(text.error());
        c.members[m.name] = *text;
        const bool files = m.name.starts_with("records/files."), mft = m.name.starts_with("records/mft.");
        if (files || mft) {
          std::size_t start = 0;
          while (start < text->size()) {
            std::size_t end = text->find('\n', start);
            if (end == std::string::npos) end = text->size();
            if (end > start) (files ? c.files : c.mft).push_back(json::parse(text->substr(start, end - start)));
            start = end + 1;
          }
        }
        return {};
      });
  EXPECT_TRUE(report) << report.error().ToString();
  if (report) {
    EXPECT_TRUE(report->ok);
    c.manifest = report->manifest;
  }
  return c;
}

// The record of `path`; of several (artifacts overlap: the writable-location
// sweep lists what a supply-chain artifact copies), the one that copied it.
const json* FindFile(const Collected& c, const std::string& path) {
  const json* found = nullptr;
  for (const auto& f : c.files) {
    if (f.value("path", "") != path) continue;
    if (!f.value("copied_as", "").empty()) return &f;
    if (found == nullptr) found = &f;
  }
  return found;
}

TEST(CollectImageTest, SupplyChainProfileOnABareVolumeReadsEverythingRaw) {
  if (!test::HaveTool("icat") || !test::HaveTool("ifind")) GTEST_SKIP() << "The Sleuth Kit is not installed";
  const auto image = test::UnpackedImage(test::SourceDir() / "tests/data/ntfs/features.img.gz");
  ASSERT_FALSE(image.empty());
  test::TempDir dir;
  auto id = core::age::GenerateX25519Identity().value();
  const Collected c = Collect(dir, {"--image", image.string(), "--profile", "supply-chain-3cx-xtrader"}, id);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  ASSERT_TRUE(c.manifest);
  EXPECT_FALSE(c.manifest->host.live);
  EXPECT_EQ(c.manifest->target_os, "windows") << "detected from Windows\\System32 in the image";
  EXPECT_TRUE(c.manifest->host.root.starts_with("image:")) << c.manifest->host.root;
  EXPECT_NE(c.manifest->host.root.find("bare NTFS volume"), std::string::npos) << c.manifest->host.root;

  // The X_TRADER-style plant, hashed as TSK reads it and copied.
  for (const char* name : {"TpmVscMgrSvr.exe", "winscard.dll", "msvcr100.dll"}) {
    const json* f = FindFile(c, std::string("C:\\ProgramData\\TPM\\") + name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->value("status", ""), "ok") << f->dump();
    EXPECT_EQ(f->value("access", ""), "raw");
    EXPECT_EQ(f->value("sha256", ""), test::TskSha256(image, std::string("/ProgramData/TPM/") + name)) << name;
    EXPECT_FALSE(f->value("copied_as", "").empty()) << name;
  }
  // Hives (with their logs) and user hives, copied; SAM never.
  for (const char* path : {"C:\\Windows\\System32\\config\\SYSTEM", "C:\\Windows\\System32\\config\\SYSTEM.LOG1",
                           "C:\\Users\\alice\\NTUSER.DAT"}) {
    const json* f = FindFile(c, path);
    ASSERT_NE(f, nullptr) << path;
    EXPECT_EQ(f->value("status", ""), "ok") << f->dump();
    EXPECT_FALSE(f->value("copied_as", "").empty()) << path;
  }
  for (const auto& f : c.files) {
    const std::string p = f.value("path", "");
    EXPECT_EQ(p.find("\\SAM"), std::string::npos) << "a secrets hive was collected: " << p;
    EXPECT_EQ(p.find("Application Data\\"), std::string::npos) << "the junction loop was entered: " << p;
  }
  const json* sys = FindFile(c, "C:\\Windows\\System32\\config\\SYSTEM");
  ASSERT_NE(sys, nullptr);
  const std::string copy = "files/C/Windows/System32/config/SYSTEM";
  ASSERT_TRUE(c.members.contains(copy)) << sys->dump();
  EXPECT_EQ(core::Sha256Hex(core::AsBytes(c.members.at(copy))),
            test::TskSha256(image, "/Windows/System32/config/SYSTEM"));
  // Manifest entries of copies read raw say so (the manifest as decrypted by triage).
  const auto key = dir / "key.txt";
  test::WriteFile(key, id.Encode() + "\n");
  auto dec = test::RunCommand({(test::BinDir() / "trawl-triage").string(), "decrypt", "-i", key.string(), "-o",
                               (dir / "plain").string(), c.archive.string()});
  ASSERT_EQ(dec.exit_code, 0) << dec.out << dec.err;
  const json manifest = json::parse(test::ReadFile(dir / "plain/manifest.json"));
  bool raw_entry = false;
  for (const auto& e : manifest.at("entries")) {
    if (e.value("source_path", "") == "C:\\Windows\\System32\\config\\SYSTEM")
      raw_entry = e.value("access", "") == "raw";
  }
  EXPECT_TRUE(raw_entry) << "the manifest entry of the SYSTEM copy says access raw";

  // The MFT as records: every name TSK lists is there, with the special cases.
  std::map<std::string, json> by_path;
  std::map<std::uint64_t, json> by_entry;
  for (const auto& m : c.mft) {
    by_path[m.value("path", "")] = m;
    by_entry[m.value("entry", 0ULL)] = m;
  }
  EXPECT_GT(c.mft.size(), 700u);
  ASSERT_TRUE(by_path.contains("C:\\readme.txt"));
  EXPECT_EQ(by_path["C:\\readme.txt"].value("ads_pe", ""), "payload.exe");
  ASSERT_TRUE(by_path.contains("C:\\Users\\alice\\AppData\\Local\\Application Data"));
  EXPECT_EQ(by_path["C:\\Users\\alice\\AppData\\Local\\Application Data"].value("reparse_kind", ""), "junction");
  ASSERT_TRUE(by_path.contains("C:\\deleted.exe"));
  EXPECT_FALSE(by_path["C:\\deleted.exe"].value("in_use", true));
  ASSERT_TRUE(by_path.contains("C:\\Windows\\System32\\timestomped.dll"));
  EXPECT_EQ(by_path["C:\\Windows\\System32\\timestomped.dll"].value("si_created", ""),
            "2020-03-14T15:09:26.000000000Z");

  // Against The Sleuth Kit: every allocated path it lists is an in-use MFT
  // record with the same entry number; every deleted name it still shows
  // under a live parent is a record not in use.
  auto oracle = test::RunCommand(
      {"/usr/bin/python3", (test::SourceDir() / "tests/fixtures/ntfs/tsk_oracle.py").string(), image.string()});
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;
  std::size_t live = 0, gone = 0;
  std::istringstream lines(oracle.out);
  for (std::string line; std::getline(lines, line);) {
    const json o = json::parse(line);
    std::string path = o.value("path", "");
    if (o.value("virtual", false) || path.starts_with("/$OrphanFiles") || o.value("realloc", false)) continue;
    const bool deleted = o.value("deleted", false), allocated = o.value("allocated", false);
    if (!deleted && !allocated) continue;  // a stale index entry (TSK quirk)
    for (auto& ch : path) ch = ch == '/' ? '\\' : ch;
    const auto it = by_entry.find(o.value("inode", 0ULL));
    ASSERT_NE(it, by_entry.end()) << "no mft record for " << path;
    EXPECT_EQ(it->second.value("in_use", !allocated), allocated) << path;
    // A hard link's other names are TSK paths of the same entry; the record has one.
    if (it->second.value("links", 0) <= 1) EXPECT_EQ(it->second.value("path", ""), "C:" + path);
    ++(deleted ? gone : live);
  }
  EXPECT_GT(live, 600u);
  EXPECT_GT(gone, 50u);

  // Triage loads the archive.
  auto load = test::RunCommand({(test::BinDir() / "trawl-triage").string(), "analyze", "-i", key.string(), "--case",
                                (dir / "case.db").string(), c.archive.string()});
  EXPECT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_NE(load.out.find("ingested "), std::string::npos) << load.out << load.err;
  auto q =
      test::RunCommand({(test::BinDir() / "trawl-triage").string(), "query", "--case", (dir / "case.db").string(),
                        "--format", "tsv", "SELECT rule_id, entity_key FROM findings WHERE rule_id LIKE 'ntfs.%'"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  // (TSV shows the path as it is; ntfs-3g's touch set both sets of times of
  // timestomped.dll, so the timestomp rules are exercised by builtin_rules_test.)
  EXPECT_NE(q.out.find("ntfs.executable_in_ads\tC:\\readme.txt\n"), std::string::npos) << q.out;
}

TEST(CollectImageTest, JunctionLoopIsReportedNotEntered) {
  const auto image = test::UnpackedImage(test::SourceDir() / "tests/data/ntfs/features.img.gz");
  ASSERT_FALSE(image.empty());
  test::TempDir dir;
  test::WriteFile(dir / "profiles/artifacts/windows/test/appdata.yaml",
                  "name: windows.test.appdata\n"
                  "description: every file under every user's AppData\n"
                  "rationale: a walk through the junction loop of a user profile\n"
                  "references: [{title: 'image tests', source: 'tests/e2e/collect_image_test.cpp'}]\n"
                  "kind: files\n"
                  "platforms: [windows]\n"
                  "parameters:\n"
                  "  paths: ['%USERPROFILE%\\AppData\\**']\n"
                  "  max_depth: 20\n");
  test::WriteFile(dir / "profiles/walk.yaml",
                  "name: walk\ndescription: AppData walk\nartifacts:\n  - windows.test.appdata\n");
  auto id = core::age::GenerateX25519Identity().value();
  const Collected c = Collect(dir, {"--image", image.string(), "--profile", (dir / "profiles/walk.yaml").string()}, id);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  bool junction = false, inside = false;
  for (const auto& f : c.files) {
    const std::string p = f.value("path", "");
    if (p == "C:\\Users\\alice\\AppData\\Local\\Application Data") {
      junction = true;
      EXPECT_EQ(f.value("type", ""), "symlink") << f.dump();
    }
    if (p.find("Application Data\\") != std::string::npos) inside = true;
  }
  EXPECT_TRUE(junction) << "the junction itself is recorded";
  EXPECT_FALSE(inside) << "nothing below the junction (it points back at AppData\\Local)";
  EXPECT_NE(FindFile(c, "C:\\Users\\alice\\AppData\\Local\\Microsoft\\Windows\\UsrClass.dat"), nullptr);
}

TEST(CollectImageTest, PartitionChoiceAndBadArguments) {
  const auto gpt = test::UnpackedImage(test::SourceDir() / "tests/data/ntfs/gpt-features.img.gz");
  ASSERT_FALSE(gpt.empty());
  auto id = core::age::GenerateX25519Identity().value();
  {
    test::TempDir dir;  // no --partition: the NTFS one (partition 2) is found
    const Collected c = Collect(dir, {"--image", gpt.string(), "--profile", "default", "--target-os", "windows"}, id);
    EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
    ASSERT_TRUE(c.manifest);
    EXPECT_NE(c.manifest->host.root.find("partition 2 (gpt"), std::string::npos) << c.manifest->host.root;
  }
  {
    test::TempDir dir;  // partition 1 is not NTFS: a clear error, no archive
    const Collected c = Collect(dir, {"--image", gpt.string(), "--partition", "1"}, id);
    EXPECT_EQ(c.exit_code, 2);
    EXPECT_NE(c.err.find("--image"), std::string::npos) << c.err;
    EXPECT_NE(c.err.find("NTFS"), std::string::npos) << c.err;
  }
  {
    test::TempDir dir;
    const Collected c = Collect(dir, {"--image", gpt.string(), "--partition", "7"}, id);
    EXPECT_EQ(c.exit_code, 2);
    EXPECT_NE(c.err.find("no partition 7"), std::string::npos) << c.err;
    EXPECT_NE(c.err.find("partition 2 (gpt"), std::string::npos) << "the error lists what exists: " << c.err;
  }
  {
    test::TempDir dir;
    const Collected c = Collect(dir, {"--image", gpt.string(), "--offset", std::to_string(4096 * 512)}, id);
    EXPECT_EQ(c.exit_code, 0) << c.err;
  }
  {
    test::TempDir dir;
    test::WriteFile(dir / "not-a-disk.img", std::string(4096, 'x'));
    const Collected c = Collect(dir, {"--image", (dir / "not-a-disk.img").string()}, id);
    EXPECT_EQ(c.exit_code, 2);
    EXPECT_NE(c.err.find("not-a-disk.img"), std::string::npos) << c.err;
  }
}

}  // namespace
}  // namespace trawl
