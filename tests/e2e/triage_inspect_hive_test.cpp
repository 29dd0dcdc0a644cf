// SPDX-License-Identifier: Apache-2.0
// `trawl-triage inspect hive` end to end:
//  - yarp's NewDirtyHive (dirty, .LOG1/.LOG2 beside it): the four new-format
//    log entries are applied, and the keys and values printed are exactly
//    those of RecoveredHive_Windows10 (the same hive after Windows itself
//    recovered it), opened without logs;
//  - regipy's SYSTEM (xz): --key ControlSet001\Services\Tcpip\Parameters
//    --json gives the subtree's keys and that key's values as libregf
//    (python3-libregf) reads them;
//  - a missing --key component is a usage error naming it;
//  - the synthetic hives of tests/fixtures/registry/make_regf_seeds.py: a
//    replay through new- and old-format logs gives the hive the script
//    meant, a broken subkey list or value cell is reported at its key while
//    the rest of the walk goes on, and a key listing its own ancestor (a
//    cycle regf does not reject) is reported and not entered again.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/disk_images.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Triage() { return (test::BinDir() / "trawl-triage").string(); }

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// The key lines of a --json run (the header line dropped), as text.
std::string KeyLines(const std::string& text) {
  const auto nl = text.find('\n');
  return nl == std::string::npos ? "" : text.substr(nl + 1);
}

bool HavePyregf() {
  static const bool have = test::RunCommand({"/usr/bin/python3", "-c", "import pyregf"}).exit_code == 0;
  return have;
}

