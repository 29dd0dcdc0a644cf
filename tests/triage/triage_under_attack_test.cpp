// SPDX-License-Identifier: Apache-2.0
// Issue #18, "Triage under attack": forged and hostile archives against
// `analyze` (IngestArchive), `decrypt` (ExtractArchive) and the tabular
// output. Archives are laid out by test::ZipBuilder as a forger's own tools
// would (a plain zip is what `age -d` gives a forger to edit; trawl reads it
// the same way it reads the decrypted stream). Each test is named after what
// it prevents.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_paths.h"
#include "core/archive/archive_reader.h"
#include "core/util/file.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"
#include "tests/support/zip_builder.h"
#include "triage/case_db.h"
#include "triage/ingest.h"
#include "triage/report.h"
#include "triage/rules.h"
#include "triage/scoring.h"
#include "triage/tabular.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A small collection: one files record, its manifest claiming `fields`.
fs::path Collection(const fs::path& path, const std::string& record_line, const json& fields = json::object()) {
  const std::string records = record_line + "\n";
  test::ZipBuilder()
      .Add("records/files.0001.jsonl", records)
      .Add("manifest.json",
           test::ManifestText(json::array({test::MemberEntry("records/files.0001.jsonl", records)}), fields))
      .WriteTo(path);
  return path;
}

std::int64_t Count(Db& db, const std::string& sql) {
  auto s = db.Prepare(sql);
  EXPECT_TRUE(s) << s.error().ToString();
  auto row = s->Step();
  EXPECT_TRUE(row && *row);
  return s->Int(0);
}

class TriageUnderAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(dir_ / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
  }
  test::TempDir dir_;
  std::unique_ptr<Db> db_;
};

// Finding 3: a forgery carrying the genuine collection's host, start and part
// (all in the plaintext sidecar), ingested first, made `analyze` call the
// genuine archive "unchanged ... already in the case" with no findings.
TEST_F(TriageUnderAttack, ForgedClaimDoesNotHideTheGenuineArchive) {
  const auto forged = Collection(dir_ / "forged.zip", R"({"path":"C:\\clean.txt","type":"file"})");
  const auto genuine =
      Collection(dir_ / "genuine.zip", R"({"path":"C:\\ProgramData\\TPM\\winscard.dll","type":"file"})");
  const IngestResult f = IngestArchive(*db_, forged, {});
  ASSERT_EQ(f.status, IngestResult::Status::kIngested) << f.reason;
  const IngestResult g = IngestArchive(*db_, genuine, {});
  ASSERT_EQ(g.status, IngestResult::Status::kIngested) << g.reason;
  EXPECT_NE(g.conflict.find("forged.zip"), std::string::npos) << g.conflict;
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM files WHERE path LIKE '%winscard.dll'"), 1);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM collections WHERE conflict IS NOT NULL"), 2);
  // The same bytes again, and the same plaintext under another file name, are duplicates.
  EXPECT_EQ(IngestArchive(*db_, genuine, {}).status, IngestResult::Status::kDuplicate);
  fs::copy_file(genuine, dir_ / "renamed.zip");
  EXPECT_EQ(IngestArchive(*db_, dir_ / "renamed.zip", {}).status, IngestResult::Status::kDuplicate);
  // The analyst sees it as a finding on the host.
  auto rules = LoadRules({});
  ASSERT_TRUE(rules) << rules.error().ToString();
  ASSERT_TRUE(ScoreCase(*db_, *rules, {}));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM findings WHERE rule_id = 'integrity.conflicting_collections'"), 1);
}

// Finding 1, and "Done means": a batch with forged archives among genuine
// ones ingests every genuine archive and names each forged one's fault.
TEST_F(TriageUnderAttack, ForgedArchivesInABatchAreSkippedWithTheFieldNamed) {
  const std::vector<std::pair<json, std::string>> forged = {
      {{{"part", "1"}}, "part: expected an unsigned integer"},
      {{{"host", json::array()}}, "host: expected an object"},
      {{{"started", 5}}, "started: expected a string"},
      {{{"format_version", 99}}, "version 99 is not supported"},
      {{{"format", "not-trawl"}}, "is not a trawl archive"},
      {{{"part", 4294967297ull}}, "out of range"},
  };
  int n = 0;
  for (const auto& [fields, needle] : forged) {
    json f = fields;
    f["host"] = f.contains("host") ? f["host"] : json{{"hostname", "forged"}};
    const auto bad =
        Collection(dir_ / fmt::format("forged{}.zip", n), fmt::format(R"({{"path":"f{}","type":"file"}})", n), f);
    const auto good =
        Collection(dir_ / fmt::format("genuine{}.zip", n), fmt::format(R"({{"path":"g{}","type":"file"}})", n),
                   {{"host", {{"hostname", fmt::format("host{}", n)}}}});
    const IngestResult b = IngestArchive(*db_, bad, {});
    EXPECT_EQ(b.status, IngestResult::Status::kSkipped);
    EXPECT_NE(b.reason.find(needle), std::string::npos) << needle << " / " << b.reason;
    const IngestResult g = IngestArchive(*db_, good, {});
    EXPECT_EQ(g.status, IngestResult::Status::kIngested) << g.reason;
    ++n;
  }
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM collections"), n);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM files WHERE path LIKE 'f%'"), 0);
}

