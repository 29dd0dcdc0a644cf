// SPDX-License-Identifier: Apache-2.0
// The Sigma rules trawl ships (triage/rules/sigma/trawl/): every one compiles
// through the built-in mapping, and each matches what it describes and not
// its documented near misses, on events shaped as the EVTX reader and the
// live snapshots give them (triage/sigma_case.h).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "triage/sigma.h"
#include "triage/sigma_case.h"

namespace trawl::triage {
namespace {

struct Ev {
  std::string channel, provider;
  std::optional<std::uint32_t> id;
  std::vector<std::pair<std::string, std::string>> fields;
};

class SigmaShipped : public ::testing::Test {
 protected:
  void SetUp() override {
    SigmaSources src;  // builtin only
    auto e = LoadSigmaEngine(src);
    ASSERT_TRUE(e) << e.error().message;
    engine_.emplace(std::move(*e));
    for (std::size_t i = 0; i < engine_->size(); ++i) by_id_[engine_->rule(i).id] = i;
  }
  // Titles of the shipped rules `ev` matches.
  std::vector<std::string> Matches(const Ev& ev) {
    sigma::Event e;
    e.channel = ev.channel;
    e.provider = ev.provider;
    e.event_id = ev.id;
    for (const auto& [n, v] : ev.fields) e.fields.push_back({n, v});
    sigma::Evaluator eval(*engine_);
    std::vector<std::string> out;
    for (std::size_t i : eval.Match(e)) out.push_back(engine_->rule(i).id);
    return out;
  }
  std::optional<sigma::Engine> engine_;
  std::map<std::string, std::size_t> by_id_;
};

const std::string kService = "b708553b-0640-427c-a268-9f78d97f14d9";
const std::string kSecurityCleared = "8b8a33e2-bf5a-4690-98d1-813a4cad7608";
const std::string kSystemCleared = "adf698aa-c3eb-4109-a948-80f599120059";
const std::string kUnsignedDll = "ddb39c14-a037-4983-8e03-4ea85fec41d3";
const std::string kDefender = "3af536c5-1111-4c2f-ae94-a4723a5fce3f";
using V = std::vector<std::string>;

TEST_F(SigmaShipped, EveryRuleCompilesWithAuthorAndLevel) {
  EXPECT_TRUE(engine_->refusals().empty()) << engine_->refusals().front().reason;
  EXPECT_EQ(engine_->size(), 5u);
  for (const auto& id : {kService, kSecurityCleared, kSystemCleared, kUnsignedDll, kDefender}) {
    ASSERT_TRUE(by_id_.count(id)) << id;
    const auto& r = engine_->rule(by_id_[id]);
    EXPECT_EQ(r.author, "trawl project") << id;
    EXPECT_FALSE(r.level.empty()) << id;
    EXPECT_GE(SigmaLevelScore(r.level), 50) << id;
  }
}

TEST_F(SigmaShipped, ServiceFromAWritableFolder) {
  Ev e{"System",
       "Service Control Manager",
       7045,
       {{"ServiceName", "TpmVscMgr"},
        {"ImagePath", "C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe"},
        {"StartType", "auto start"}}};
  EXPECT_EQ(Matches(e), V{kService});
  e.fields[1].second = "\"C:\\Program Files\\Vendor\\svc.exe\" -k";
  EXPECT_EQ(Matches(e), V{});
  // Defender's kernel scanner driver, as every host with Defender logs it.
  e.fields[0].second = "MpKsl1bb57ead";
  e.fields[1].second =
      "C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{972CA50B}\\MpKsl1bb57ead.sys";
  EXPECT_EQ(Matches(e), V{});
  // ... but that folder alone is no pass for another name.
  e.fields[0].second = "updater";
  EXPECT_EQ(Matches(e), V{kService});
  // Another provider's 7045 is not a service install.
  e.provider = "Some-Provider";
  EXPECT_EQ(Matches(e), V{});
}

TEST_F(SigmaShipped, LogsCleared) {
  EXPECT_EQ(Matches({"Security", "Microsoft-Windows-Eventlog", 1102, {{"SubjectUserName", "bob"}}}),
            V{kSecurityCleared});
  EXPECT_EQ(
      Matches({"System", "Microsoft-Windows-Eventlog", 104, {{"Channel", "Microsoft-Windows-Sysmon/Operational"}}}),
      V{kSystemCleared});
  // The same ids in other channels or from other providers are other events.
  EXPECT_EQ(Matches({"Application", "Microsoft-Windows-Eventlog", 104, {}}), V{});
  EXPECT_EQ(Matches({"System", "Other", 104, {}}), V{});
  EXPECT_EQ(Matches({"System", "Microsoft-Windows-Eventlog", 1102, {}}), V{});
}

TEST_F(SigmaShipped, UnsignedDllFromWritableFolderIntoASignedProgram) {
  // A live module of a Windows collection (trawl:modules:windows).
  Ev live{"trawl:modules:windows",
          "",
          std::nullopt,
          {{"Image", "C:\\Users\\ann\\AppData\\Local\\Programs\\3CXDesktopApp\\3CXDesktopApp.exe"},
           {"ImageLoaded", "C:\\Users\\ann\\AppData\\Local\\Programs\\3CXDesktopApp\\ffmpeg.dll"},
           {"Signed", "false"},
           {"SignatureStatus", "Unavailable"},
           {"ImageSigned", "true"},
           {"ImageSignature", "3CX Ltd"}}};
  EXPECT_EQ(Matches(live), V{kUnsignedDll});
  live.fields[4].second = "false";  // an unsigned program loading its own DLLs
  EXPECT_EQ(Matches(live), V{});
  live.fields[4].second = "true";
  live.fields[2].second = "true";  // a signed DLL
  EXPECT_EQ(Matches(live), V{});
  live.fields[2].second = "false";
  live.fields[1].second = "C:\\Program Files\\App\\ffmpeg.dll";
  EXPECT_EQ(Matches(live), V{});
  // Sysmon 7 (no ImageSigned): any process.
  Ev sysmon{"Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Sysmon",
            7,
            {{"Image", "C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe"},
             {"ImageLoaded", "C:\\ProgramData\\TPM\\winscard.dll"},
             {"Signed", "false"}}};
  EXPECT_EQ(Matches(sysmon), V{kUnsignedDll});
  // A Linux host's modules are not Windows image loads.
  live.channel = "trawl:modules:linux";
  live.fields[1].second = "C:\\ProgramData\\x.dll";
  EXPECT_EQ(Matches(live), V{});
}

TEST_F(SigmaShipped, DefenderDetectionNotRemediated) {
  const std::string ch = "Microsoft-Windows-Windows Defender/Operational";
  const std::string pv = "Microsoft-Windows-Windows Defender";
  EXPECT_EQ(Matches({ch, pv, 1119, {{"Threat Name", "Trojan:Win64/Samsis.A"}}}), V{kDefender});
  EXPECT_EQ(Matches({ch, pv, 1118, {}}), V{kDefender});
  EXPECT_EQ(Matches({ch, pv, 1117, {{"Action Name", "Allow"}}}), V{kDefender});
  EXPECT_EQ(Matches({ch, pv, 1117, {{"Action Name", "Quarantine"}}}), V{});
  EXPECT_EQ(Matches({ch, pv, 1116, {{"Action Name", "Not Applicable"}}}), V{});
  EXPECT_EQ(Matches({"System", pv, 1119, {}}), V{});
}

}  // namespace
}  // namespace trawl::triage
