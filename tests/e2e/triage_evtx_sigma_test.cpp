// SPDX-License-Identifier: Apache-2.0
// `trawl-triage inspect evtx` and `trawl-triage sigma` as a user runs them:
// a real EVTX sample (EVTX-ATTACK-SAMPLES' remote service installs, 7045)
// printed record by record, and SigmaHQ regression cases (rule, sample,
// expected count from its info.yml) run through the CLI, with a rule the
// engine must refuse listed by id, never dropped.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

std::string Triage() { return (test::BinDir() / "trawl-triage").string(); }

TEST(TriageEvtxCli, InspectPrintsEveryRecordWithItsFields) {
  const fs::path f = test::SharedTestdata() / "evtx/evtx-attack-samples/LM_Remote_Service02_7045.evtx";
  if (!fs::exists(f)) GTEST_SKIP() << f << " is missing";
  const auto r = test::RunCommand({Triage(), "inspect", "evtx", "--json", f.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = JsonLines(r.out);
  ASSERT_EQ(records.size(), 3u);  // evtxinfo and python-evtx: 3 (WINDOWS-SOURCES.md)
  const json& first = records[0];
  EXPECT_EQ(first["record_id"], 1);
  EXPECT_EQ(first["event_id"], 7045);
  EXPECT_EQ(first["channel"], "System");
  EXPECT_EQ(first["provider"], "Service Control Manager");
  EXPECT_EQ(first["time_created"], "2019-03-03T09:20:28.6214897Z");
  ASSERT_TRUE(first["fields"].is_array());
  EXPECT_EQ(first["fields"][0], (json{{"name", "ServiceName"}, {"value", "spoolfool"}}));
  EXPECT_EQ(first["fields"][1], (json{{"name", "ImagePath"}, {"value", "cmd.exe"}}));
  // Text form: one line per record, then the count.
  const auto text = test::RunCommand({Triage(), "inspect", "evtx", f.string()});
  EXPECT_NE(text.out.find("ServiceName=remotesvc ImagePath=calc.exe"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(": 3 records"), std::string::npos);
  // Not an event log: named, exit 1, the others still printed.
  test::TempDir dir;
  test::WriteFile(dir / "not.evtx", std::string(70000, 'x'));
  const auto bad = test::RunCommand({Triage(), "inspect", "evtx", (dir / "not.evtx").string(), f.string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("not.evtx"), std::string::npos) << bad.err;
  EXPECT_NE(bad.out.find(": 3 records"), std::string::npos);
}

TEST(TriageEvtxCli, SigmaRunsRulesAndNamesTheOnesItRefuses) {
  const fs::path sigma = test::SharedTestdata() / "sigma";
  const fs::path rule = sigma / "rules/windows/process_creation/proc_creation_win_wmic_recon_service.yml";
  const fs::path sample = sigma /
                          "regression_data/rules/windows/process_creation/proc_creation_win_wmic_recon_service/"
                          "76f55eaa-d27f-4213-9d45-7b0e4b60bbae.evtx";
  if (!fs::exists(rule) || !fs::exists(sample)) GTEST_SKIP() << "SigmaHQ regression data missing";
  test::TempDir dir;
  // A rule with the `expand` modifier: valid Sigma this engine does not evaluate.
  test::WriteFile(dir / "expand.yml",
                  "title: Expand\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n  product: windows\n"
                  "  category: process_creation\ndetection:\n  sel:\n    Image|expand: '%System%'\n"
                  "  condition: sel\nlevel: high\n");
  const auto r = test::RunCommand({Triage(), "sigma", "--rules", rule.string(), "--rules",
                                   (dir / "expand.yml").string(), "--json", sample.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto matches = JsonLines(r.out);
  ASSERT_EQ(matches.size(), 1u) << r.out;  // info.yml: match_count 1
  EXPECT_EQ(matches[0]["rule_id"], "76f55eaa-d27f-4213-9d45-7b0e4b60bbae");
  EXPECT_EQ(matches[0]["event_id"], 1);
  EXPECT_FALSE(matches[0]["author"].get<std::string>().empty()) << "DRL 1.1: the author is shown";
  EXPECT_NE(r.err.find("refused 11111111-2222-3333-4444-555555555555"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 rules loaded, 1 refused"), std::string::npos) << r.err;
}

TEST(TriageEvtxCli, RulesListsTheShippedAndGivenSigmaRulesAndNamesRefusals) {
  test::TempDir dir;
  test::WriteFile(dir / "ok.yml",
                  "title: Test rule listed\nid: 22222222-3333-4444-5555-666666666666\nlogsource:\n  product: windows\n"
                  "  service: system\ndetection:\n  sel:\n    EventID: 7045\n  condition: sel\nlevel: medium\n");
  test::WriteFile(dir / "expand.yml",
                  "title: Expand\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n  product: windows\n"
                  "  category: process_creation\ndetection:\n  sel:\n    Image|expand: '%System%'\n"
                  "  condition: sel\nlevel: high\n");
  // Shipped rules only: every one compiles.
  auto r = test::RunCommand({Triage(), "rules"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sigma.8b8a33e2-bf5a-4690-98d1-813a4cad7608"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("supply_chain.xtrader_present"), std::string::npos);
  // With --sigma: the given rule listed with its level's score, the refused one named (exit 1).
  r = test::RunCommand({Triage(), "rules", "--sigma", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("sigma.22222222-3333-4444-5555-666666666666"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  50  event    Test rule listed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("11111111-2222"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("refused: " + (dir / "expand.yml").string()), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trawl