// Finding 4: a small archive inflating to gigabytes was verified and ingested.
TEST_F(TriageUnderAttack, CompressionBombIsRefusedBeforeItIsInflated) {
  const std::string zeros(200u << 20, '\0');
  const auto bomb = dir_ / "bomb.zip";
  test::ZipBuilder()
      .Add("files/C/zeros.bin", zeros)
      .Add("manifest.json", test::ManifestText(json::array({test::MemberEntry("files/C/zeros.bin", zeros)})))
      .WriteTo(bomb);
  ASSERT_LT(fs::file_size(bomb), 1u << 20);
  const IngestResult r = IngestArchive(*db_, bomb, {});
  EXPECT_EQ(r.status, IngestResult::Status::kSkipped);
  EXPECT_NE(r.reason.find("compression bomb"), std::string::npos) << r.reason;
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM collections"), 0);
  // Raised by the analyst for a genuine archive, it goes through.
  IngestOptions raised;
  raised.limits.max_inflation_ratio = 100000;
  EXPECT_EQ(IngestArchive(*db_, bomb, {}, raised).status, IngestResult::Status::kIngested);
}

// Finding 4: 185 KB became 2.16 million rows.
TEST_F(TriageUnderAttack, RowFloodFromATinyArchiveIsCapped) {
  std::string records;
  for (int i = 0; i < 5000; ++i)
    records += R"({"path":"C:\\x","type":"file"})"
               "\n";
  const auto flood = dir_ / "flood.zip";
  test::ZipBuilder()
      .Add("records/files.0001.jsonl", records)
      .Add("manifest.json", test::ManifestText(json::array({test::MemberEntry("records/files.0001.jsonl", records)})))
      .WriteTo(flood);
  IngestOptions o;
  o.max_rows_per_table = 1000;
  const IngestResult r = IngestArchive(*db_, flood, {}, o);
  EXPECT_EQ(r.status, IngestResult::Status::kSkipped);
  std::string all = r.reason;
  for (const auto& p : r.problems) all += "\n" + p.problem;
  EXPECT_NE(all.find("more than 1000 rows for table files"), std::string::npos) << all;
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM files"), 0);
}

// Finding 6: a NUL inside a string was stored as is (cut short by C tools).
TEST_F(TriageUnderAttack, NulInsideAStringIsStoredVisibly) {
  const auto a = Collection(dir_ / "nul-in-strings.zip", R"({"path":"C:\\evil.dll\u0000.txt","type":"file"})",
                            {{"host", {{"hostname", std::string("pc\0x", 4)}}}});
  const IngestResult r = IngestArchive(*db_, a, {});
  ASSERT_EQ(r.status, IngestResult::Status::kIngested) << r.reason;
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM files WHERE path = 'C:\\evil.dll' || char(65533) || '.txt' "
                  "AND instr(path, char(0)) = 0"),
            1);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM hosts WHERE hostname = 'pc' || char(65533) || 'x'"), 1);
}

