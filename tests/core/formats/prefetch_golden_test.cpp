// SPDX-License-Identifier: Apache-2.0
// Golden test: every file under shared/testdata/prefetch is parsed and every
// value that libscca's `sccainfo` printed for it (shared/testdata/
// prefetch-sccainfo/<same path>.sccainfo.txt) must match exactly. sccainfo's
// text is parsed generically into "section/key" -> value pairs; a key we do
// not know how to produce fails the test instead of being skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/formats/prefetch.h"
#include "core/util/file.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

namespace fs = std::filesystem;

struct SccaInfo {
  int exit_status = -1;
  std::string stderr_text;
  // In output order; keys are "<section>/<key>" with the section being
  // "info", "filenames", "volumes" or "volume N".
  std::vector<std::pair<std::string, std::string>> values;
};

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

SccaInfo ParseSccaInfo(const std::string& text) {
  SccaInfo info;
  std::istringstream in(text);
  std::string line;
  enum { kPreamble, kStdout, kStderr } part = kPreamble;
  std::string section;
  while (std::getline(in, line)) {
    if (line.rfind("# exit status:", 0) == 0) {
      info.exit_status = std::stoi(line.substr(14));
      continue;
    }
    if (line == "# --- stdout ---") {
      part = kStdout;
      continue;
    }
    if (line == "# --- stderr ---") {
      part = kStderr;
      continue;
    }
    if (part == kStderr) {
      info.stderr_text += line + "\n";
      continue;
    }
    if (part != kStdout || line.empty() || line.rfind("sccainfo ", 0) == 0) continue;
    if (line[0] != '\t') {
      // Section header such as "Filenames:" or "Volume: 1 information:".
      if (line == "Windows Prefetch File (PF) information:") {
        section = "info";
      } else if (line == "Filenames:") {
        section = "filenames";
      } else if (line == "Volumes:") {
        section = "volumes";
      } else if (line.rfind("Volume: ", 0) == 0) {
        section = "volume " + Trim(line.substr(8, line.find(" information") - 8));
      } else {
        section = "UNKNOWN SECTION " + line;
      }
      continue;
    }
    // "\t<key>\t\t: <value>", where the key itself may hold ": N".
    const auto sep = line.find("\t: ");
    if (sep == std::string::npos) {
      info.values.emplace_back(section + "/UNPARSED", line);
      continue;
    }
    std::string key = Trim(line.substr(1, sep - 1));
    if (!key.empty() && key.back() == ':') key.pop_back();
    info.values.emplace_back(section + "/" + key, line.substr(sep + 3));
  }
  return info;
}