TEST(TriageInspectHiveTest, NewDirtyHiveReplaysFourLogEntriesAsWindowsDid) {
  const fs::path dir = test::SharedTestdata() / "registry/yarp/NewDirtyHive1";
  if (!fs::exists(dir / "NewDirtyHive")) GTEST_SKIP() << "no " << dir;
  auto text = test::RunCommand({Triage(), "inspect", "hive", (dir / "NewDirtyHive").string()});
  ASSERT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("state: dirty (sequence numbers differ)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("recovery: 4 log entries applied (new format)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  applied: NewDirtyHive.LOG1 sequence 2, "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  applied: NewDirtyHive.LOG2 sequence 5, "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\n\\Key3  [2017-03-04T20:55:33.7530678Z]\n"), std::string::npos) << text.out;

  auto js = test::RunCommand({Triage(), "inspect", "hive", "--json", (dir / "NewDirtyHive").string()});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  const auto lines = JsonLines(js.out);
  ASSERT_GE(lines.size(), 2u);
  const json& head = lines[0]["hive"];
  EXPECT_TRUE(head["dirty"].get<bool>());
  EXPECT_EQ(head["primary_sequence"], 3);
  EXPECT_EQ(head["secondary_sequence"], 2);
  EXPECT_EQ(head["recovery"]["format"], "new");
  ASSERT_EQ(head["recovery"]["applied"].size(), 4u) << head.dump();
  EXPECT_EQ(head["recovery"]["applied"][0]["log"], "NewDirtyHive.LOG1");
  EXPECT_EQ(head["recovery"]["applied"][3]["sequence"], 5);
  EXPECT_EQ(lines[1]["path"], "\\");

  // Windows' own recovery of the same hive, opened as it is.
  auto windows = test::RunCommand(
      {Triage(), "inspect", "hive", "--json", "--no-logs", (dir / "RecoveredHive_Windows10").string()});
  ASSERT_EQ(windows.exit_code, 0) << windows.err;
  EXPECT_FALSE(JsonLines(windows.out)[0]["hive"]["dirty"].get<bool>());
  EXPECT_EQ(KeyLines(js.out), KeyLines(windows.out));

  // Without its logs the primary is read as it is, and says so.
  auto bare = test::RunCommand({Triage(), "inspect", "hive", "--no-logs", (dir / "NewDirtyHive").string()});
  EXPECT_NE(bare.out.find("logs: none (--no-logs)"), std::string::npos) << bare.out;
  EXPECT_NE(bare.out.find("recovery: 0 log entries applied"), std::string::npos) << bare.out;
}

TEST(TriageInspectHiveTest, SystemKeyAndValuesMatchLibregf) {
  const fs::path source = test::SharedTestdata() / "registry/regipy/SYSTEM.xz";
  if (!fs::exists(source)) GTEST_SKIP() << "no " << source;
  if (!test::CanUnpackXz()) GTEST_SKIP() << "this build cannot unpack .xz";
  const fs::path hive = test::UnpackedImage(source);
  const std::string key = "ControlSet001\\Services\\Tcpip\\Parameters";
  auto r = test::RunCommand({Triage(), "inspect", "hive", hive.string(), "--key", key, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = JsonLines(r.out);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_FALSE(lines[0]["hive"]["dirty"].get<bool>());
  const json& k = lines[1];
  // Names keep the case the hive stores ("services" in this SYSTEM).
  EXPECT_EQ(k["path"], "\\ControlSet001\\services\\Tcpip\\Parameters");
  EXPECT_EQ(k["last_written"], "2011-09-17T13:43:23.7700774Z");
  json by_name = json::object();
  for (const auto& v : k["values"]) by_name[v["name"].get<std::string>()] = v;
  EXPECT_EQ(by_name["Hostname"]["type"], "REG_SZ");
  EXPECT_EQ(by_name["Hostname"]["data"], "WKS-WIN732BITA");
  EXPECT_EQ(by_name["Domain"]["data"], "shieldbase.local");
  EXPECT_EQ(by_name["TcpWindowSize"]["type"], "REG_DWORD");
  EXPECT_EQ(by_name["TcpWindowSize"]["data"], 64240);
  EXPECT_EQ(by_name["DataBasePath"]["type"], "REG_EXPAND_SZ");
  EXPECT_EQ(by_name["DataBasePath"]["data"], "%SystemRoot%\\System32\\drivers\\etc");
  // Every key line but the first is below the key.
  for (std::size_t i = 2; i < lines.size(); ++i)
    ASSERT_EQ(lines[i]["path"].get<std::string>().rfind(k["path"].get<std::string>() + "\\", 0), 0u) << lines[i];

  // The text form of the same key.
  auto text = test::RunCommand({Triage(), "inspect", "hive", hive.string(), "--key", key});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("\n  TcpWindowSize (REG_DWORD) = 64240 (0x0000faf0)\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\n  DataBasePath (REG_EXPAND_SZ) = %SystemRoot%\\System32\\drivers\\etc\n"),
            std::string::npos)
      << text.out;

  if (!HavePyregf()) GTEST_SKIP() << "python3-libregf (pyregf) not installed: values not compared";
  // libregf's reading of the key: every value's type, size and (for strings
  // and integers) its data; and the number of keys in the subtree.
  const char* script = R"(
import json, sys, pyregf
f = pyregf.file(); f.open(sys.argv[1])
k = f.get_key_by_path("\\" + sys.argv[2])
vals = {}
for v in k.values:
    t = v.get_type()
    d = v.get_data_as_string() if t in (1, 2) else v.get_data_as_integer() if t in (4, 11) else None
    vals[v.get_name()] = [t, v.get_data_size(), d]
def count(k):
    return 1 + sum(count(s) for s in k.sub_keys)
print(json.dumps({"values": vals, "keys": count(k)}))
)";
  auto py = test::RunCommand({"/usr/bin/python3", "-c", script, hive.string(), key});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  const json want = json::parse(py.out);
  EXPECT_EQ(want["keys"].get<std::size_t>(), lines.size() - 1);
  ASSERT_EQ(want["values"].size(), k["values"].size());
  for (const auto& [name, w] : want["values"].items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(by_name.contains(name));
    const json& got = by_name[name];
    EXPECT_EQ(got["size"], w[1]);
    const int type = w[0].get<int>();
    if (type == 1 || type == 2) EXPECT_EQ(got["data"], w[2]);
    if (type == 4 || type == 11) EXPECT_EQ(got["data"], w[2]);
  }
}

TEST(TriageInspectHiveTest, MissingKeyIsAUsageErrorNamingTheName) {
  const fs::path dir = test::SharedTestdata() / "registry/yarp/NewDirtyHive1";
  if (!fs::exists(dir / "NewDirtyHive")) GTEST_SKIP() << "no " << dir;
  auto r = test::RunCommand({Triage(), "inspect", "hive", (dir / "NewDirtyHive").string(), "--key", "Key3\\Nope\\x"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no subkey \"Nope\" under \\Key3"), std::string::npos) << r.err;
  auto missing = test::RunCommand({Triage(), "inspect", "hive", (dir / "no-such-hive").string()});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

class SyntheticHives : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = test::RunCommand({"/usr/bin/python3",
                               (test::SourceDir() / "tests/fixtures/registry/make_regf_seeds.py").string(),
                               (dir_ / "seeds").string(), "--raw", (dir_ / "raw").string()});
    if (r.exit_code != 0) GTEST_SKIP() << "make_regf_seeds.py: " << r.err;
  }
  fs::path Raw(const std::string& name) const { return dir_ / "raw" / name; }
  test::TempDir dir_;
};

