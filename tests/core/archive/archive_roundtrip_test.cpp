// SPDX-License-Identifier: Apache-2.0
// The archive format end to end: ArchiveWriter output verifies with
// VerifyArchive, decrypts with the real `age` CLI, passes `unzip -t` and
// `bsdtar -tf` (the oracle test, not run by the win64 build), and fails
// verification after tampering.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "core/archive/archive_paths.h"
#include "core/archive/archive_reader.h"
#include "core/archive/archive_writer.h"
#include "tests/support/test_env.h"
#include "tests/support/zip_builder.h"

namespace trawl::core::archive {
namespace {

struct Keys {
  age::X25519Identity identity;
  std::filesystem::path key_file;
};

Keys MakeKey(const test::TempDir& dir) {
  Keys k;
  k.identity = age::GenerateX25519Identity().value();
  k.key_file = dir / "key.txt";
  test::WriteFile(k.key_file, age::FormatIdentityFile(k.identity));
  return k;
}

std::string RandomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::vector<PartInfo> WriteSample(const test::TempDir& dir, const Keys& k, std::uint64_t split) {
  WriterOptions o;
  o.output_dir = dir / "out";
  o.base_name = "host_20261126T000000Z";
  o.recipients = {k.identity.ToRecipient()};
  o.split_size = split;
  o.record_segment_bytes = 4096;
  o.header = {{"tool", "trawl-collect"}, {"host", {{"hostname", "host"}}}, {"started", "2026-11-26T00:00:00.000Z"}};
  auto w = ArchiveWriter::Create(o);
  EXPECT_TRUE(w) << w.error().ToString();
  for (int i = 0; i < 6; ++i) {
    const std::string data = RandomBytes(200000 + static_cast<std::size_t>(i), static_cast<unsigned>(i));
    EXPECT_TRUE((*w)->BeginFile(ArchivePathForSource("/srv/app/lib" + std::to_string(i) + ".so", false), {}));
    EXPECT_TRUE((*w)->WriteFile(AsBytes(data)));
    ItemRecord rec;
    rec.source_path = "/srv/app/lib" + std::to_string(i) + ".so";
    rec.type = "file";
    EXPECT_TRUE((*w)->EndFile(rec));
    for (int r = 0; r < 50; ++r) {
      EXPECT_TRUE((*w)->AddRecord("files", {{"path", rec.source_path}, {"n", r}}));
    }
  }
  ItemRecord failed;
  failed.source_path = "/root/secret";
  failed.status = "error";
  failed.error = "permission denied";
  (*w)->AddItem(failed);
  (*w)->Log("info", "test_event", {{"k", "v"}});
  auto parts = (*w)->Finish({{"result", "complete"}});
  EXPECT_TRUE(parts) << parts.error().ToString();
  return *parts;
}

TEST(ArchiveRoundTripTest, WriterOutputVerifies) {
  test::TempDir dir;
  Keys k = MakeKey(dir);
  auto parts = WriteSample(dir, k, 0);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].path.filename(), "host_20261126T000000Z.zip.age");
  EXPECT_FALSE(std::filesystem::exists(parts[0].path.string() + ".partial"));
  bool found_failed = false;
  core::archive::WalkOptions walk;
  walk.on_entry = [&](const core::archive::ManifestEntry& e, std::uint64_t) -> core::Result<void> {
    if (e.source_path == "/root/secret") found_failed = e.status == "error" && !e.archive_path && !e.sha256;
    return {};
  };
  auto report = core::archive::WalkArchive(parts[0].path, {k.identity}, walk);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->ok) << (report->problems.empty() ? "" : report->problems[0].problem);
  EXPECT_GE(report->members_checked, 8u);
  ASSERT_TRUE(report->manifest);
  EXPECT_EQ(report->manifest->result, "complete");
  EXPECT_EQ(report->content_sha256.size(), 64u);
  EXPECT_TRUE(found_failed);
}

// The oracle half: independent tools read what ArchiveWriter wrote.
TEST(ArchiveRoundTripTest, AgeCliDecryptsAndUnzipAccepts) {
  test::TempDir dir;
  Keys k = MakeKey(dir);
  auto parts = WriteSample(dir, k, 0);
  ASSERT_EQ(parts.size(), 1u);
  auto dec = test::RunCommand(
      {"age", "-d", "-i", k.key_file.string(), "-o", (dir / "p.zip").string(), parts[0].path.string()});
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  auto unzip = test::RunCommand({"unzip", "-t", (dir / "p.zip").string()});
  EXPECT_EQ(unzip.exit_code, 0) << unzip.out;
  auto bsdtar = test::RunCommand({"bsdtar", "-tf", (dir / "p.zip").string()});
  EXPECT_EQ(bsdtar.exit_code, 0);
  EXPECT_NE(bsdtar.out.find("manifest.json"), std::string::npos);
  EXPECT_NE(bsdtar.out.find("records/files.0001.jsonl"), std::string::npos);
  EXPECT_NE(bsdtar.out.find("log.jsonl"), std::string::npos);
}

