// SPDX-License-Identifier: Apache-2.0
// trawl's registry hive reader against libregf (Debian python3-libregf,
// through tests/fixtures/registry/regf_oracle.py) on every real hive in
// ../shared/testdata/registry: regipy's (xz), plaso's, the DFIR Artifact
// Museum's Amcache hives and yarp's dirty and Windows-recovered hives. libregf
// ignores transaction logs, so each primary file is opened as it is, without
// its logs. Both sides walk depth-first, subkeys in list order, and must give
// the same keys (paths), last-written times, subkey and value counts, class
// names, value names, types, data sizes and data SHA-1 -- every key and value
// of every hive. The per-hive key/value counts and both walks' times are
// printed for the record (not asserted).
//
// libregf 20201007 (Debian 12) gets two kinds of value data wrong, both
// proven from the raw vk cells (see LibregfQuirk below); those values are
// compared with the raw bytes instead, and only when libregf's answer is
// exactly what its known mistake gives:
//   1. Inline data of 1-3 bytes (data size with bit 31 set: the data sits in
//      the vk's 4-byte data offset field, from its first byte). libregf
//      returns the LAST n bytes of the field. regipy NTUSER_with_winscp:
//      ...\TC4Shell\ArchivePlugins\7z.bzip2 Signature0 (REG_BINARY, 3
//      bytes, vk at file offset 0xc3c0, field 42 5a 68 00): the data is "BZh",
//      bzip2's magic; libregf says 5a 68 00. 7z.gzip: field 1f 8b 08 00 (gzip's
//      magic), libregf 8b 08 00; Image.Mpo: ff d8 ff 00 (JPEG SOI), libregf
//      d8 ff 00. regipy NTUSER Control Panel\Appearance SchemeLangID (2
//      bytes, field 09 04 00 00: LANGID 0x0409, en-US): libregf 00 00.
//      963 values in these hives, most of them 1- and 2-byte REG_BINARY and
//      device-property booleans (type 0xffff0011) in SYSTEM and Amcache.
//   2. REG_SZ / REG_EXPAND_SZ data in a cell: libregf ignores the vk's data
//      size and returns the cell's bytes up to and including the first UTF-16
//      NUL, or the whole cell when there is none -- cutting values that hold a
//      NUL before their end and reading cell slack into values that end
//      without one. regipy SYSTEM ControlSet001\Control\TimeZoneInformation
//      TimeZoneKeyName: the vk says 256 bytes (cell of 260), the data is
//      "Eastern Standard Time" + NUL + slack, libregf says 44 bytes.
//      NTUSER_with_winscp System\GameConfigStore\Children\000bbad6-...
//      GameDVR_GameGUID: the vk says 72 bytes (a GUID string, no NUL), libregf
//      returns 76, taking 4 bytes of slack. The channelUri value of
//      ...\PushNotifications\Backup\Microsoft.YourPhone_8wekyb3d8bbwe!App
//      (same hive): the vk says 211 bytes
//      (ASCII stored in a REG_SZ), libregf returns all 228 bytes of the cell.
//      The vk's data size is the value's size (what RegQueryValueEx returns);
//      1,107 values in these hives.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/regf.h"
#include "tests/support/disk_images.h"
#include "tests/support/regf_walk.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
namespace regf = core::formats::regf;
using Clock = std::chrono::steady_clock;

struct HiveCase {
  std::string name;
  fs::path source;   // a hive, or its .xz
  std::size_t keys;  // libregf's count (the root included), as in WINDOWS-SOURCES.md
  std::size_t values;
};
void PrintTo(const HiveCase& c, std::ostream* os) { *os << c.name; }

bool HavePyregf() {
  static const bool have = test::RunCommand({"/usr/bin/python3", "-c", "import pyregf"}).exit_code == 0;
  return have;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The script's output as text lines; only lines whose text differs from
// ours are parsed (a walk of SYSTEM is 100,000 lines).
struct Oracle {
  std::vector<std::string> lines;
  std::size_t keys = 0, values = 0, errors = 0;
  std::string error_lines;  // the first few, for a failure message
  double seconds = 0;
};

bool StartsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

Oracle RunOracle(const fs::path& hive) {
  const auto start = Clock::now();
  const auto r = test::RunCommand(
      {"/usr/bin/python3", (test::SourceDir() / "tests/fixtures/registry/regf_oracle.py").string(), hive.string()});
  Oracle o;
  o.seconds = Seconds(Clock::now() - start);
  if (r.exit_code != 0) {
    o.errors = 1;
    o.error_lines = "regf_oracle.py exited " + std::to_string(r.exit_code) + ": " + r.err;
    return o;
  }
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // Field order is fixed (regf_oracle.py): "k" or "v" or "err" first. An
    // escaped quote inside a name cannot fake the "err": of a value line.
    if (StartsWith(line, "{\"k\":")) ++o.keys;
    if (StartsWith(line, "{\"v\":")) ++o.values;
    if (line.find("\"err\":") != std::string::npos) {
      if (++o.errors <= 20) o.error_lines += "  " + line.substr(0, 400) + "\n";
    }
    o.lines.push_back(std::move(line));
  }
  return o;
}