TEST_F(SyntheticHives, LogReplayGivesTheHiveTheLogsDescribe) {
  for (const std::string name : {"dirty-newlog", "dirty-oldlog"}) {
    SCOPED_TRACE(name);
    auto got = test::RunCommand({Triage(), "inspect", "hive", "--json", Raw(name).string()});
    ASSERT_EQ(got.exit_code, 0) << got.err;
    auto want = test::RunCommand({Triage(), "inspect", "hive", "--json", Raw(name + ".expected").string()});
    ASSERT_EQ(want.exit_code, 0) << want.err;
    EXPECT_EQ(KeyLines(got.out), KeyLines(want.out));
    const json head = JsonLines(got.out)[0]["hive"];
    EXPECT_EQ(head["recovery"]["format"], name == "dirty-newlog" ? "new" : "old");
    EXPECT_EQ(head["recovery"]["applied"].size(), name == "dirty-newlog" ? 2u : 1u);
    EXPECT_NE(got.out.find("C:\\\\ProgramData\\\\evil\\\\payload.exe"), std::string::npos);
  }
  // The explicit --log alone, with --no-logs: LOG2 only has sequence 7, so
  // nothing follows the primary's 6 and nothing is applied.
  auto only2 = test::RunCommand({Triage(), "inspect", "hive", "--no-logs", "--log", Raw("dirty-newlog.LOG2").string(),
                                 Raw("dirty-newlog").string()});
  EXPECT_NE(only2.out.find("logs: dirty-newlog.LOG2\n"), std::string::npos) << only2.out;
  EXPECT_NE(only2.out.find("log entries start at sequence 7, not 6"), std::string::npos) << only2.out;
}

