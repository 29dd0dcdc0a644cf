// SPDX-License-Identifier: Apache-2.0
// Transaction-log replay of the registry hive reader (core/formats/regf.h)
// against ground truth (../shared/testdata/WINDOWS-SOURCES.md, "Transaction-
// log facts"):
//   * yarp's NewDirtyHive + .LOG1 + .LOG2 (new format): the hive bins data
//     after replay is byte for byte what Windows 10 itself wrote
//     (RecoveredHive_Windows10 from offset 4096);
//   * yarp's OldDirtyHive + .LOG1 (old format): the same keys and values as
//     Windows 7's recovery (RecoveredHive_Windows7; the bytes differ);
//   * regipy's and the DFIR Artifact Museum's dirty hives: the key and value
//     counts after replay are yarp's (an independent implementation);
// then logs that must change nothing (clean hives), log entries with a broken
// hash, and hostile input: truncated logs and primaries, random byte flips.
// Counts include the root key (libregf's convention: 33123 for SYSTEM_B).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/formats/regf.h"
#include "tests/support/disk_images.h"
#include "tests/support/regf_walk.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
namespace regf = core::formats::regf;
using Clock = std::chrono::steady_clock;

fs::path Registry() { return test::SharedTestdata() / "registry"; }

// The bytes of `source` (a .xz is unpacked); empty when it is missing or
// this build cannot unpack .xz.
std::vector<std::byte> Load(const fs::path& source) {
  if (source.extension() == ".xz" && !test::CanUnpackXz()) return {};
  const fs::path p = test::UnpackedImage(source);
  if (p.empty()) return {};
  return test::ReadBytes(p);
}

regf::LogFile Log(const fs::path& source) {
  std::string name = source.filename().string();
  if (source.extension() == ".xz") name = source.stem().string();
  return {name, Load(source)};
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Notes(const regf::Recovery& r) {
  std::string out;
  for (const auto& n : r.notes) out += "\n  note: " + n;
  for (const auto& a : r.applied)
    out += "\n  applied: " + a.log + " seq " + std::to_string(a.sequence) + " (" + std::to_string(a.pages) + " pages)";
  return out;
}

test::RegfWalk Walk(const regf::Hive& h) { return test::WalkHive(h, {.hash_data = true}); }
test::RegfWalk Count(const regf::Hive& h) { return test::WalkHive(h, {.lines = false}); }

bool ContainsIgnoreCase(std::string hay, std::string needle) {
  std::transform(hay.begin(), hay.end(), hay.begin(), [](unsigned char c) { return std::tolower(c); });
  std::transform(needle.begin(), needle.end(), needle.begin(), [](unsigned char c) { return std::tolower(c); });
  return hay.find(needle) != std::string::npos;
}

// yarp's NewDirtyHive1: primary sequence 3/2; .LOG1 holds one HvLE entry
// (sequence 2), .LOG2 three (3, 4, 5, at log offsets 512, 8192, 32768).
struct NewDirty {
  std::vector<std::byte> primary;
  regf::LogFile log1, log2;
  std::vector<std::byte> recovered;  // RecoveredHive_Windows10
  bool ok() const { return !primary.empty() && !log1.data.empty() && !log2.data.empty() && !recovered.empty(); }
};
NewDirty LoadNewDirty() {
  const fs::path d = Registry() / "yarp/NewDirtyHive1";
  return {Load(d / "NewDirtyHive"), Log(d / "NewDirtyHive.LOG1"), Log(d / "NewDirtyHive.LOG2"),
          Load(d / "RecoveredHive_Windows10")};
}
constexpr std::size_t kLog2Entry2 = 8192, kLog2Entry2Size = 24576;  // the entry with sequence 4

TEST(RegfReplay, NewFormatLogsGiveWindows10sRecoveredHive) {
  const NewDirty t = LoadNewDirty();
  if (!t.ok()) GTEST_SKIP() << "yarp's NewDirtyHive1 is missing";
  // Given in the "wrong" order: each log is recognised by its own base block.
  auto h = regf::Hive::Open(t.primary, {t.log2, t.log1});
  ASSERT_TRUE(h) << h.error().message;
  const regf::Recovery& r = h->recovery();
  EXPECT_TRUE(r.dirty);
  EXPECT_FALSE(r.header_from_log);
  EXPECT_EQ(r.format, "new");
  ASSERT_EQ(r.applied.size(), 4u) << Notes(r);
  const std::vector<std::pair<std::string, std::uint32_t>> want = {
      {"NewDirtyHive.LOG1", 2}, {"NewDirtyHive.LOG2", 3}, {"NewDirtyHive.LOG2", 4}, {"NewDirtyHive.LOG2", 5}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.applied[i].log, want[i].first) << i;
    EXPECT_EQ(r.applied[i].sequence, want[i].second) << i;
    EXPECT_GT(r.applied[i].pages, 0u) << i;
    EXPECT_EQ(r.applied[i].bytes % 4096, 0u) << i;
  }
  const core::Bytes ours = h->bytes();
  ASSERT_EQ(ours.size(), t.recovered.size());
  const core::Bytes ours_bins = ours.subspan(4096);
  const core::Bytes windows_bins = core::Bytes(t.recovered).subspan(4096);
  EXPECT_EQ(test::Md5Hex(windows_bins), "8d59afa13b7e6502168c5760224e16aa");
  EXPECT_EQ(test::Md5Hex(ours_bins), "8d59afa13b7e6502168c5760224e16aa");
  const auto mismatch = std::mismatch(ours_bins.begin(), ours_bins.end(), windows_bins.begin());
  EXPECT_TRUE(mismatch.first == ours_bins.end())
      << "first differing byte at file offset 0x" << std::hex << (4096 + (mismatch.first - ours_bins.begin()));
  // The replayed base block is consistent: clean, checksum right.
  EXPECT_FALSE(h->header().Dirty());
  EXPECT_TRUE(h->header().checksum_ok);
  EXPECT_EQ(h->header().hive_bins_size, 20480u);
  // And so is the tree: the keys and values of Windows' own recovery.
  auto windows = regf::Hive::Open(t.recovered);
  ASSERT_TRUE(windows) << windows.error().message;
  const test::RegfWalk a = Walk(*windows), b = Walk(*h);
  EXPECT_EQ(b.errors, 0u) << test::RegfErrors(b);
  EXPECT_EQ(test::DiffRegfWalks(a, b, "Windows 10", "replayed"), "");
  EXPECT_EQ(b.keys, 5u);
  EXPECT_EQ(b.values, 1u);
  // The primary alone (libregf's view) still has the stale second value.
  auto stale = regf::Hive::Open(t.primary);
  ASSERT_TRUE(stale);
  EXPECT_EQ(Count(*stale).values, 2u);
  EXPECT_TRUE(stale->recovery().dirty);
  EXPECT_TRUE(stale->recovery().applied.empty());
}

