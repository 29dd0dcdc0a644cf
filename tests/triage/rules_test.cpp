// SPDX-License-Identifier: Apache-2.0
// Rule loader validation (errors name file:line:column), the shipped rules
// (all load and every query prepares read-only against a fresh case),
// refusal of rule SQL that is not read-only, and IOC list parsing.
#include "triage/rules.h"

#include <gtest/gtest.h>

#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/scoring.h"

namespace trawl::triage {
namespace {

constexpr const char* kValid = R"(id: test.sample
title: A sample rule
description: d
rationale: r
author: tester
references:
  - {title: t, url: "https://example.org"}
score: 50
entity: file
query: |
  SELECT host_id, path AS entity_key, id AS record_id FROM files
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

TEST(TriageRules, ParsesValidRule) {
  auto r = ParseRule(kValid, "x/test/sample.yaml", "test/sample.yaml");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->id, "test.sample");
  EXPECT_EQ(r->score, 50);
  EXPECT_EQ(r->entity, "file");
  EXPECT_EQ(r->references.size(), 1u);
  EXPECT_EQ(r->query_line, 10);
}

TEST(TriageRules, ErrorsNameFileLineColumn) {
  struct Case {
    std::string text;
    std::string expect;
  } cases[] = {
      {Replace(kValid, "score: 50", "score: 150"), "rule.yaml:8:8: score '150' must be an integer from -100 to 100"},
      {Replace(kValid, "score: 50", "score: high"), "rule.yaml:8:8: score 'high'"},
      {Replace(kValid, "entity: file", "entity: registry"), "rule.yaml:9:9: entity 'registry'"},
      {Replace(kValid, "title: A sample rule", "titel: A sample rule"), "rule.yaml:2:1: unknown key 'titel'"},
      {Replace(kValid, "id: test.sample", "id: TestSample"), "rule.yaml:1:5: id 'TestSample' must be <area>.<slug>"},
      {Replace(kValid, "author: tester\n", ""), "rule.yaml:1:1: missing required key 'author'"},
      {Replace(kValid, "  - {title: t, url: \"https://example.org\"}", "  - {title: t}"),
       "rule.yaml:7:5: a reference needs"},
      {Replace(kValid, "description: d", "description: [unclosed"), "rule.yaml:"},
  };
  for (const auto& c : cases) {
    auto r = ParseRule(c.text, "rule.yaml", "");
    ASSERT_FALSE(r) << c.expect;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}

TEST(TriageRules, IdMustMatchPath) {
  auto r = ParseRule(kValid, "dir/other/sample.yaml", "other/sample.yaml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("must live in test/sample.yaml"), std::string::npos) << r.error().message;
}

TEST(TriageRules, DirectoryDuplicatesAndErrorsNameFile) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "test");
  test::WriteFile(dir / "test/sample.yaml", kValid);
  auto ok = LoadRules({dir.path()}, false);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->size(), 1u);
  auto dup = LoadRules({dir.path(), dir.path()}, false);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("duplicate rule id 'test.sample'"), std::string::npos);
  test::WriteFile(dir / "test/broken.yaml", "id: test.broken\ntitle: [\n");
  auto bad = LoadRules({dir.path()}, false);
  ASSERT_FALSE(bad);
  // Joined per component, the expected path uses the native separator, as
  // the path the loader found by listing the folder does.
  const std::string broken = (dir.path() / "test" / "broken.yaml").string();
  EXPECT_NE(bad.error().message.find(broken + ":"), std::string::npos) << bad.error().message;
}

TEST(TriageRules, ShippedRulesLoadAndPrepareReadOnly) {
  auto rules = LoadRules({});
  ASSERT_TRUE(rules) << rules.error().ToString();
  EXPECT_GE(rules->size(), 15u);
  test::TempDir dir;
  { ASSERT_TRUE(Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate)); }
  auto ro = Db::Open(dir / "case.db", Db::Mode::kReadOnly);
  ASSERT_TRUE(ro) << ro.error().ToString();
  (*ro)->SetReadOnlyAuthorizer(true);
  for (const auto& r : *rules) {
    EXPECT_TRUE(r.file.starts_with("builtin:rules/")) << r.file;
    EXPECT_FALSE(r.author.empty()) << r.id;
    auto c = CheckRuleSql(**ro, r);
    EXPECT_TRUE(c) << c.error().message;
  }
}