// "Jan 13, 2016 22:04:53.828125000 UTC" -> FILETIME, computed here from the
// calendar (Howard Hinnant's days_from_civil) so it does not lean on the
// code under test. "Not set (0)" -> 0.
bool SccaTimeToFiletime(const std::string& s, std::uint64_t& out) {
  if (s == "Not set (0)") {
    out = 0;
    return true;
  }
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char mon[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  unsigned long nanos = 0;
  if (std::sscanf(s.c_str(), "%3s %d, %d %d:%d:%d.%9lu UTC", mon, &day, &year, &hh, &mm, &ss, &nanos) != 7) {
    return false;
  }
  int month = 0;
  for (int i = 0; i < 12; ++i) {
    if (std::string(mon) == kMonths[i]) month = i + 1;
  }
  if (month == 0) return false;
  const long long y = year - (month <= 2 ? 1 : 0);
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const long long yoe = y - era * 400;
  const long long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long long days_since_unix = era * 146097 + doe - 719468;
  const long long secs = days_since_unix * 86400 + hh * 3600 + mm * 60 + ss;
  const long long kUnixToFiletimeSecs = 11644473600LL;
  out = static_cast<std::uint64_t>(secs + kUnixToFiletimeSecs) * 10000000ULL + nanos / 100;
  return true;
}

std::string Hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Our values under sccainfo's keys. Times are rendered as decimal FILETIMEs
// and the oracle's times are converted to the same.
std::map<std::string, std::string> OurValues(const PrefetchFile& pf) {
  std::map<std::string, std::string> v;
  v["info/Format version"] = std::to_string(pf.version);
  v["info/Prefetch hash"] = Hex32(pf.prefetch_hash);
  v["info/Executable filename"] = pf.executable;
  v["info/Run count"] = std::to_string(pf.run_count);
  const std::size_t slots = pf.version >= 26 ? 8 : 1;
  for (std::size_t i = 0; i < slots; ++i) {
    // Unset slots follow the set ones (checked: sccainfo prints them last).
    const std::uint64_t t = i < pf.last_run_times.size() ? pf.last_run_times[i] : 0;
    const std::string key = slots == 1 ? "info/Last run time" : "info/Last run time: " + std::to_string(i + 1);
    v[key] = std::to_string(t);
  }
  v["filenames/Number of filenames"] = std::to_string(pf.file_metrics.size());
  for (std::size_t i = 0; i < pf.file_metrics.size(); ++i) {
    v["filenames/Filename: " + std::to_string(i + 1)] = pf.file_metrics[i].filename;
  }
  v["volumes/Number of volumes"] = std::to_string(pf.volumes.size());
  for (std::size_t i = 0; i < pf.volumes.size(); ++i) {
    const std::string sec = "volume " + std::to_string(i + 1) + "/";
    v[sec + "Device path"] = pf.volumes[i].device_path;
    v[sec + "Creation time"] = std::to_string(pf.volumes[i].creation_time);
    v[sec + "Serial number"] = Hex32(pf.volumes[i].serial_number);
  }
  return v;
}

struct Totals {
  int files = 0;
  int compared_files = 0;
  int values = 0;
  int filenames = 0;
  int run_times = 0;
  int volumes = 0;
};

// Compares every oracle value; returns the number compared.
int CompareWithOracle(const std::string& name, const PrefetchFile& pf, const SccaInfo& oracle, bool derived_v31,
                      Totals& totals) {
  const auto ours = OurValues(pf);
  int compared = 0;
  for (const auto& [key, raw_value] : oracle.values) {
    std::string expected = raw_value;
    if (key.find("time") != std::string::npos) {
      std::uint64_t ft = 0;
      EXPECT_TRUE(SccaTimeToFiletime(raw_value, ft)) << name << ": bad time " << raw_value;
      expected = std::to_string(ft);
      if (key.find("Last run") != std::string::npos && ft != 0) ++totals.run_times;
    }
    if (derived_v31 && key == "info/Format version") {
      // The oracle ran on a copy relabelled 31 -> 30.
      EXPECT_EQ(expected, "30") << name;
      EXPECT_EQ(pf.version, 31u) << name;
      ++compared;
      continue;
    }
    const auto it = ours.find(key);
    if (it == ours.end()) {
      ADD_FAILURE() << name << ": sccainfo prints '" << key << "' which the test does not map";
      continue;
    }
    EXPECT_EQ(it->second, expected) << name << ": " << key;
    if (key.rfind("filenames/Filename:", 0) == 0) ++totals.filenames;
    if (key.find("/Device path") != std::string::npos) ++totals.volumes;
    ++compared;
  }
  return compared;
}

TEST(PrefetchGoldenTest, EveryFileMatchesSccainfo) {
  const fs::path root = test::SharedTestdata() / "prefetch";
  const fs::path oracle_root = test::SharedTestdata() / "prefetch-sccainfo";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 70u);

  Totals totals;
  std::map<std::uint32_t, int> by_version;
  for (const auto& path : files) {
    const std::string rel = fs::relative(path, root).string();
    SCOPED_TRACE(rel);
    ++totals.files;
    auto bytes = ReadFileBytes(path);
    ASSERT_TRUE(bytes) << bytes.error().ToString();
    const fs::path oracle_path = oracle_root / (rel + ".sccainfo.txt");
    const fs::path derived_path = oracle_root / (rel + ".DERIVED-v31-relabelled-as-v30.sccainfo.txt");
    ASSERT_TRUE(fs::exists(oracle_path)) << "no sccainfo output for " << rel;
    const SccaInfo oracle = ParseSccaInfo(ReadFileText(oracle_path).value());
    auto parsed = ParsePrefetch(*bytes);

    if (oracle.exit_status == 0) {
      ASSERT_TRUE(parsed) << parsed.error().ToString();
      ASSERT_FALSE(oracle.values.empty());
      totals.values += CompareWithOracle(rel, *parsed, oracle, false, totals);
      ++totals.compared_files;
      ++by_version[parsed->version];
      continue;
    }
    // sccainfo refused the file: either a v31 file (compare with the derived
    // oracle) or a file that is not a prefetch at all.
    if (fs::exists(derived_path)) {
      ASSERT_NE(oracle.stderr_text.find("unsupported format version"), std::string::npos);
      ASSERT_TRUE(parsed) << parsed.error().ToString();
      EXPECT_EQ(parsed->version, 31u);
      EXPECT_EQ(parsed->variant, 2);
      const SccaInfo derived = ParseSccaInfo(ReadFileText(derived_path).value());
      ASSERT_EQ(derived.exit_status, 0);
      totals.values += CompareWithOracle(rel, *parsed, derived, true, totals);
      ++totals.compared_files;
      ++by_version[parsed->version];
      continue;
    }
    ASSERT_FALSE(parsed) << "sccainfo rejected this file but ParsePrefetch accepted it";
    EXPECT_EQ(parsed.error().code, ErrorCode::kFormat);
    EXPECT_NE(parsed.error().message.find("not a prefetch file"), std::string::npos) << parsed.error().message;
  }
  std::printf(
      "[ golden   ] %d files, %d compared with sccainfo, %d values matched "
      "(%d filenames, %d set last-run times, %d volumes)\n",
      totals.files, totals.compared_files, totals.values, totals.filenames, totals.run_times, totals.volumes);
  for (const auto& [version, count] : by_version) {
    std::printf("[ golden   ] version %u: %d files\n", version, count);
  }
  // A golden test that silently compares nothing is a defect.
  EXPECT_EQ(totals.compared_files + 1, totals.files);  // all but notAPrefetch.pf
  EXPECT_GE(totals.values, 5000);
  EXPECT_GE(totals.filenames, 4000);
  EXPECT_GE(by_version.size(), 5u);
}