TEST(RegfReplay, OldFormatLogGivesWindows7sKeysAndValues) {
  const fs::path d = Registry() / "yarp/OldDirtyHive";
  const auto primary = Load(d / "OldDirtyHive");
  const regf::LogFile log = Log(d / "OldDirtyHive.LOG1");
  const auto recovered = Load(d / "RecoveredHive_Windows7");
  if (primary.empty() || log.data.empty() || recovered.empty()) GTEST_SKIP() << "yarp's OldDirtyHive is missing";
  auto h = regf::Hive::Open(primary, {log});
  ASSERT_TRUE(h) << h.error().message;
  const regf::Recovery& r = h->recovery();
  EXPECT_TRUE(r.dirty);
  EXPECT_EQ(r.format, "old");
  ASSERT_EQ(r.applied.size(), 1u) << Notes(r);
  EXPECT_EQ(r.applied[0].log, "OldDirtyHive.LOG1");
  EXPECT_GT(r.applied[0].pages, 0u);
  EXPECT_FALSE(h->header().Dirty());
  auto windows = regf::Hive::Open(recovered);
  ASSERT_TRUE(windows) << windows.error().message;
  const test::RegfWalk want = Walk(*windows), got = Walk(*h);
  EXPECT_EQ(want.errors, 0u) << test::RegfErrors(want);
  EXPECT_EQ(got.errors, 0u) << test::RegfErrors(got);
  EXPECT_EQ(test::DiffRegfWalks(want, got, "Windows 7", "replayed"), "");
  EXPECT_EQ(got.keys, 5003u);
  EXPECT_EQ(got.values, 1u);
  // Without the log: libregf's view, the value Windows 7 recovered is not there.
  auto stale = regf::Hive::Open(primary);
  ASSERT_TRUE(stale);
  EXPECT_EQ(Count(*stale).values, 0u);
}