TEST_F(SyntheticHives, ValuesAreRenderedByType) {
  auto r = test::RunCommand({Triage(), "inspect", "hive", Raw("clean-values").string(), "--key", "software\\RUN"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want :
       {"\\Software\\Run  [2023-06-20T20:06:58.5999088Z]\n", "  Updater (REG_SZ) = C:\\Users\\Public\\upd.exe /quiet\n",
        "  List (REG_MULTI_SZ) = [\"one\", \"two\"]\n", "  Count (REG_DWORD) = 42 (0x0000002a)\n",
        "  BigEndian (REG_DWORD_BIG_ENDIAN) = 16909060 (0x01020304)\n", "  Magic (REG_BINARY) = 425a68\n",
        "  Nothing (REG_NONE) = (0 bytes)\n", "  (default) (REG_SZ) = default value\n",
        "  Caf\xc3\xa9 \xd0\x96 (REG_SZ) = utf-16 name\n"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
  auto big = test::RunCommand({Triage(), "inspect", "hive", Raw("clean-bigdata").string()});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_NE(
      big.out.find("  Data (REG_BINARY) = 030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8"
                   "ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bc ... (20000 bytes)\n"),
      std::string::npos)
      << big.out;
  auto js = test::RunCommand({Triage(), "inspect", "hive", "--json", Raw("clean-bigdata").string(), "--key", "Big"});
  const auto lines = JsonLines(js.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["values"][0]["size"], 20000);
  EXPECT_EQ(lines[1]["values"][0]["data"].get<std::string>().size(), 40000u);
}

// The nk cell named `name` (ASCII, flagged compressed) in a hive file:
// returns the file offset of its cell data (the "nk" signature).
std::size_t FindKeyCell(const std::string& hive, const std::string& name) {
  for (std::size_t at = hive.find("nk"); at != std::string::npos; at = hive.find("nk", at + 1)) {
    if (at + 76 + name.size() > hive.size()) break;
    const auto len = static_cast<std::size_t>(static_cast<unsigned char>(hive[at + 72]) |
                                              static_cast<unsigned char>(hive[at + 73]) << 8);
    if (len == name.size() && hive.compare(at + 76, len, name) == 0) return at;
  }
  return std::string::npos;
}

std::uint32_t Le32(const std::string& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
  return v;
}

TEST_F(SyntheticHives, BrokenCellsAreReportedWhereTheyAreAndTheWalkGoesOn) {
  std::string hive = test::ReadFile(Raw("clean-lists"));
  // \Deep's subkey list (an li) loses its signature; \Other's only value cell
  // loses its own.
  const std::size_t deep = FindKeyCell(hive, "Deep");
  const std::size_t other = FindKeyCell(hive, "Other");
  ASSERT_NE(deep, std::string::npos);
  ASSERT_NE(other, std::string::npos);
  const std::size_t list = 4096 + Le32(hive, deep + 28) + 4;
  ASSERT_EQ(hive.substr(list, 2), "li");
  hive.replace(list, 2, "XX");
  const std::size_t value_list = 4096 + Le32(hive, other + 40) + 4;
  const std::size_t vk = 4096 + Le32(hive, value_list) + 4;
  ASSERT_EQ(hive.substr(vk, 2), "vk");
  hive.replace(vk, 2, "XX");
  test::WriteFile(dir_ / "broken", hive);

  auto r = test::RunCommand({Triage(), "inspect", "hive", (dir_ / "broken").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto deep_line = r.out.find("\\Deep  [");
  const auto deep_error = r.out.find("  error: subkeys: subkey list cell 0x", deep_line);
  const auto other_line = r.out.find("\\Other  [");
  const auto other_error = r.out.find("  error: value: value cell 0x", other_line);
  ASSERT_NE(deep_line, std::string::npos) << r.out;
  ASSERT_NE(deep_error, std::string::npos) << r.out;
  EXPECT_LT(deep_error, other_line) << r.out;
  ASSERT_NE(other_line, std::string::npos) << r.out;
  EXPECT_NE(other_error, std::string::npos) << r.out;
  // The keys after the broken list are all there.
  EXPECT_NE(r.out.find("\\Big\\Sub11  ["), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\\Deep\\L0"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("2 errors"), std::string::npos) << r.err;

  auto js = test::RunCommand({Triage(), "inspect", "hive", "--json", (dir_ / "broken").string(), "--key", "Deep"});
  EXPECT_EQ(js.exit_code, 1);
  const auto lines = JsonLines(js.out);
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_EQ(lines[1]["errors"].size(), 1u) << lines[1];
  EXPECT_NE(lines[1]["errors"][0].get<std::string>().find("no lf/lh/li/ri signature"), std::string::npos);
}

void Put32(std::string& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

TEST_F(SyntheticHives, ACycleThroughSubkeyListsIsReportedAndNotFollowed) {
  // regf rejects a cell repeated within one list, but nothing stops a key
  // from listing one of its ancestors: \Deep\L0\...\L7 is given the root's
  // subkey list (Big, Deep, Other), so Deep is its own descendant.
  std::string hive = test::ReadFile(Raw("clean-lists"));
  const std::size_t root = 4096 + Le32(hive, 36) + 4;
  const std::size_t l7 = FindKeyCell(hive, "L7");
  ASSERT_NE(l7, std::string::npos);
  Put32(hive, l7 + 20, 3);
  Put32(hive, l7 + 28, Le32(hive, root + 28));
  test::WriteFile(dir_ / "cycle", hive);
  auto r = test::RunCommand({Triage(), "inspect", "hive", (dir_ / "cycle").string(), "--key", "Deep"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string l7_path = "\\Deep\\L0\\L1\\L2\\L3\\L4\\L5\\L6\\L7";
  // Below L7: Big (entered, not seen before), then Deep again (not entered), then Other.
  EXPECT_NE(r.out.find(l7_path + "\\Big\\Sub11  ["), std::string::npos) << r.out;
  const auto again = r.out.find(l7_path + "\\Deep  [");
  ASSERT_NE(again, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("was reached before (a cycle or a shared subkey); not entered again", again), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find(l7_path + "\\Deep\\L0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(l7_path + "\\Other  ["), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("26 keys, 5 values, 1 errors"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trawl