// Second oracle for what sccainfo does not print: libscca's Python binding
// (python3-libscca) gives each file metrics entry's filename (looked up by
// the entry's offset) and NTFS file reference. pyscca rejects v31, like
// sccainfo.
TEST(PrefetchGoldenTest, FileMetricsMatchPyscca) {
  const char* kPython = "/usr/bin/python3";
  if (!fs::exists(kPython) || test::RunCommand({kPython, "-c", "import pyscca"}).exit_code != 0) {
    GTEST_SKIP() << "python3-libscca not available";
  }
  const fs::path root = test::SharedTestdata() / "prefetch";
  std::vector<std::string> argv = {kPython, "-c", R"PY(
import json, sys, pyscca
for p in sys.argv[1:]:
    try:
        f = pyscca.open(p)
    except Exception as e:
        print(json.dumps({"path": p, "error": str(e)}))
        continue
    ms = []
    for i in range(f.number_of_file_metrics_entries):
        m = f.get_file_metrics_entry(i)
        ms.append([m.filename, m.file_reference])
    print(json.dumps({"path": p, "metrics": ms}))
)PY"};
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) argv.push_back(e.path().string());
  }
  const auto run = test::RunCommand(argv);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::string line;
  int files = 0, names = 0, refs = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    const std::string path = j["path"];
    SCOPED_TRACE(path);
    auto parsed = ParsePrefetch(ReadFileBytes(path).value());
    if (j.contains("error")) continue;  // v31 and notAPrefetch, covered above
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    const auto& metrics = j["metrics"];
    ASSERT_EQ(metrics.size(), parsed->file_metrics.size());
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const auto& ours = parsed->file_metrics[i];
      if (!metrics[i][0].is_null()) {
        EXPECT_EQ(metrics[i][0].get<std::string>(), ours.filename) << i;
        ++names;
      }
      if (metrics[i][1].is_null()) {
        EXPECT_EQ(ours.file_reference, 0u) << i;  // v17 has no reference field
      } else {
        EXPECT_EQ(metrics[i][1].get<std::uint64_t>(), ours.file_reference) << i;
        ++refs;
      }
    }
    ++files;
  }
  std::printf("[ pyscca   ] %d files, %d metric filenames and %d file references matched\n", files, names, refs);
  EXPECT_GE(files, 70);
  EXPECT_GE(names, 4000);
  EXPECT_GE(refs, 3000);
}

}  // namespace
}  // namespace trawl::core::formats
