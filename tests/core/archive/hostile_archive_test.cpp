// SPDX-License-Identifier: Apache-2.0
// Hostile archives against the triage-side readers (ArchiveReader,
// VerifyArchive, ExtractArchive). The zips are laid out byte by byte by
// tests/support/zip_builder.h, a writer independent of the libarchive reader
// under test, so names, link bits and duplicate entries are exactly what an
// attacker can produce; age files come from core::age (its interoperability
// with the `age` CLI is age_interop_test.cpp's subject). What trawl-triage
// prints for such archives is tested in tests/triage/commands_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "tests/support/test_env.h"
#include "tests/support/zip_builder.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using core::archive::ArchiveReader;
using core::archive::ReadLimits;
using core::archive::VerifyArchive;
using nlohmann::json;
using test::ZipBuilder;

bool HasProblem(const core::archive::VerifyReport& report, const std::string& member, const std::string& needle) {
  return std::any_of(report.problems.begin(), report.problems.end(),
                     [&](const auto& p) { return p.member == member && p.problem.find(needle) != std::string::npos; });
}

std::string Dump(const core::archive::VerifyReport& report) {
  std::string s;
  for (const auto& p : report.problems) s += p.member + ": " + p.problem + "\n";
  return s;
}

std::vector<fs::path> FilesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_directory()) out.push_back(fs::relative(e.path(), dir));
  }
  return out;
}

class HostileArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override { id_ = core::age::GenerateX25519Identity().value(); }
  // Encrypts `plain` to our identity, as trawl-collect would.
  fs::path Encrypt(const fs::path& plain) {
    const fs::path out = plain.string() + ".age";
    auto sealed = core::age::EncryptToString({id_.ToRecipient()}, core::AsBytes(test::ReadFile(plain)));
    EXPECT_TRUE(sealed) << sealed.error().ToString();
    if (sealed) test::WriteFile(out, *sealed);
    return out;
  }
  test::TempDir dir_;
  core::age::X25519Identity id_;
};

TEST_F(HostileArchiveTest, EscapingNamesAreReportedAndNeverExtracted) {
  const auto zip = dir_ / "escape.zip";
  // Backslash and drive-letter names escape only on Windows; they are
  // refused everywhere. Each is reported under the name the reader gives it:
  // libarchive reads a zip name's '\' as '/'.
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"../escaped-dotdot.txt", "../escaped-dotdot.txt"},
      {"/tmp/escaped-absolute.txt", "/tmp/escaped-absolute.txt"},
      {"records/../../escaped-inner.txt", "records/../../escaped-inner.txt"},
      {"..\\escaped-backslash.txt", "../escaped-backslash.txt"},
      {"C:/escaped-drive.txt", "C:/escaped-drive.txt"}};
  ZipBuilder builder;
  for (const auto& [name, reported] : hostile) builder.Add(name, "x");
  builder.Add("ok/fine.txt", "fine").WriteTo(zip);
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  for (const auto& [name, reported] : hostile) {
    EXPECT_TRUE(std::any_of(report->problems.begin(), report->problems.end(),
                            [&](const auto& p) { return p.member == reported; }))
        << reported << " not reported:\n"
        << Dump(*report);
  }
  // Extract into a nested folder: anything escaping lands beside it.
  const auto jail = dir_ / "jail";
  auto ex = core::archive::ExtractArchive(zip, {}, jail / "out");
  ASSERT_TRUE(ex) << ex.error().ToString();
  EXPECT_EQ(ex->refused.size(), hostile.size());
  EXPECT_EQ(ex->extracted, 1u);
  EXPECT_EQ(FilesUnder(jail), std::vector<fs::path>{fs::path("out") / "ok" / "fine.txt"});
  EXPECT_FALSE(fs::exists(dir_ / "escaped-dotdot.txt"));
  EXPECT_FALSE(fs::exists(dir_ / "escaped-backslash.txt"));
  EXPECT_FALSE(fs::exists("/tmp/escaped-absolute.txt"));
  EXPECT_FALSE(fs::exists("C:/escaped-drive.txt"));
}

