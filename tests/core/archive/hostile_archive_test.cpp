// SPDX-License-Identifier: Apache-2.0
// Hostile archives against the triage-side readers (ArchiveReader,
// VerifyArchive, ExtractArchive) and the real trawl-triage binary. The zips
// are made by Python's zipfile (an independent writer) so that names, link
// bits and duplicate entries are exactly what an attacker can produce; age
// files come from the real `age` CLI.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using core::archive::ArchiveReader;
using core::archive::ReadLimits;
using core::archive::VerifyArchive;

constexpr const char* kPython = "/usr/bin/python3";

// Runs a Python snippet with `out` bound to the zip path; the snippet uses
// `z` (a ZipFile open for writing) and the helpers `add` and `link`.
void MakeZip(const fs::path& out, const std::string& body) {
  const std::string script =
      "import sys, zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n"
      "def add(name, data):\n"
      "    i = zipfile.ZipInfo(name)\n"
      "    i.compress_type = zipfile.ZIP_DEFLATED\n"
      "    z.writestr(i, data)\n"
      "def link(name, target):\n"
      "    i = zipfile.ZipInfo(name)\n"
      "    i.create_system = 3\n"
      "    i.external_attr = (0o120777 << 16)\n"
      "    z.writestr(i, target)\n"
      "import warnings\n"
      "warnings.simplefilter('ignore')\n" +
      body + "\nz.close()\n";
  auto r = test::RunCommand({kPython, "-c", script, out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

bool HasProblem(const core::archive::VerifyReport& report, const std::string& member, const std::string& needle) {
  return std::any_of(report.problems.begin(), report.problems.end(), [&](const auto& p) {
    return p.member == member && p.problem.find(needle) != std::string::npos;
  });
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
  void SetUp() override {
    id_ = core::age::GenerateX25519Identity().value();
    key_file_ = dir_ / "key.txt";
    test::WriteFile(key_file_, core::age::FormatIdentityFile(id_));
  }
  // The real age CLI encrypts `plain` to our identity.
  fs::path Encrypt(const fs::path& plain) {
    const fs::path out = plain.string() + ".age";
    auto r = test::RunCommand({"age", "-r", id_.ToRecipient().Encode(), "-o", out.string(), plain.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  test::TempDir dir_;
  core::age::X25519Identity id_;
  fs::path key_file_;
};

TEST_F(HostileArchiveTest, EscapingNamesAreReportedAndNeverExtracted) {
  const auto zip = dir_ / "escape.zip";
  MakeZip(zip,
          "add('../escaped-dotdot.txt', b'x')\n"
          "add('/tmp/escaped-absolute.txt', b'x')\n"
          "add('records/../../escaped-inner.txt', b'x')\n"
          "add('ok/fine.txt', b'fine')\n");
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  for (const char* name : {"../escaped-dotdot.txt", "/tmp/escaped-absolute.txt", "records/../../escaped-inner.txt"}) {
    EXPECT_TRUE(std::any_of(report->problems.begin(), report->problems.end(),
                            [&](const auto& p) { return p.member == name; }))
        << name << " not reported:\n" << Dump(*report);
  }
  // Extract into a nested folder: anything escaping lands beside it.
  const auto jail = dir_ / "jail";
  auto ex = core::archive::ExtractArchive(zip, {}, jail / "out");
  ASSERT_TRUE(ex) << ex.error().ToString();
  EXPECT_EQ(ex->refused.size(), 3u);
  EXPECT_EQ(ex->extracted, 1u);
  EXPECT_EQ(FilesUnder(jail), std::vector<fs::path>{"out/ok/fine.txt"});
  EXPECT_FALSE(fs::exists(dir_ / "escaped-dotdot.txt"));
  EXPECT_FALSE(fs::exists("/tmp/escaped-absolute.txt"));
}

TEST_F(HostileArchiveTest, SymlinkMembersAreNotExtractedOrFollowed) {
  const auto zip = dir_ / "links.zip";
  // A link to outside, then a file written "through" it. The link bit lives
  // only in the central directory, which the streaming reader never sees:
  // the member arrives as a small regular file holding the target path, so
  // no link can be created; the member below it then cannot be written.
  MakeZip(zip,
          "link('evil', '" + (dir_ / "outside").string() + "')\n"
          "add('evil/planted.txt', b'through the link')\n");
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
  MakeZip(zip, "add('records/bomb.jsonl', bytes(64 << 20))\n");
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
  MakeZip(zip,
          "add('records/a.jsonl', b'first')\n"
          "add('records/a.jsonl', b'second')\n"
          "add('manifest.json', b'{\"entries\": []}')\n"
          "add('manifest.json', b'{\"entries\": []}')\n");
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
  MakeZip(zip,
          "import json, hashlib\n"
          "add('records/a.jsonl', b'real content')\n"
          "add('records/b.jsonl', b'more')\n"
          "add('records/c.jsonl', b'sized')\n"
          "add('manifest.json', json.dumps({'entries': [\n"
          "  {'archive_path': 'records/a.jsonl', 'size': 12, 'sha256': '" + sha_of_other + "'},\n"
          "  {'archive_path': 'records/b.jsonl', 'size': 999, 'sha256': hashlib.sha256(b'more').hexdigest()},\n"
          "  {'archive_path': 'records/c.jsonl', 'size': '5', 'sha256': hashlib.sha256(b'sized').hexdigest()},\n"
          "  {'archive_path': 'records/missing.jsonl', 'size': 1, 'sha256': ''}]}).encode())\n");
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  EXPECT_TRUE(HasProblem(*report, "records/a.jsonl", "SHA-256")) << Dump(*report);
  EXPECT_TRUE(HasProblem(*report, "records/b.jsonl", "size 4 differs")) << Dump(*report);
  EXPECT_TRUE(HasProblem(*report, "records/missing.jsonl", "missing")) << Dump(*report);
}

// Regression: json::value("size", uint64) threw type_error out of
// VerifyArchive (an uncaught exception, i.e. a crash of trawl-triage) when a
// manifest entry held "size" as a string or a negative number.
TEST(HostileArchiveRegression, ManifestSizeOfWrongTypeDoesNotThrow) {
  test::TempDir dir;
  const auto zip = dir / "size-type.zip";
  MakeZip(zip,
          "import json, hashlib\n"
          "add('records/c.jsonl', b'sized')\n"
          "add('records/d.jsonl', b'neg')\n"
          "add('manifest.json', json.dumps({'entries': [\n"
          "  {'archive_path': 'records/c.jsonl', 'size': '5', 'sha256': hashlib.sha256(b'sized').hexdigest()},\n"
          "  {'archive_path': 'records/d.jsonl', 'size': -3, 'sha256': hashlib.sha256(b'neg').hexdigest()}]}).encode())\n");
  core::Result<core::archive::VerifyReport> report = std::unexpected(core::Error{});
  ASSERT_NO_THROW(report = VerifyArchive(zip, {}));
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  EXPECT_TRUE(HasProblem(*report, "records/c.jsonl", "size 5 differs")) << Dump(*report);
  EXPECT_TRUE(HasProblem(*report, "records/d.jsonl", "size 3 differs")) << Dump(*report);
}

// Regression: a manifest.json of a million '[' parsed (nlohmann parses
// iteratively) and then overflowed the stack when the report was copied or
// printed. The depth is now checked before parsing.
TEST(HostileArchiveRegression, DeeplyNestedManifestIsRejectedBeforeParsing) {
  test::TempDir dir;
  const auto zip = dir / "deep.zip";
  MakeZip(zip, "add('manifest.json', b'[' * 1000000 + b']' * 1000000)\n");
  auto report = VerifyArchive(zip, {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  EXPECT_TRUE(HasProblem(*report, "manifest.json", "nested deeper than")) << Dump(*report);
  const core::archive::VerifyReport copy = *report;  // recursed once per level before the fix
  EXPECT_LT(copy.manifest.dump().size(), 100u);
}

TEST_F(HostileArchiveTest, TruncatedAgeFilesNeverVerify) {
  const auto zip = dir_ / "good.zip";
  MakeZip(zip,
          "import json, hashlib, os\n"
          "data = os.urandom(200000)\n"
          "add('records/a.jsonl', data)\n"
          "add('manifest.json', json.dumps({'entries': [{'archive_path': 'records/a.jsonl', 'size': len(data),"
          " 'sha256': hashlib.sha256(data).hexdigest()}]}).encode())\n");
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
  MakeZip(zip, "add('manifest.json', b'{\"entries\": []}')\n");
  const auto age_file = Encrypt(zip);
  const auto other = core::age::GenerateX25519Identity().value();
  auto r = VerifyArchive(age_file, {other});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNoIdentity) << r.error().ToString();
  EXPECT_NE(r.error().message.find(age_file.string()), std::string::npos) << r.error().message;
}

// Member names holding terminal escapes, HTML and SQL: trawl-triage's
// verify and decrypt output must carry no raw ESC (or other C0) bytes, so
// an archive cannot retitle or rewrite the analyst's terminal.
TEST_F(HostileArchiveTest, HostileNamesDoNotReachTheTerminalRaw) {
  const auto triage = (test::BinDir() / "trawl-triage").string();
  ASSERT_TRUE(fs::exists(triage)) << triage;
  const auto zip = dir_ / "names.zip";
  MakeZip(zip,
          "add('records/\\x1b]0;pwned\\x07title.jsonl', b'x')\n"
          "add('records/\\x1b[2J\\x1b[31mred.jsonl', b'x')\n"
          "add('records/<script>alert(1)</script>.jsonl', b'x')\n"
          "add(\"records/'; DROP TABLE files; --.jsonl\", b'x')\n"
          "add('../\\x1b[1A\\rupline.txt', b'x')\n"
          "add('manifest.json', b'{\"entries\": [{\"archive_path\": \"\\\\u001b]0;x\\\\u0007\", \"size\": 1}]}')\n");
  const auto age_file = Encrypt(zip);
  auto check = [](const test::CommandResult& r, const std::string& what) {
    for (const std::string* s : {&r.out, &r.err}) {
      for (char c : *s) {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_FALSE(u < 0x20 && c != '\n' && c != '\t') << what << " printed control byte " << int(u) << ":\n" << *s;
        if (u < 0x20 && c != '\n' && c != '\t') return;
      }
    }
  };
  auto v = test::RunCommand({triage, "verify", "-i", key_file_.string(), age_file.string()});
  EXPECT_NE(v.exit_code, 0) << "a hostile archive verified";
  EXPECT_NE((v.out + v.err).find("pwned"), std::string::npos) << "the problem is not named:\n" << v.out << v.err;
  check(v, "verify");
  auto d = test::RunCommand({triage, "decrypt", "-i", key_file_.string(), "-o", (dir_ / "out").string(),
                             age_file.string()});
  check(d, "decrypt");
  // SQL and HTML names are data: extracted under their own names, nothing more.
  EXPECT_TRUE(fs::exists(dir_ / "out/records/<script>alert(1)</script>.jsonl"));
  EXPECT_TRUE(fs::exists(dir_ / "out/records/'; DROP TABLE files; --.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / "upline.txt"));
}


// Regression: for an archive that verifies, `trawl-triage verify` printed
// manifest fields with json::value(), which throws (an uncaught exception:
// the process aborted) when host.hostname or part has another type, and it
// printed `result` without escaping. The manifest is the archive author's.
TEST_F(HostileArchiveTest, VerifiedManifestFieldsAreTypeCheckedAndEscaped) {
  const auto triage = (test::BinDir() / "trawl-triage").string();
  ASSERT_TRUE(fs::exists(triage)) << triage;
  const auto zip = dir_ / "consistent.zip";
  MakeZip(zip,
          "import json, hashlib\n"
          "data = b'{}\\n'\n"
          "add('records/a.jsonl', data)\n"
          "add('manifest.json', json.dumps({'host': {'hostname': 5}, 'result': '\\x1b]0;pwned\\x07',"
          " 'part': 'one', 'entries': [{'archive_path': 'records/a.jsonl', 'size': len(data),"
          " 'sha256': hashlib.sha256(data).hexdigest()}]}).encode())\n");
  const auto age_file = Encrypt(zip);
  auto report = VerifyArchive(age_file, {id_});
  ASSERT_TRUE(report && report->ok) << (report ? Dump(*report) : report.error().ToString());
  auto v = test::RunCommand({triage, "verify", "-i", key_file_.string(), age_file.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("OK "), std::string::npos) << v.out << v.err;
  EXPECT_EQ(v.out.find('\x1b'), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("pwned"), std::string::npos) << v.out;
}

}  // namespace
}  // namespace trawl