TEST(ArchiveRoundTripTest, FlippedByteFailsAuthentication) {
  test::TempDir dir;
  Keys k = MakeKey(dir);
  auto parts = WriteSample(dir, k, 0);
  std::string bytes = test::ReadFile(parts[0].path);
  for (std::size_t pos : {std::size_t{40}, bytes.size() / 2, bytes.size() - 5}) {
    std::string copy = bytes;
    copy[pos] = static_cast<char>(copy[pos] ^ 0x01);
    test::WriteFile(dir / "tampered.age", copy);
    auto report = VerifyArchive(dir / "tampered.age", {k.identity});
    ASSERT_FALSE(report) << "flip at " << pos << " went unnoticed";
    // A flip inside a recipient stanza makes the file key unrecoverable,
    // which age (like the `age` CLI) reports as no identity matching.
    const bool in_stanza = pos < 100;
    EXPECT_TRUE(report.error().code == ErrorCode::kAuthentication || report.error().code == ErrorCode::kFormat ||
                (in_stanza && report.error().code == ErrorCode::kNoIdentity))
        << report.error().ToString();
  }
  test::WriteFile(dir / "short.age", bytes.substr(0, bytes.size() - 1000));
  auto truncated = VerifyArchive(dir / "short.age", {k.identity});
  ASSERT_FALSE(truncated);
  auto other = age::GenerateX25519Identity().value();
  auto wrong = VerifyArchive(parts[0].path, {other});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kNoIdentity);
}

TEST(ArchiveRoundTripTest, SplitPartsEachVerifyOnTheirOwn) {
  test::TempDir dir;
  Keys k = MakeKey(dir);
  auto parts = WriteSample(dir, k, 400000);
  ASSERT_GE(parts.size(), 2u);
  std::uint64_t members = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    EXPECT_NE(parts[i].path.filename().string().find(".part00" + std::to_string(i + 1) + ".zip.age"),
              std::string::npos);
    auto report = VerifyArchive(parts[i].path, {k.identity});
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_TRUE(report->ok);
    members += report->members_checked;
    ASSERT_TRUE(report->manifest);
    EXPECT_EQ(report->manifest->part, i + 1);
  }
  EXPECT_GE(members, 8u);
}

TEST(ArchiveRoundTripTest, ManifestThatLiesIsReported) {
  test::TempDir dir;
  Keys k = MakeKey(dir);
  // A forged archive: valid encryption, but the manifest's hash is wrong
  // (anyone on the host holds the public key).
  WriterOptions o;
  o.output_dir = dir / "out";
  o.base_name = "forged";
  o.recipients = {k.identity.ToRecipient()};
  auto w = ArchiveWriter::Create(o);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->BeginFile("files/a", {}));
  ASSERT_TRUE((*w)->WriteFile(AsBytes("real content")));
  ASSERT_TRUE((*w)->EndFile({}));
  ItemRecord lie;
  lie.archive_path = "files/b";
  lie.sha256 = std::string(64, '0');
  (*w)->AddItem(lie);
  auto parts = (*w)->Finish({});
  ASSERT_TRUE(parts);
  auto report = VerifyArchive((*parts)[0].path, {k.identity});
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->ok);
  ASSERT_FALSE(report->problems.empty());
  EXPECT_EQ(report->problems[0].member, "files/b");
}

TEST(ArchiveRoundTripTest, ExtractRefusesEscapes) {
  test::TempDir dir;
  // A hostile plain zip whose only member climbs out of the target folder.
  test::ZipBuilder().Add("../../escape.txt", "ok").WriteTo(dir / "evil.zip");
  auto report = ExtractArchive(dir / "evil.zip", {}, dir / "x");
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->extracted, 0u);
  ASSERT_EQ(report->refused.size(), 1u);
  EXPECT_NE(report->refused[0].problem.find(".."), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "escape.txt"));
}

}  // namespace
}  // namespace trawl::core::archive