// Each of these must be refused with an error that names the rule file.
TEST(TriageRules, NonReadOnlyRuleRefused) {
  const std::string bad_queries[] = {
      "DELETE FROM hosts",
      "UPDATE hosts SET hostname = 'x'",
      "INSERT INTO hosts (hostname) SELECT 'x'",
      "WITH t AS (SELECT 1) INSERT INTO hosts (hostname) SELECT 'x' FROM t",
      "DROP TABLE findings",
      "ATTACH DATABASE '/tmp/x.db' AS x",
      "PRAGMA writable_schema = 1",
      "SELECT load_extension('/tmp/evil.so') AS host_id, 1 AS entity_key",
      "CREATE TEMP TABLE t AS SELECT 1 AS host_id, 2 AS entity_key",
      "SELECT 1 AS host_id, 2 AS entity_key; DELETE FROM hosts",
  };
  test::TempDir dir;
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->Exec("INSERT INTO hosts (hostname) VALUES ('keep')"));
  for (const auto& q : bad_queries) {
    Rule rule;
    rule.id = "evil.rule";
    rule.file = "/rules/evil/rule.yaml";
    rule.title = "evil";
    rule.author = "x";
    rule.entity = "host";
    rule.score = 50;
    rule.query = q;
    rule.query_line = 9;
    auto r = ScoreCase(**db, {rule}, {});
    ASSERT_FALSE(r) << q;
    EXPECT_NE(r.error().message.find("/rules/evil/rule.yaml:9: rule evil.rule"), std::string::npos)
        << r.error().message;
  }
  auto s = (*db)->Prepare("SELECT count(*) FROM hosts");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Step());
  EXPECT_EQ(s->Int(0), 1);
}

TEST(TriageRules, RuleMustReturnHostAndEntityKey) {
  test::TempDir dir;
  auto db = Db::Open(dir / "case.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(db);
  Rule rule;
  rule.id = "x.y";
  rule.file = "x/y.yaml";
  rule.entity = "host";
  rule.score = 10;
  rule.query = "SELECT id, hostname FROM hosts";
  auto r = ScoreCase(**db, {rule}, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("must return columns host_id and entity_key"), std::string::npos);
}

TEST(TriageIoc, ParsesHashTypesScoresComments) {
  const std::string text =
      "# comment\n"
      "\n"
      "C485674EE63EC8D4E8FDE9800788175A8B02D3F9416D0E763360FFF7F8EB4E02;90;3CX ffmpeg.dll\r\n"
      "6285ffb5f98d35cd98e78d48b63a05af6e4e4dea;75\n"
      "404b09def6054a281b41d309d809a428\n"
      "9f85a07d4b4abff82ca18d990f062a84;-20;known good; with semicolon\n";
  auto r = ParseIocCsv(text, "iocs.txt");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].hash, "c485674ee63ec8d4e8fde9800788175a8b02d3f9416d0e763360fff7f8eb4e02");
  EXPECT_EQ((*r)[0].hash_type, "sha256");
  EXPECT_EQ((*r)[0].score, 90);
  EXPECT_EQ((*r)[0].comment, "3CX ffmpeg.dll");
  EXPECT_EQ((*r)[0].line, 3);
  EXPECT_EQ((*r)[1].hash_type, "sha1");
  EXPECT_EQ((*r)[1].score, 75);
  EXPECT_EQ((*r)[2].hash_type, "md5");
  EXPECT_EQ((*r)[2].score, 100);
  EXPECT_EQ((*r)[3].score, -20);
  EXPECT_EQ((*r)[3].comment, "known good; with semicolon");
}

TEST(TriageIoc, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"abc;50\n", "iocs.txt:1: hash has 3 hex digits"},
      {"# c\nzz85674ee63ec8d4e8fde9800788175a;50\n",
       "iocs.txt:2: hash 'zz85674ee63ec8d4e8fde9800788175a' is not hexadecimal"},
      {"\n\n404b09def6054a281b41d309d809a428;500\n", "iocs.txt:3: score '500' must be an integer from -100 to 100"},
      {"404b09def6054a281b41d309d809a428;x1\n", "iocs.txt:1: score 'x1'"},
  };
  for (const auto& c : cases) {
    auto r = ParseIocCsv(c.text, "iocs.txt");
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace trawl::triage

namespace trawl::triage {
namespace {

// docs/rule-schema.md documents every key the loader accepts, every shipped view and the
// tables behind `files`.
TEST(TriageRules, SchemaDocumentIsComplete) {
  const std::string doc = test::ReadFile(test::SourceDir() / "docs/rule-schema.md");
  for (const char* key : {"id", "title", "description", "rationale", "author", "license", "references", "score",
                          "entity", "scope", "query", "host_id", "entity_key", "record_id", "record_table", "message",
                          "v_system_dll_names", "v_app_files", "v_hashes", "v_findings",
                          // the files view's storage (case schema 4)
                          "file_rows", "file_paths", "file_dirs", "file_contents", "file_artifacts"}) {
    EXPECT_NE(doc.find(std::string("`") + key), std::string::npos) << key;
  }
  for (std::string_view e : kEntityTypes)
    EXPECT_NE(doc.find(std::string("`") + std::string(e) + "`"), std::string::npos) << e;
}

}  // namespace
}  // namespace trawl::triage