// Key and value counts before and after replay, as yarp's replay gives them.
struct CountCase {
  std::string name;
  fs::path primary;
  std::vector<fs::path> logs;
  std::size_t keys_before, values_before, keys_after, values_after;
  enum Expect { kApplied, kNoCountChange, kClean } expect;
};
void PrintTo(const CountCase& c, std::ostream* os) { *os << c.name; }

class RegfReplayCounts : public ::testing::TestWithParam<CountCase> {};

TEST_P(RegfReplayCounts, MatchYarp) {
  const CountCase& c = GetParam();
  const auto primary = Load(c.primary);
  std::vector<regf::LogFile> logs;
  for (const auto& l : c.logs) logs.push_back(Log(l));
  if (primary.empty() || std::any_of(logs.begin(), logs.end(), [](const auto& l) { return l.data.empty(); })) {
    GTEST_SKIP() << c.primary << " or its logs are missing (or this build cannot unpack .xz)";
  }
  auto before = regf::Hive::Open(primary);
  ASSERT_TRUE(before) << before.error().message;
  const test::RegfWalk b = Count(*before);
  EXPECT_EQ(b.errors, 0u) << test::RegfErrors(b);
  EXPECT_EQ(b.keys, c.keys_before);
  EXPECT_EQ(b.values, c.values_before);

  const auto start = Clock::now();
  auto after = regf::Hive::Open(primary, logs);
  ASSERT_TRUE(after) << after.error().message;
  const test::RegfWalk a = Count(*after);
  const double seconds = Seconds(Clock::now() - start);
  const regf::Recovery& r = after->recovery();
  EXPECT_EQ(a.errors, 0u) << test::RegfErrors(a) << Notes(r);
  EXPECT_EQ(a.keys, c.keys_after) << Notes(r);
  EXPECT_EQ(a.values, c.values_after) << Notes(r);
  switch (c.expect) {
    case CountCase::kApplied:
    case CountCase::kNoCountChange:
      EXPECT_TRUE(r.dirty);
      EXPECT_EQ(r.format, "new");
      EXPECT_FALSE(r.applied.empty()) << Notes(r);
      EXPECT_FALSE(after->header().Dirty());
      for (std::size_t i = 1; i < r.applied.size(); ++i) {
        EXPECT_EQ(r.applied[i].sequence, r.applied[i - 1].sequence + 1) << Notes(r);
      }
      break;
    case CountCase::kClean:
      EXPECT_FALSE(r.dirty);
      EXPECT_EQ(r.format, "");
      EXPECT_TRUE(r.applied.empty()) << Notes(r);
      EXPECT_TRUE(std::equal(after->bytes().begin(), after->bytes().end(), primary.begin(), primary.end()));
      break;
  }
  std::printf("[ replay   ] %-38s %zu/%zu -> %zu/%zu keys/values, %zu log entries applied, %.3f s\n", c.name.c_str(),
              b.keys, b.values, a.keys, a.values, r.applied.size(), seconds);
}

std::vector<CountCase> CountCases() {
  const fs::path regipy = Registry() / "regipy", museum = Registry() / "dfir-artifact-museum";
  const auto amcache = [&](const std::string& dir) {
    const fs::path d = museum / dir;
    return std::pair{d / "Amcache.hve", std::vector<fs::path>{d / "Amcache.hve.LOG1", d / "Amcache.hve.LOG2"}};
  };
  const auto [win10, win10_logs] = amcache("Amcache_Win10_APTSimulatorVM");
  const auto [server, server_logs] = amcache("Amcache_Server2022_APTSimulatorVM");
  const auto [rathbun, rathbun_logs] = amcache("Amcache_Win10_RathbunVM");
  const auto [w2012, w2012_logs] = amcache("Amcache_Win2012R2_StolenSzechuan");
  return {
      {"regipy_SYSTEM_B",
       regipy / "SYSTEM_B.xz",
       {regipy / "SYSTEM_B.LOG1.xz", regipy / "SYSTEM_B.LOG2.xz"},
       33123,
       74957,
       35595,
       78901,
       CountCase::kApplied},
      {"regipy_UsrClass",
       regipy / "UsrClass.dat.xz",
       {regipy / "UsrClass.dat.LOG1.xz", regipy / "UsrClass.dat.LOG2.xz"},
       6205,
       12369,
       6238,
       12531,
       CountCase::kApplied},
      {"regipy_transactions_NTUSER",
       regipy / "transactions_NTUSER.DAT.xz",
       {regipy / "transactions_ntuser.dat.log1.xz", regipy / "transactions_ntuser.dat.log2.xz"},
       2590,
       4119,
       3105,
       4695,
       CountCase::kApplied},
      {"museum_Amcache_Win10_APTSimulatorVM", win10, win10_logs, 470, 10942, 471, 10961, CountCase::kApplied},
      {"museum_Amcache_Server2022_APTSimulatorVM", server, server_logs, 264, 6556, 270, 6658, CountCase::kApplied},
      {"museum_Amcache_Win10_RathbunVM", rathbun, rathbun_logs, 972, 18956, 972, 18956, CountCase::kNoCountChange},
      {"museum_Amcache_Win2012R2_StolenSzechuan", w2012, w2012_logs, 492, 933, 492, 933, CountCase::kClean},
  };
}