TEST_F(HostileArchiveTest, SymlinkMembersAreNotExtractedOrFollowed) {
  const auto zip = dir_ / "links.zip";
  // A link to outside, then a file written "through" it. The link bit lives
  // only in the central directory, which the streaming reader never sees:
  // the member arrives as a small regular file holding the target path, so
  // no link can be created; the member below it then cannot be written.
  ZipBuilder().AddSymlink("evil", (dir_ / "outside").string()).Add("evil/planted.txt", "through the link").WriteTo(zip);
  fs::create_directories(dir_ / "outside");
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  auto ex = core::archive::ExtractArchive(zip, {}, dir_ / "out");
  if (!ex) {
    EXPECT_NE(ex.error().message.find("evil/planted.txt"), std::string::npos) << ex.error().ToString();
  }
  EXPECT_FALSE(fs::is_symlink(dir_ / "out" / "evil"));
  EXPECT_TRUE(fs::is_empty(dir_ / "outside")) << "a member was written through a link";
}

TEST_F(HostileArchiveTest, CompressionBombStopsAtTheMemberLimit) {
  const auto zip = dir_ / "bomb.zip";
  // 64 MiB of zeros deflate to about 64 KiB.
  ZipBuilder().Add("records/bomb.jsonl", std::string(64u << 20, '\0')).WriteTo(zip);
  ASSERT_LT(fs::file_size(zip), 1u << 20);
  ReadLimits limits;
  limits.max_member_size = 1u << 20;
  auto reader = ArchiveReader::Open(zip, {}, limits);
  ASSERT_TRUE(reader) << reader.error().ToString();
  auto next = (*reader)->Next();
  ASSERT_TRUE(next && *next);
  auto all = (*reader)->ReadAll(256u << 20);
  ASSERT_FALSE(all) << "read " << all->size() << " bytes past a 1 MiB limit";
  EXPECT_EQ(all.error().code, core::ErrorCode::kLimit);
  EXPECT_NE(all.error().message.find("records/bomb.jsonl"), std::string::npos) << all.error().message;
}

TEST_F(HostileArchiveTest, DuplicateEntriesAreReportedAndNotOverwritten) {
  const auto zip = dir_ / "dup.zip";
  ZipBuilder()
      .Add("records/a.jsonl", "first")
      .Add("records/a.jsonl", "second")
      .Add("manifest.json", test::ManifestText(json::array()))
      .Add("manifest.json", test::ManifestText(json::array()))
      .WriteTo(zip);
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  EXPECT_TRUE(HasProblem(*report, "records/a.jsonl", "duplicate")) << Dump(*report);
  EXPECT_TRUE(HasProblem(*report, "manifest.json", "duplicate")) << Dump(*report);
  auto ex = core::archive::ExtractArchive(zip, {}, dir_ / "out");
  ASSERT_TRUE(ex) << ex.error().ToString();
  EXPECT_EQ(test::ReadFile(dir_ / "out/records/a.jsonl"), "first");
}

TEST_F(HostileArchiveTest, ManifestWithLyingHashesAndSizesFailsVerification) {
  const auto zip = dir_ / "liar.zip";
  const std::string sha_of_other = std::string(64, 'a');
  json a = test::MemberEntry("records/a.jsonl", "real content");
  a["sha256"] = sha_of_other;
  json b = test::MemberEntry("records/b.jsonl", "more");
  b["size"] = 999;
  ZipBuilder()
      .Add("records/a.jsonl", "real content")
      .Add("records/b.jsonl", "more")
      .Add("manifest.json", test::ManifestText(json::array({a, b, test::MemberEntry("records/missing.jsonl", "x")})))
      .WriteTo(zip);
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  EXPECT_TRUE(HasProblem(*report, "records/a.jsonl", "SHA-256")) << Dump(*report);
  EXPECT_TRUE(HasProblem(*report, "records/b.jsonl", "size 4 differs")) << Dump(*report);
  EXPECT_TRUE(HasProblem(*report, "records/missing.jsonl", "missing")) << Dump(*report);
}