// Finding 5: formulas, ESC/BEL and U+202E reached spreadsheets and terminals.
TEST_F(TriageUnderAttack, CsvAndTsvCellsAreGuardedAndEscaped) {
  EXPECT_EQ(CsvTextCell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(CsvTextCell("+1"), "'+1");
  EXPECT_EQ(CsvTextCell("-2"), "'-2");
  EXPECT_EQ(CsvTextCell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvTextCell("a;=1"), "\"a;=1\"");  // ';' lists: quoted, so no cell starts with '='
  EXPECT_EQ(CsvTextCell("\x1b]0;t\x07"), "\"\\x1b]0;t\\x07\"");
  EXPECT_EQ(CsvTextCell("\tx"), "\\x09x");
  EXPECT_EQ(CsvTextCell("evil\u202egpj.exe"), "evil\\u202egpj.exe");
  EXPECT_EQ(CsvTextCell("C:\\ProgramData"), "C:\\ProgramData");  // paths stay readable
  const auto a = Collection(dir_ / "csv.zip", R"({"path":"=cmd|' /C calc'!A0\u001b[2J\u202e","type":"file"})");
  ASSERT_EQ(IngestArchive(*db_, a, {}).status, IngestResult::Status::kIngested);
  for (const char* format : {"csv", "tsv"}) {
    auto s = db_->Prepare("SELECT path, size FROM files");
    ASSERT_TRUE(s);
    std::ostringstream out;
    ASSERT_TRUE(WriteTabular(*s, *ParseTabularFormat(format), out));
    const std::string text = out.str();
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find("\u202e"), std::string::npos) << text;
    EXPECT_NE(text.find("\\u202e"), std::string::npos) << text;
    if (std::string(format) == "csv") {
      EXPECT_NE(text.find("\n'=cmd"), std::string::npos) << text;
    }
  }
}

// Finding 5: U+202E showed "evil\u202egpj.exe" as "evilexe.jpg" in query,
// stack and the HTML report.
TEST(TriageUnderAttackText, BidiOverridesAreShownEscapedWhereHumansRead) {
  EXPECT_EQ(HtmlEscape("evil\u202egpj.exe"), "evil\\u202egpj.exe");
  EXPECT_EQ(HtmlEscape("a\u200bb<i>"), "a\\u200bb&lt;i&gt;");
  EXPECT_EQ(core::EscapeForTerminal("evil\u202egpj.exe"), "evil\\u202egpj.exe");
  EXPECT_EQ(core::EscapeForTerminal("C:\\x\u2066"), "C:\\x\\u2066");
  EXPECT_EQ(core::EscapeForTerminal("C:\\x1b\u2066"), "C:\\\\x1b\\u2066");  // text that reads as an escape
  EXPECT_EQ(core::EscapeInvisible("C:\\ProgramData\x1b"), "C:\\ProgramData\\x1b");
  EXPECT_EQ(core::EscapeInvisible("J\u00fcrgen"), "J\u00fcrgen");  // ordinary letters stay
}

// Finding 6: the member after a compressed symlink member was dropped by the
// streaming reader without a word. A zip's link bit lives only in its
// central directory, which a streaming read never sees: the member reads as
// a regular file holding the link target, is never extracted as a link, and
// fails verification by name; the members after it are all read (and any a
// reader did lose would be named "listed in the manifest but missing").
TEST_F(TriageUnderAttack, MembersAfterACompressedLinkAreNeitherLostNorSilent) {
  const std::string data = "{}\n";
  test::ZipBuilder()
      .AddSymlink("records/link.jsonl", std::string(300, 'a'))
      .Add("records/files.0001.jsonl", data)
      .Add("manifest.json", test::ManifestText(json::array({test::MemberEntry("records/files.0001.jsonl", data)})))
      .WriteTo(dir_ / "link.zip");
  auto report = core::archive::VerifyArchive(dir_ / "link.zip", {});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_FALSE(report->ok);
  std::string all;
  for (const auto& p : report->problems) all += p.member + ": " + p.problem + "\n";
  EXPECT_NE(all.find("records/link.jsonl: "), std::string::npos) << all;
  EXPECT_EQ(all.find("records/files.0001.jsonl"), std::string::npos) << all;
  EXPECT_EQ(report->members_checked, 2u);
  const IngestResult r = IngestArchive(*db_, dir_ / "link.zip", {});
  EXPECT_EQ(r.status, IngestResult::Status::kSkipped);
}

// Finding 4: `decrypt` wrote whatever the archive inflated to.
TEST_F(TriageUnderAttack, DecryptChecksFreeSpaceBeforeWritingAnything) {
  const auto a = Collection(dir_ / "space.zip", R"({"path":"x","type":"file"})");
  core::archive::ExtractOptions o;
  o.available = 100;
  o.reserve = 0;
  auto r = core::archive::ExtractArchive(a, {}, dir_ / "out", o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("only 100 bytes"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "out/manifest.json"));
  o.available = 1u << 20;
  r = core::archive::ExtractArchive(a, {}, dir_ / "out", o);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->extracted, 2u);
  EXPECT_TRUE(r->problems.empty());
}

// Finding 6: on Windows a ':' after position 1 wrote an alternate data
// stream and a trailing dot was dropped (two members, one file).
TEST(TriageUnderAttackNames, StreamAndTrailingDotNamesAreRefusedEverywhere) {
  for (const char* name : {"files/a.txt:evil", "files/C/x:$DATA", "files/dir./x", "files/x ", "files/x."}) {
    EXPECT_FALSE(core::archive::CheckSafeEntryName(name)) << name;
  }
  for (const char* name : {"files/C/Windows/a.txt", "files/dot%2E", "files/a.b"}) {
    EXPECT_TRUE(core::archive::CheckSafeEntryName(name)) << name;
  }
  // What the collector writes for such sources passes.
  EXPECT_TRUE(core::archive::CheckSafeEntryName(core::archive::ArchivePathForSource("C:\\a.txt:evil", true)));
  EXPECT_TRUE(core::archive::CheckSafeEntryName(core::archive::ArchivePathForSource("C:\\dir.\\x.", true)));
}

}  // namespace
}  // namespace trawl::triage