INSTANTIATE_TEST_SUITE_P(Hives, RegfReplayCounts, ::testing::ValuesIn(CountCases()),
                         [](const ::testing::TestParamInfo<CountCase>& i) { return i.param.name; });

TEST(RegfReplay, CleanHiveWithLogsAppliesNothing) {
  const NewDirty t = LoadNewDirty();
  if (!t.ok()) GTEST_SKIP() << "yarp's NewDirtyHive1 is missing";
  // Windows' recovered hive (sequence 6/6) with the logs it was recovered from.
  auto h = regf::Hive::Open(t.recovered, {t.log1, t.log2});
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_FALSE(h->recovery().dirty);
  EXPECT_FALSE(h->recovery().header_from_log);
  EXPECT_EQ(h->recovery().format, "");
  EXPECT_TRUE(h->recovery().applied.empty()) << Notes(h->recovery());
  EXPECT_TRUE(std::equal(h->bytes().begin(), h->bytes().end(), t.recovered.begin(), t.recovered.end()));
}

// Flips one byte of a copy of NewDirtyHive.LOG2 and replays with it.
regf::Recovery ReplayWithLog2ByteFlipped(const NewDirty& t, std::size_t at) {
  regf::LogFile bad = t.log2;
  bad.data.at(at) ^= std::byte{0x5a};
  auto h = regf::Hive::Open(t.primary, {t.log1, bad});
  EXPECT_TRUE(h) << h.error().message;
  if (!h) return {};
  const test::RegfWalk w = Count(*h);  // must be walkable whatever was applied
  EXPECT_GE(w.keys, 1u);
  return h->recovery();
}

TEST(RegfReplay, LogEntryWithABadHashStopsTheReplay) {
  const NewDirty t = LoadNewDirty();
  if (!t.ok()) GTEST_SKIP() << "yarp's NewDirtyHive1 is missing";
  // In the dirty page data of the entry with sequence 4 (hash-1 covers it),
  // then in its header (hash-2 covers the first 32 bytes: the flags field).
  for (const std::size_t at : {kLog2Entry2 + kLog2Entry2Size - 100, kLog2Entry2 + 8}) {
    SCOPED_TRACE("byte flipped at LOG2 offset " + std::to_string(at));
    const regf::Recovery r = ReplayWithLog2ByteFlipped(t, at);
    ASSERT_EQ(r.applied.size(), 2u) << Notes(r);
    EXPECT_EQ(r.applied[0].log, "NewDirtyHive.LOG1");
    EXPECT_EQ(r.applied[0].sequence, 2u);
    EXPECT_EQ(r.applied[1].log, "NewDirtyHive.LOG2");
    EXPECT_EQ(r.applied[1].sequence, 3u);
    EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(),
                            [](const std::string& n) {
                              return ContainsIgnoreCase(n, "NewDirtyHive.LOG2") && ContainsIgnoreCase(n, "hash");
                            }))
        << "no note says the entry's hash is wrong:" << Notes(r);
  }
  // The only entry of .LOG1 (sequence 2, the first one due): nothing of it
  // is applied, and the notes say why.
  regf::LogFile bad1 = t.log1;
  bad1.data.at(bad1.data.size() - 100) ^= std::byte{0x01};
  auto h = regf::Hive::Open(t.primary, {bad1, t.log2});
  ASSERT_TRUE(h) << h.error().message;
  const regf::Recovery& r = h->recovery();
  EXPECT_TRUE(std::none_of(r.applied.begin(), r.applied.end(), [](const regf::AppliedLogEntry& a) {
    return a.log == "NewDirtyHive.LOG1";
  })) << Notes(r);
  EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) {
    return ContainsIgnoreCase(n, "NewDirtyHive.LOG1") && ContainsIgnoreCase(n, "hash");
  })) << Notes(r);
  EXPECT_GE(Count(*h).keys, 1u);
}