// Regression: json::value("size", uint64) threw type_error out of
// VerifyArchive (an uncaught exception, i.e. a crash of trawl-triage) when a
// manifest entry held "size" as a string or a negative number. Now the
// manifest is refused with the field named.
TEST(HostileArchiveRegression, ManifestSizeOfWrongTypeDoesNotThrow) {
  test::TempDir dir;
  for (const json& size : {json("5"), json(-3)}) {
    const auto zip = dir / "size-type.zip";
    json entry = test::MemberEntry("records/c.jsonl", "sized");
    entry["size"] = size;
    ZipBuilder()
        .Add("records/c.jsonl", "sized")
        .Add("manifest.json", test::ManifestText(json::array({entry})))
        .WriteTo(zip);
    core::Result<core::archive::VerifyReport> report = std::unexpected(core::Error{});
    ASSERT_NO_THROW(report = VerifyArchive(zip, {}));
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_FALSE(report->ok);
    EXPECT_TRUE(HasProblem(*report, "manifest.json", "entries[0].size: expected an unsigned integer")) << Dump(*report);
  }
}

// Regression: a manifest.json of a million '[' parsed (nlohmann parses
// iteratively) and then overflowed the stack when the report was copied or
// printed. The depth is now checked before parsing.
TEST(HostileArchiveRegression, DeeplyNestedManifestIsRejectedBeforeParsing) {
  test::TempDir dir;
  const auto zip = dir / "deep.zip";
  ZipBuilder()
      .Add("manifest.json", "{\"x\":" + std::string(1000000, '[') + std::string(1000000, ']') + "}")
      .WriteTo(zip);
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  EXPECT_TRUE(HasProblem(*report, "manifest.json", "nested deeper than")) << Dump(*report);
  const core::archive::VerifyReport copy = *report;  // recursed once per level before the fix
  EXPECT_FALSE(copy.manifest);
}

// Issue #18, finding 2: each bad member added a problem string to the report
// without bound. The report keeps the first 1000 and counts the rest.
TEST(HostileArchiveRegression, ProblemsOfManyBadMembersAreCapped) {
  test::TempDir dir;
  ZipBuilder zip;
  for (int i = 0; i < 1500; ++i) zip.Add("../bad" + std::to_string(i), "x");
  zip.Add("manifest.json", test::ManifestText(json::array()));
  zip.WriteTo(dir / "many.zip");
  auto report = VerifyArchive(dir / "many.zip", {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  ASSERT_EQ(report->problems.size(), 1001u);
  EXPECT_NE(report->problems.back().problem.find("more problems"), std::string::npos)
      << report->problems.back().problem;
}

TEST_F(HostileArchiveTest, TruncatedAgeFilesNeverVerify) {
  const auto zip = dir_ / "good.zip";
  std::mt19937 rng(7);
  std::string data(200000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());  // incompressible: the age payload spans chunks
  ZipBuilder()
      .Add("records/a.jsonl", data)
      .Add("manifest.json", test::ManifestText(json::array({test::MemberEntry("records/a.jsonl", data)})))
      .WriteTo(zip);
  const auto age_file = Encrypt(zip);
  auto whole = VerifyArchive(age_file, {id_});
  ASSERT_TRUE(whole) << whole.error().ToString();
  ASSERT_TRUE(whole->ok) << Dump(*whole);  // the untruncated file is fine
  const std::string bytes = test::ReadFile(age_file);
  // Inside the header, at the header/payload boundary, inside the payload,
  // at a chunk boundary and one byte short of the end.
  for (std::size_t cut : {std::size_t{20}, std::size_t{150}, std::size_t{1000}, std::size_t{65536 + 16},
                          bytes.size() / 2, bytes.size() - 1}) {
    const auto cut_file = dir_ / ("cut-" + std::to_string(cut) + ".age");
    test::WriteFile(cut_file, bytes.substr(0, cut));
    auto r = VerifyArchive(cut_file, {id_});
    EXPECT_FALSE(r && r->ok) << "truncated at " << cut << " still verified";
    if (!r) {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
}

TEST_F(HostileArchiveTest, WrongKeyIsRejectedWithANamedError) {
  const auto zip = dir_ / "k.zip";
  ZipBuilder().Add("manifest.json", test::ManifestText(json::array())).WriteTo(zip);
  const auto age_file = Encrypt(zip);
  const auto other = core::age::GenerateX25519Identity().value();
  auto r = VerifyArchive(age_file, {other});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNoIdentity) << r.error().ToString();
  EXPECT_NE(r.error().message.find(age_file.string()), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace trawl
