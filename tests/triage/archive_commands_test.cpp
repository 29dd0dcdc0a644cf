// SPDX-License-Identifier: Apache-2.0
// trawl-triage's verify and decrypt commands (triage/archive_commands.h; main.cpp
// hands them std::cout and std::cerr) on hostile archives: nothing they print
// carries a raw terminal control byte, and manifest fields of the wrong type
// do not throw. Called in-process so the checks run on every platform; the
// binary's own argument handling is tests/e2e/triage_cli_test.cpp's subject.
#include "triage/archive_commands.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "tests/support/test_env.h"
#include "tests/support/zip_builder.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Output {
  int rc = -1;
  std::string out;
  std::string err;
};

// Fails the test at the first byte below 0x20 other than '\n' and '\t' in
// what a command printed.
void ExpectNoControlBytes(const Output& o, const std::string& what) {
  for (const std::string* s : {&o.out, &o.err}) {
    for (char c : *s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 && c != '\n' && c != '\t') {
        ADD_FAILURE() << what << " printed control byte " << int(u) << ":\n" << *s;
        return;
      }
    }
  }
}

class TriageCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_ = core::age::GenerateX25519Identity().value();
    // Keys come in as trawl-triage's -i files do.
    const fs::path key_file = dir_ / "key.txt";
    test::WriteFile(key_file, core::age::FormatIdentityFile(id_));
    auto ids = LoadIdentities({key_file.string()}, "");
    ASSERT_TRUE(ids) << ids.error().ToString();
    ids_ = *ids;
  }

  // Encrypts the zip to our key, as trawl-collect would.
  fs::path Seal(const test::ZipBuilder& zip, const std::string& name) {
    const fs::path out = dir_ / (name + ".zip.age");
    const std::string plain = zip.Build();
    auto sealed = core::age::EncryptToString({id_.ToRecipient()}, core::AsBytes(plain));
    EXPECT_TRUE(sealed) << sealed.error().ToString();
    if (sealed) test::WriteFile(out, *sealed);
    return out;
  }

  Output Verify(const fs::path& archive) {
    std::ostringstream out, err;
    Output o;
    o.rc = RunVerify(ids_, {archive.string()}, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  Output Decrypt(const fs::path& archive, const fs::path& out_dir) {
    std::ostringstream out, err;
    Output o;
    o.rc = RunDecrypt(ids_, archive.string(), out_dir.string(), false, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  test::TempDir dir_;
  core::age::X25519Identity id_;
  std::vector<core::age::Identity> ids_;
};

// Member names holding terminal escapes, HTML and SQL: the verify and decrypt
// output must carry no raw ESC (or other C0) bytes, so an archive cannot
// retitle or rewrite the analyst's terminal.
TEST_F(TriageCommandsTest, HostileNamesDoNotReachTheTerminalRaw) {
  const fs::path age_file =
      Seal(test::ZipBuilder()
               .Add("records/\x1b]0;pwned\x07"
                    "title.jsonl",
                    "x")
               .Add("records/\x1b[2J\x1b[31mred.jsonl", "x")
               .Add("records/<script>alert(1)</script>.jsonl", "x")
               .Add("records/'; DROP TABLE files; --.jsonl", "x")
               .Add("../\x1b[1A\rupline.txt", "x")
               .Add("manifest.json", test::ManifestText(json::array({test::MemberEntry("\x1b]0;x\x07", "x")}))),
           "names");
  const Output v = Verify(age_file);
  EXPECT_NE(v.rc, kExitOk) << "a hostile archive verified";
  EXPECT_NE((v.out + v.err).find("pwned"), std::string::npos) << "the problem is not named:\n" << v.out << v.err;
  ExpectNoControlBytes(v, "verify");
  // Where a name cannot be a file name (control bytes on Windows), decrypt
  // stops with an error naming it: escaped too.
  const Output d = Decrypt(age_file, dir_ / "out");
  ExpectNoControlBytes(d, "decrypt");
  EXPECT_FALSE(fs::exists(dir_ / "upline.txt"));
}

// Regression: an extraction error that names a member (a member below one
// that is a file cannot be created; on Windows neither can a name holding
// control bytes) reached the terminal unescaped.
TEST_F(TriageCommandsTest, ExtractionErrorsNamingAMemberAreEscaped) {
  const fs::path age_file = Seal(
      test::ZipBuilder().Add("records/\x1b]0;pwned\x07", "a file").Add("records/\x1b]0;pwned\x07/below.jsonl", "x"),
      "below-file");
  const Output d = Decrypt(age_file, dir_ / "out");
  EXPECT_NE(d.rc, kExitOk) << d.out << d.err;
  EXPECT_NE((d.out + d.err).find("pwned"), std::string::npos) << "the member is not named:\n" << d.out << d.err;
  ExpectNoControlBytes(d, "decrypt");
}

// SQL and HTML in names are data: extracted under their own names, nothing
// more. Windows file names cannot hold '<' or '>', so the HTML one is checked
// only where the file system takes it.
TEST_F(TriageCommandsTest, SqlAndHtmlNamesAreExtractedAsData) {
  test::ZipBuilder zip;
  json entries = json::array();
  zip.Add("records/'; DROP TABLE files; --.jsonl", "x");
  entries.push_back(test::MemberEntry("records/'; DROP TABLE files; --.jsonl", "x"));
  const fs::path probe = dir_ / "<probe>";
  { std::ofstream touch(probe); }
  std::error_code ec;
  const bool angle_brackets = fs::exists(probe, ec);
  if (angle_brackets) {
    zip.Add("records/<script>alert(1)</script>.jsonl", "x");
    entries.push_back(test::MemberEntry("records/<script>alert(1)</script>.jsonl", "x"));
  }
  zip.Add("manifest.json", test::ManifestText(entries));
  const Output d = Decrypt(Seal(zip, "data-names"), dir_ / "out");
  EXPECT_EQ(d.rc, kExitOk) << d.out << d.err;
  EXPECT_TRUE(fs::exists(dir_ / "out/records/'; DROP TABLE files; --.jsonl")) << d.out << d.err;
  if (!angle_brackets) GTEST_SKIP() << "this file system takes no '<' in names: HTML member not tried";
  EXPECT_TRUE(fs::exists(dir_ / "out/records/<script>alert(1)</script>.jsonl")) << d.out << d.err;
}

// Regression: for an archive that verifies, `trawl-triage verify` printed
// manifest fields with json::value(), which throws (an uncaught exception:
// the process aborted) when host.hostname or part has another type, and it
// printed `result` without escaping. The manifest is the archive author's.
TEST_F(TriageCommandsTest, VerifiedManifestFieldsAreTypeCheckedAndEscaped) {
  const std::string data = "{}\n";
  const std::string entries = json::array({test::MemberEntry("records/a.jsonl", data)}).dump();
  // Consistent but hostile: a hostname holding escapes verifies and is printed escaped.
  {
    const fs::path age_file =
        Seal(test::ZipBuilder()
                 .Add("records/a.jsonl", data)
                 .Add("manifest.json",
                      test::ManifestText(json::parse(entries), {{"host", {{"hostname", "\x1b]0;pwned\x07"}}}})),
             "consistent");
    auto report = core::archive::VerifyArchive(age_file, ids_);
    ASSERT_TRUE(report && report->ok) << (report ? "problems" : report.error().ToString());
    Output v;
    ASSERT_NO_THROW(v = Verify(age_file));
    EXPECT_EQ(v.rc, kExitOk) << v.out << v.err;
    EXPECT_NE(v.out.find("OK "), std::string::npos) << v.out << v.err;
    EXPECT_EQ(v.out.find('\x1b'), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("pwned"), std::string::npos) << v.out;
    ExpectNoControlBytes(v, "verify");
  }
  // Wrong types: refused, the field named, the process alive.
  const std::vector<std::pair<json, std::string>> wrong = {
      {{{"host", {{"hostname", 5}}}}, "host.hostname: expected a string"},
      {{{"result", "\x1b]0;pwned\x07"}}, "is not one of complete, partial, aborted, continued"},
      {{{"part", "one"}}, "part: expected an unsigned integer"}};
  for (const auto& [fields, needle] : wrong) {
    const fs::path age_file = Seal(test::ZipBuilder()
                                       .Add("records/a.jsonl", data)
                                       .Add("manifest.json", test::ManifestText(json::parse(entries), fields)),
                                   "wrong-type");
    Output v;
    ASSERT_NO_THROW(v = Verify(age_file));
    EXPECT_EQ(v.rc, kExitProblems) << v.out << v.err;
    EXPECT_NE(v.out.find(needle), std::string::npos) << needle << "\n" << v.out;
    ExpectNoControlBytes(v, "verify");
  }
}

}  // namespace
}  // namespace trawl::triage