// Hostile input. Each case must not crash (ASan/UBSan in CI), must not fail
// to open what it can open, and a full walk of what opened must finish.

TEST(RegfReplay, EveryPrefixOfALogIsSafe) {
  const NewDirty t = LoadNewDirty();
  if (!t.ok()) GTEST_SKIP() << "yarp's NewDirtyHive1 is missing";
  const auto start = Clock::now();
  // LOG2's entries end at 8192, 32768 and 40960: a cut entry is not applied,
  // nor any after it; LOG1's entry (sequence 2) always is.
  for (std::size_t len = 0; len <= t.log2.data.size(); len += 512) {
    SCOPED_TRACE("LOG2 cut to " + std::to_string(len) + " bytes");
    regf::LogFile cut{t.log2.name, {t.log2.data.begin(), t.log2.data.begin() + static_cast<std::ptrdiff_t>(len)}};
    auto h = regf::Hive::Open(t.primary, {t.log1, cut});
    ASSERT_TRUE(h) << h.error().message;
    const std::size_t whole = (len >= 8192) + (len >= 32768) + (len >= 40960);
    EXPECT_EQ(h->recovery().applied.size(), 1 + whole) << Notes(h->recovery());
    EXPECT_EQ(Count(*h).errors, 0u);
  }
  for (std::size_t len = 0; len <= t.log1.data.size(); len += 512) {
    SCOPED_TRACE("LOG1 cut to " + std::to_string(len) + " bytes");
    regf::LogFile cut{t.log1.name, {t.log1.data.begin(), t.log1.data.begin() + static_cast<std::ptrdiff_t>(len)}};
    auto h = regf::Hive::Open(t.primary, {cut, t.log2});
    ASSERT_TRUE(h) << h.error().message;
    const auto& applied = h->recovery().applied;
    const bool log1_whole = len == t.log1.data.size();
    EXPECT_EQ(std::count_if(applied.begin(), applied.end(), [](const auto& a) { return a.log == "NewDirtyHive.LOG1"; }),
              log1_whole ? 1 : 0)
        << Notes(h->recovery());
    Count(*h);
  }
  std::printf("[ hostile  ] log prefixes: %.3f s\n", Seconds(Clock::now() - start));
}

TEST(RegfReplay, EveryPrefixOfAPrimaryIsSafe) {
  const fs::path d = Registry() / "dfir-artifact-museum/Amcache_Win10_APTSimulatorVM";
  const auto primary = Load(d / "Amcache.hve");
  const std::vector<regf::LogFile> logs = {Log(d / "Amcache.hve.LOG1"), Log(d / "Amcache.hve.LOG2")};
  if (primary.empty() || logs[0].data.empty() || logs[1].data.empty()) GTEST_SKIP() << d << " is missing";
  std::vector<std::size_t> lengths = {0, 1, 4, 511, 512, 4095};
  for (std::size_t len = 4096; len <= 65536; len += 4096) lengths.push_back(len);
  for (std::size_t len : {65536 + 32, 100000, 262144, 500001, 987136 + 4096 - 1}) lengths.push_back(len);
  const auto start = Clock::now();
  std::size_t opened = 0;
  for (const std::size_t len : lengths) {
    SCOPED_TRACE("primary cut to " + std::to_string(len) + " bytes");
    ASSERT_LT(len, primary.size());
    const std::vector<std::byte> cut(primary.begin(), primary.begin() + static_cast<std::ptrdiff_t>(len));
    for (const bool with_logs : {false, true}) {
      auto h = with_logs ? regf::Hive::Open(cut, logs) : regf::Hive::Open(cut);
      if (len < 512) {
        EXPECT_FALSE(h) << "a hive without a whole base block opened";
        continue;
      }
      if (!h) continue;  // e.g. the root key is past the end: a clean error
      ++opened;
      const test::RegfWalk w = Count(*h);
      EXPECT_GE(w.keys, 1u);
    }
  }
  EXPECT_GT(opened, 0u);
  std::printf("[ hostile  ] %zu primary prefixes (%zu opened): %.3f s\n", lengths.size(), opened,
              Seconds(Clock::now() - start));
}