std::uint32_t Le32(const std::vector<std::byte>& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
         static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

// When libregf's value line shows one of its two known mistakes (see the top
// of this file), rewrites its "size" and "sha1" to the value's raw bytes as
// the vk cell declares them and returns which mistake it was ("" otherwise:
// the line is left as libregf gave it). Works on the hive file's bytes at
// libregf's own offset of the vk, not through our reader.
std::string LibregfQuirk(const std::vector<std::byte>& hive, test::RegfLine& line) {
  const std::uint64_t off = line.value("off", std::uint64_t{0});  // file offset of the vk cell's data
  if (off < 4100 || off + 20 > hive.size()) return "";
  if (hive[off] != std::byte{'v'} || hive[off + 1] != std::byte{'k'}) return "";
  const std::uint32_t size_field = Le32(hive, off + 4), type = Le32(hive, off + 12);
  if (type != line.value("type", std::uint32_t{0})) return "";
  const std::uint32_t size = size_field & 0x7FFFFFFFu;
  const bool inline_data = (size_field & 0x80000000u) != 0;
  const bool string = type == regf::kRegSz || type == regf::kRegExpandSz;
  const core::Bytes field(hive.data() + off + 8, 4);
  core::Bytes declared;            // the value's data as the vk declares it
  std::vector<std::byte> libregf;  // what libregf makes of it
  if (inline_data) {
    if (size >= 4) return "";
    declared = field.first(size);
    const core::Bytes last = field.last(size);
    libregf.assign(last.begin(), last.end());
    if (string) libregf.resize(4);  // then cut at the NUL below
  } else {
    if (!string) return "";
    const std::uint64_t cell = 4096 + std::uint64_t{Le32(hive, off + 8)};
    if (cell + 4 > hive.size()) return "";
    const std::int32_t cell_size = static_cast<std::int32_t>(Le32(hive, cell));
    const std::uint64_t room = cell_size < 0 ? std::uint64_t(-std::int64_t{cell_size}) - 4 : 0;
    if (room < size || cell + 4 + room > hive.size()) return "";  // big data (db) or broken: not this quirk
    declared = core::Bytes(hive.data() + cell + 4, size);
    libregf.assign(hive.begin() + static_cast<std::ptrdiff_t>(cell + 4),
                   hive.begin() + static_cast<std::ptrdiff_t>(cell + 4 + room));
  }
  if (string) {
    for (std::size_t i = 0; i + 1 < libregf.size(); i += 2) {
      if (libregf[i] == std::byte{0} && libregf[i + 1] == std::byte{0}) {
        libregf.resize(i + 2);
        break;
      }
    }
  }
  const std::string declared_sha1 = test::Sha1Hex(declared);
  if (line.value("size", std::uint64_t{0}) != libregf.size() || line.value("sha1", "") != test::Sha1Hex(libregf) ||
      (line["size"] == declared.size() && line["sha1"] == declared_sha1)) {
    return "";
  }
  line["size"] = declared.size();
  line["sha1"] = declared_sha1;
  return inline_data ? "inline data of 1-3 bytes" : "string cut at the first NUL in the cell";
}

// Skips (returns "") when the source or xz support is missing.
fs::path Unpacked(const fs::path& source) {
  if (source.extension() == ".xz" && !test::CanUnpackXz()) return {};
  return test::UnpackedImage(source);
}

class RegfOracle : public ::testing::TestWithParam<HiveCase> {};

TEST_P(RegfOracle, AgreesWithLibregf) {
  const HiveCase& c = GetParam();
  if (!HavePyregf()) GTEST_SKIP() << "python3-libregf is not installed (dist/install-deps.sh)";
  const fs::path hive = Unpacked(c.source);
  if (hive.empty()) GTEST_SKIP() << c.source << " is missing (or this build cannot unpack .xz)";

  const Oracle oracle = RunOracle(hive);
  ASSERT_EQ(oracle.errors, 0u) << "libregf could not read all of " << c.name << ":\n" << oracle.error_lines;
  EXPECT_EQ(oracle.keys, c.keys) << "libregf's key count for " << c.name << " changed";
  EXPECT_EQ(oracle.values, c.values) << "libregf's value count for " << c.name << " changed";

  std::vector<std::byte> bytes = test::ReadBytes(hive);
  const std::vector<std::byte> raw = bytes;  // for LibregfQuirk
  const auto start = Clock::now();
  auto opened = regf::Hive::Open(std::move(bytes));  // no logs: libregf reads the primary as it is
  ASSERT_TRUE(opened) << c.name << ": " << opened.error().message;
  const test::RegfWalk ours = test::WalkHive(*opened);
  const double our_seconds = Seconds(Clock::now() - start);
  EXPECT_EQ(ours.errors, 0u) << c.name << ": our walk reported errors libregf did not:\n" << test::RegfErrors(ours);

  // Lines whose text is the same are the same line (the "off" included);
  // the others are parsed, corrected for libregf's known mistakes, and
  // compared field by field. Different line counts: compare them all.
  test::RegfWalk want, got;
  const bool aligned = oracle.lines.size() == ours.lines.size();
  std::size_t same_text = 0;
  for (std::size_t i = 0; i < std::max(oracle.lines.size(), ours.lines.size()); ++i) {
    if (aligned && oracle.lines[i] == test::RegfLineText(ours.lines[i])) {
      ++same_text;
      continue;
    }
    if (i < oracle.lines.size()) want.lines.push_back(test::ParseRegfLine(oracle.lines[i]));
    if (i < ours.lines.size()) got.lines.push_back(ours.lines[i]);
  }
  std::map<std::string, std::size_t> quirks;
  for (auto& line : want.lines) {
    if (!line.contains("v")) continue;
    if (const std::string q = LibregfQuirk(raw, line); !q.empty()) ++quirks[q];
  }
  for (test::RegfWalk* walk : {&want, &got}) {
    for (const auto& line : walk->lines) {
      walk->keys += line.contains("k");
      walk->values += line.contains("v");
    }
  }
  const std::string diff = test::DiffRegfWalks(want, got, "pyregf", "ours");
  EXPECT_TRUE(diff.empty()) << c.name << ": " << same_text << " lines have the same text; of the rest:\n" << diff;
  std::string quirk_note;
  for (const auto& [what, n] : quirks) quirk_note += fmt::format("; {} libregf mistakes: {}", n, what);
  std::printf("[ oracle   ] %-28s %6zu keys %6zu values (pyregf %zu/%zu); ours %.3f s, regf_oracle.py %.3f s%s%s\n",
              c.name.c_str(), ours.keys, ours.values, oracle.keys, oracle.values, our_seconds, oracle.seconds,
              opened->header().Dirty() ? " (dirty, read without logs)" : "", quirk_note.c_str());
}

std::vector<HiveCase> Hives() {
  const fs::path r = test::SharedTestdata() / "registry";
  const fs::path regipy = r / "regipy", plaso = r / "plaso", museum = r / "dfir-artifact-museum", yarp = r / "yarp";
  return {
      {"regipy_NTUSER", regipy / "NTUSER.DAT.xz", 1812, 4094},
      {"regipy_NTUSER_with_winscp", regipy / "NTUSER_with_winscp.DAT.xz", 5328, 12014},
      {"regipy_SAM", regipy / "SAM.xz", 65, 70},
      {"regipy_SECURITY", regipy / "SECURITY.xz", 100, 109},
      {"regipy_SYSTEM", regipy / "SYSTEM.xz", 30756, 73456},
      {"regipy_SYSTEM_2", regipy / "SYSTEM_2.xz", 20015, 49779},
      {"regipy_SYSTEM_B", regipy / "SYSTEM_B.xz", 33123, 74957},
      {"regipy_UsrClass", regipy / "UsrClass.dat.xz", 6205, 12369},
      {"regipy_BCD", regipy / "BCD.xz", 132, 103},
      {"regipy_amcache", regipy / "amcache.hve.xz", 2105, 17539},
      {"regipy_transactions_NTUSER", regipy / "transactions_NTUSER.DAT.xz", 2590, 4119},
      {"plaso_NTUSER_XP", plaso / "NTUSER-XP.DAT", 1127, 5602},
      {"plaso_NTUSER_WIN7", plaso / "NTUSER-WIN7.DAT", 2288, 5470},
      {"plaso_win10_Amcache", plaso / "win10-Amcache.hve", 207, 4188},
      {"museum_Amcache_Win10_APTSimulatorVM", museum / "Amcache_Win10_APTSimulatorVM/Amcache.hve", 470, 10942},
      {"museum_Amcache_Server2022_APTSimulatorVM", museum / "Amcache_Server2022_APTSimulatorVM/Amcache.hve", 264, 6556},
      {"museum_Amcache_Win10_RathbunVM", museum / "Amcache_Win10_RathbunVM/Amcache.hve", 972, 18956},
      {"museum_Amcache_Win2012R2_StolenSzechuan", museum / "Amcache_Win2012R2_StolenSzechuan/Amcache.hve", 492, 933},
      // yarp's NewDirtyHive read without its logs has 2 values; Windows 10's
      // recovery of it has 1 (see regf_replay_test.cpp).
      {"yarp_NewDirtyHive", yarp / "NewDirtyHive1/NewDirtyHive", 5, 2},
      {"yarp_RecoveredHive_Windows10", yarp / "NewDirtyHive1/RecoveredHive_Windows10", 5, 1},
      {"yarp_OldDirtyHive", yarp / "OldDirtyHive/OldDirtyHive", 5003, 0},
      {"yarp_RecoveredHive_Windows7", yarp / "OldDirtyHive/RecoveredHive_Windows7", 5003, 1},
  };
}

INSTANTIATE_TEST_SUITE_P(Hives, RegfOracle, ::testing::ValuesIn(Hives()),
                         [](const ::testing::TestParamInfo<HiveCase>& i) { return i.param.name; });

// regipy's corrupted_system_hive: whole hive bins were zeroed (the first
// non-"hbin" page is at file offset 0x1a000; 34 such gaps in all), while the
// root key's subkey list (lh, 7 subkeys, cell 0x1c7b28) sits in an intact bin
// past the first gap. libregf reads the bins as a chain, stops at the first
// gap and so cannot open the root key at all ("unable to retrieve hive bin at
// offset: 1866536 (0x001c7b28)"). We keep every cell offset inside the hive
// bins data and let the rest of the hive stay readable: the root and the keys
// reachable through intact bins are walked, and every reference into a
// zeroed bin is an error naming its cell, never a crash.
TEST(RegfOracle, CorruptedSystemHiveIsAPartialWalkWithErrors) {
  const fs::path source = test::SharedTestdata() / "registry/regipy/corrupted_system_hive.xz";
  const fs::path hive = Unpacked(source);
  if (hive.empty()) GTEST_SKIP() << source << " is missing (or this build cannot unpack .xz)";
  if (HavePyregf()) {
    const Oracle oracle = RunOracle(hive);
    ASSERT_EQ(oracle.keys, 0u) << "libregf now reads corrupted_system_hive; compare it as the other hives";
    ASSERT_EQ(oracle.lines.size(), 1u);
    EXPECT_EQ(oracle.errors, 1u);
    EXPECT_NE(oracle.lines.front().find("0x001c7b28"), std::string::npos) << oracle.lines.front();
  }
  const auto start = Clock::now();
  auto opened = regf::Hive::Open(test::ReadBytes(hive));
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_FALSE(opened->header().Dirty());
  const test::RegfWalk ours = test::WalkHive(*opened);
  const double seconds = Seconds(Clock::now() - start);
  ASSERT_GE(ours.keys, 1u);
  // The root's own subkey list is intact, so its subkeys are listed.
  ASSERT_FALSE(ours.lines.empty());
  EXPECT_EQ(ours.lines.front().value("nsub", 0u), 7u) << ours.lines.front().dump();
  EXPECT_GT(ours.keys, 1u);
  EXPECT_GT(ours.errors, 0u) << "zeroed hive bins must show as errors";
  for (const auto& line : ours.lines) {
    if (!line.contains("err") || line.contains("v")) continue;
    EXPECT_NE(line.value("err", "").find("0x"), std::string::npos) << "an error names no cell: " << line.dump();
  }
  std::printf(
      "[ oracle   ] corrupted_system_hive: pyregf cannot open the root key; ours %zu keys %zu values "
      "%zu errors in %.3f s, e.g.\n%s",
      ours.keys, ours.values, ours.errors, seconds, test::RegfErrors(ours, 5).c_str());
}

}  // namespace
}  // namespace trawl