// Flips 1-8 random bytes (a fixed seed) of a copy of a small real hive,
// mostly in its hive bins, sometimes in the base block, then opens and walks
// it. regipy's SAM (65 keys, 70 values in 20 KiB of hive bins, so most flips
// land in a structure) where .xz can be unpacked, else the Win2012R2 Amcache
// (492 keys in 212 KiB) with fewer rounds, to stay fast under ASan.
TEST(RegfReplay, RandomByteFlipsAreSafe) {
  std::vector<std::byte> pristine = Load(Registry() / "regipy/SAM.xz");
  int iterations = 2000;
  if (pristine.empty()) {
    pristine = Load(Registry() / "dfir-artifact-museum/Amcache_Win2012R2_StolenSzechuan/Amcache.hve");
    iterations = 300;
  }
  if (pristine.size() < 8192) GTEST_SKIP() << "neither regipy's SAM nor the Win2012R2 Amcache.hve is here";
  auto clean = regf::Hive::Open(pristine);
  ASSERT_TRUE(clean) << clean.error().message;
  const test::RegfWalk baseline = Count(*clean);
  ASSERT_EQ(baseline.errors, 0u);
  // Only the hive bins in use (the rest of the file is slack).
  const std::size_t used = std::min<std::size_t>(pristine.size(), 4096 + clean->header().hive_bins_size);
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<std::size_t> bins_at(4096, used - 1), header_at(0, 4095), flips(1, 8), one_in(0, 9);
  std::uniform_int_distribution<int> mask(1, 255);
  const auto start = Clock::now();
  std::size_t opened = 0, with_errors = 0, keys = 0;
  for (int i = 0; i < iterations; ++i) {
    std::vector<std::byte> copy = pristine;
    const std::size_t n = flips(rng);
    std::string where;
    for (std::size_t f = 0; f < n; ++f) {
      const std::size_t at = one_in(rng) == 0 ? header_at(rng) : bins_at(rng);
      copy[at] ^= static_cast<std::byte>(mask(rng));
      where += " " + std::to_string(at);
    }
    SCOPED_TRACE("iteration " + std::to_string(i) + ", bytes flipped at" + where);
    auto h = regf::Hive::Open(std::move(copy));
    if (!h) continue;
    ++opened;
    const test::RegfWalk w = test::WalkHive(*h, {.lines = false, .max_keys = 100000});
    keys += w.keys;
    if (w.errors) ++with_errors;
  }
  EXPECT_GT(opened, static_cast<std::size_t>(iterations / 2));
  std::printf(
      "[ hostile  ] %d flipped copies of a %zu-key hive: %zu opened, %zu walked with errors, %zu keys "
      "walked: %.3f s\n",
      iterations, baseline.keys, opened, with_errors, keys, Seconds(Clock::now() - start));
}

// The same for the logs: flips in a copy of NewDirtyHive.LOG2 (base block,
// entry headers, dirty page references, page data).
TEST(RegfReplay, RandomByteFlipsInALogAreSafe) {
  const NewDirty t = LoadNewDirty();
  if (!t.ok()) GTEST_SKIP() << "yarp's NewDirtyHive1 is missing";
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::size_t> at(0, 40960 - 1), flips(1, 4);
  std::uniform_int_distribution<int> mask(1, 255);
  const auto start = Clock::now();
  std::size_t full = 0;
  constexpr int kIterations = 250;
  for (int i = 0; i < kIterations; ++i) {
    regf::LogFile bad = t.log2;
    for (std::size_t f = flips(rng); f > 0; --f) bad.data[at(rng)] ^= static_cast<std::byte>(mask(rng));
    auto h = regf::Hive::Open(t.primary, {t.log1, bad});
    ASSERT_TRUE(h) << "iteration " << i << ": " << h.error().message;
    ASSERT_LE(h->recovery().applied.size(), 4u);
    // Every byte of LOG2 up to 40960 is under its base block checksum or an
    // entry's hashes, so this needs flips that cancel out in the XOR-32 sum.
    if (h->recovery().applied.size() == 4) ++full;
    Count(*h);
  }
  std::printf("[ hostile  ] %d flipped logs (%zu still fully applied): %.3f s\n", kIterations, full,
              Seconds(Clock::now() - start));
}

}  // namespace
}  // namespace trawl
