// SPDX-License-Identifier: Apache-2.0
// ParseShimCache on the real AppCompatCache values of dfir-artifact-museum
// (one per Windows version, XP to 10 Creators) against numbers printed by an
// independent decoder (tests/fixtures/shimcache/oracle.py), on synthetic
// values for the layouts without a real sample (2003, 32-bit Vista, Windows
// 11, AppX records), and on hostile input: every prefix of real values,
// paths and records running past the end, unknown signatures, flipped bytes.
#include "core/formats/shimcache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/time.h"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

namespace fs = std::filesystem;
using trawl::test::SharedTestdata;

fs::path MuseumDir() { return SharedTestdata() / "registry/dfir-artifact-museum/AppCompatCache"; }

#define SKIP_WITHOUT_MUSEUM()                                                                    \
  do {                                                                                           \
    if (!fs::is_directory(MuseumDir())) GTEST_SKIP() << "no shared testdata at " << MuseumDir(); \
  } while (false)

std::string LoadBlob(const std::string& name) { return trawl::test::ReadFile(MuseumDir() / name); }

// Parses an exact-size heap copy, so that ASan reports any read past the end.
Result<ShimCache> Parse(std::string_view bytes) {
  const std::vector<std::byte> copy(AsBytes(bytes).begin(), AsBytes(bytes).end());
  return ParseShimCache(Bytes(copy.data(), copy.size()));
}

std::string Iso(const std::optional<std::int64_t>& ns) { return ns ? UnixNsToIso(*ns) : "unset"; }

// ---- golden values ---------------------------------------------------------

struct GoldenEntry {
  std::size_t index;
  std::string path;
  std::string time;  // ISO 8601 with 9 digits, or "unset"
  std::optional<bool> executed;
  std::uint64_t data_size;
};

struct Golden {
  std::string file;
  std::string format;
  int pointer_bits;
  std::size_t count;
  std::vector<GoldenEntry> entries;  // first, middle (count / 2), last
  std::size_t executed_true;
  std::uint64_t data_size_sum;
  std::size_t path_utf8_bytes;
};

constexpr std::optional<bool> kNa = std::nullopt;

// Every number below was printed by tests/fixtures/shimcache/oracle.py (run
// with /usr/bin/python3 on the same files), a separate struct-based reading of
// the format notes; none was taken from ParseShimCache's output.
const std::vector<Golden>& Goldens() {
  static const std::vector<Golden> kGoldens = {
      {"WinXPx86.bin",
       "xp",
       32,
       17,
       {{0, R"(\??\C:\WINDOWS\system32\wscntfy.exe)", "2008-04-14T12:00:00.000000000Z", kNa, 0},
        {8, R"(\??\C:\Program Files\Internet Explorer\Connection Wizard\icwconn1.exe)",
         "2008-04-14T12:00:00.000000000Z", kNa, 0},
        {16, R"(\??\C:\WINDOWS\system32\oobe\msoobe.exe)", "2008-04-14T12:00:00.000000000Z", kNa, 0}},
       0,
       0,
       657},
      {"Win2k8Standard.bin",
       "vista",
       64,
       873,
       {{0, R"(\??\C:\Program Files (x86)\StorageCraft\ShadowProtect\ShadowSnap\raw_agent_svc.exe)",
         "2014-03-27T14:35:44.000000000Z", true, 0},
        {436, R"(\??\C:\PROGRA~2\ZenithARCA\Uninstall\uninstall.exe)", "2010-05-05T19:18:56.723853700Z", true, 0},
        {872, R"(\??\C:\Windows\SoftwareDistribution\Download\Install\Windows-KB890830-x64-V4.15-delta.exe)",
         "2012-12-07T22:57:27.000000000Z", true, 0}},
       479,
       0,
       43261},
      {"win7x86.bin",
       "7",
       32,
       91,
       {{0, R"(\??\C:\Windows\system32\LogonUI.exe)", "2009-07-14T01:14:22.876000000Z", true, 0},
        {45, R"(\??\C:\Windows\System32\PhotoMetadataHandler.dll)", "2009-07-14T01:16:12.481000000Z", false, 0},
        {90, R"(\??\C:\WINDOWS\SYSTEM32\SETUPUGC.EXE)", "2009-07-14T01:14:37.228000000Z", true, 456}},
       75,
       5928,
       4088},
      {"win7x64.bin",
       "7",
       64,
       304,
       {{0, R"(\??\C:\Windows\system32\wuauclt.exe)", "2014-05-14T16:23:46.553877200Z", true, 0},
        {152,
         R"(\??\C:\Users\chambers\Desktop\osTriage2\Plugins\__tmp\)"
         R"(30e595ee-4eee-4547-9397-df3214d37360\osTriageHelperApp.exe)",
         "2014-04-23T19:03:13.358114100Z", true, 0},
        {303,
         R"(\??\C:\Windows\WinSxS\amd64_microsoft-windows-ie-pdm-configuration_31bf3856ad364e35_)"
         R"(11.2.9600.16428_none_32a601ad2b7a554f\PDMSetup.exe)",
         "2014-03-18T15:04:02.974717200Z", true, 0}},
       223,
       13680,
       17202},
      {"Win80.bin",
       "8",
       0,
       104,
       {{0, R"(SYSVOL\Windows\System32\LogonUI.exe)", "2012-07-26T03:20:49.094000000Z", true, 0},
        {52, R"(SYSVOL\Windows\System32\printui.exe)", "2012-07-26T03:20:52.838000000Z", true, 0},
        {103, R"(SYSVOL\Windows\System32\FlashPlayerApp.exe)", "2012-07-19T02:00:54.026066600Z", false, 0}},
       88,
       9576,
       5005},
      {"Win81.bin",
       "8.1",
       0,
       1024,
       {{0, R"(SYSVOL\Program Files\CrashPlan\jre\bin\java.exe)", "2013-12-04T23:47:23.241732300Z", true, 456},
        {512, R"(\??\F:\92bbd5a926ad6d2ab15775\mrtstub.exe)", "2015-01-30T00:38:00.000000000Z", true, 0},
        {1023, R"(SYSVOL\Program Files (x86)\Google\Chrome\Application\39.0.2171.95\Installer\setup.exe)",
         "2014-12-10T23:45:16.158893800Z", true, 0}},
       842,
       111264,
       66657},
      {"Win10.bin",
       "10",
       0,
       350,
       {{0, R"(C:\WINDOWS\System32\vds.exe)", "2015-03-14T08:51:44.911306800Z", kNa, 124},
        {175, R"(D:\gs_mngr_v3.1.442.0\bin\7z.exe)", "2011-04-19T00:35:16.000000000Z", kNa, 72},
        {349, R"(C:\Windows\system32\services.exe)", "2015-03-14T08:52:48.271763000Z", kNa, 24}},
       0,
       55908,
       19001},
      {"Win10Creators.bin",
       "10-creators",
       0,
       506,
       {{0, R"(C:\Program Files (x86)\NVIDIA Corporation\3D Vision\nvstreg.exe)", "2017-03-16T22:56:01.248714500Z", kNa,
         72},
        {253, R"(C:\Program Files\OSFMount\OSFMount.exe)", "2014-02-07T19:39:12.000000000Z", kNa, 88},
        {505, R"(C:\WINDOWS\system32\services.exe)", "2017-03-18T20:57:39.201977500Z", kNa, 24}},
       0,
       83168,
       30374},
  };
  return kGoldens;
}

TEST(ShimCache, RealValuesMatchTheIndependentOracle) {
  SKIP_WITHOUT_MUSEUM();
  for (const Golden& g : Goldens()) {
    SCOPED_TRACE(g.file);
    const std::string blob = LoadBlob(g.file);
    auto parsed = Parse(blob);
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    EXPECT_EQ(parsed->format, g.format);
    EXPECT_EQ(parsed->pointer_bits, g.pointer_bits);
    EXPECT_TRUE(parsed->warnings.empty()) << parsed->warnings.front();
    ASSERT_EQ(parsed->entries.size(), g.count);
    for (const GoldenEntry& want : g.entries) {
      const ShimCacheEntry& got = parsed->entries[want.index];
      SCOPED_TRACE(want.index);
      EXPECT_EQ(got.position, want.index);
      EXPECT_EQ(got.path, want.path);
      EXPECT_EQ(Iso(got.last_modified), want.time);
      EXPECT_EQ(got.executed, want.executed);
      EXPECT_EQ(got.data_size, want.data_size);
    }
    std::size_t executed = 0;
    std::uint64_t data = 0;
    std::size_t path_bytes = 0;
    for (const ShimCacheEntry& e : parsed->entries) {
      executed += e.executed.value_or(false) ? 1 : 0;
      data += e.data_size;
      path_bytes += e.path.size();
    }
    EXPECT_EQ(executed, g.executed_true);
    EXPECT_EQ(data, g.data_size_sum);
    EXPECT_EQ(path_bytes, g.path_utf8_bytes);
  }
}

TEST(ShimCache, XpKeepsFileSizeAndLastUpdateInLruOrder) {
  SKIP_WITHOUT_MUSEUM();
  auto parsed = Parse(LoadBlob("WinXPx86.bin"));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->entries.size(), 17u);
  // Slot 3 (LRU index 0) and slot 0 (the last LRU index), read with xxd.
  EXPECT_EQ(parsed->entries[0].file_size, 13824u);
  EXPECT_EQ(parsed->entries[16].file_size, 29184u);
  // LRU order is most recent first: the last-update times only fall.
  for (std::size_t i = 1; i < parsed->entries.size(); ++i) {
    ASSERT_TRUE(parsed->entries[i].last_update && parsed->entries[i - 1].last_update);
    EXPECT_GT(*parsed->entries[i - 1].last_update, *parsed->entries[i].last_update) << i;
  }
  EXPECT_EQ(Iso(parsed->entries[0].last_update), "2016-01-13T22:20:03.265625000Z");
}

// ---- synthetic values -------------------------------------------------------

class Blob {
 public:
  Blob& U16(std::uint16_t v) { return Le(v, 2); }
  Blob& U32(std::uint32_t v) { return Le(v, 4); }
  Blob& U64(std::uint64_t v) { return Le(v, 8); }
  Blob& Raw(std::string_view s) {
    bytes_ += s;
    return *this;
  }
  Blob& Zeros(std::size_t n) {
    bytes_.append(n, '\0');
    return *this;
  }
  Blob& Utf16(std::string_view ascii) {
    for (char c : ascii) U16(static_cast<std::uint8_t>(c));
    return *this;
  }
  void Put32(std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::size_t size() const { return bytes_.size(); }
  const std::string& str() const { return bytes_; }

 private:
  Blob& Le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
};

constexpr std::uint64_t kFt2012 = 0x01cd6adda74f9660ULL;  // 2012-07-26T03:20:49.094Z

struct Fixed {
  std::string path;
  std::uint64_t tail;  // 2003: file size; Vista/7: insertion flags | shim flags << 32
};

// A 0xbadc0ffe (2003/Vista) or 0xbadc0fee (7) value with 32- or 64-bit
// entries, paths after the entry table.
std::string BuildFixed(std::uint32_t magic, bool wide, const std::vector<Fixed>& entries) {
  const bool nt61 = magic == 0xbadc0fee;
  const std::size_t header = nt61 ? 128 : 8;
  const std::size_t entry_size = nt61 ? (wide ? 48 : 32) : (wide ? 32 : 24);
  Blob b;
  b.U32(magic).U32(static_cast<std::uint32_t>(entries.size())).Zeros(header - 8);
  std::size_t strings = header + entry_size * entries.size();
  for (const Fixed& e : entries) {
    const auto len = static_cast<std::uint16_t>(2 * e.path.size());
    b.U16(len).U16(len + 2);
    if (wide) {
      b.U32(0).U64(strings);
    } else {
      b.U32(static_cast<std::uint32_t>(strings));
    }
    b.U64(kFt2012).U64(e.tail);
    if (nt61) wide ? b.U64(0).U64(0) : b.U32(0).U32(0);
    strings += len + 2;
  }
  for (const Fixed& e : entries) b.Utf16(e.path).U16(0);
  return b.str();
}

TEST(ShimCache, Server2003EntriesCarryFileSizes) {
  for (bool wide : {false, true}) {
    SCOPED_TRACE(wide);
    auto parsed = Parse(BuildFixed(0xbadc0ffe, wide, {{R"(\??\C:\a.exe)", 2}, {R"(\??\C:\WINDOWS\b.exe)", 70656}}));
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    EXPECT_EQ(parsed->format, "2003");
    EXPECT_EQ(parsed->pointer_bits, wide ? 64 : 32);
    ASSERT_EQ(parsed->entries.size(), 2u);
    EXPECT_EQ(parsed->entries[1].path, R"(\??\C:\WINDOWS\b.exe)");
    EXPECT_EQ(parsed->entries[0].file_size, 2u);
    EXPECT_EQ(parsed->entries[1].file_size, 70656u);
    EXPECT_EQ(parsed->entries[1].executed, std::nullopt);
    EXPECT_EQ(Iso(parsed->entries[1].last_modified), "2012-07-26T03:20:49.094000000Z");
  }
}

TEST(ShimCache, VistaThirtyTwoBitEntriesCarryFlags) {
  auto parsed =
      Parse(BuildFixed(0xbadc0ffe, false, {{R"(\??\C:\x.exe)", 2}, {R"(\??\C:\y.exe)", 1}, {R"(\??\C:\z)", 3}}));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->format, "vista");
  EXPECT_EQ(parsed->pointer_bits, 32);
  ASSERT_EQ(parsed->entries.size(), 3u);
  EXPECT_EQ(parsed->entries[0].executed, true);
  EXPECT_EQ(parsed->entries[1].executed, false);
  EXPECT_EQ(parsed->entries[2].executed, true);
  EXPECT_EQ(parsed->entries[2].file_size, std::nullopt);
}

// Tagged records: tag, CRC (unchecked), body size, body.
std::string Record(std::string_view tag, const std::string& body) {
  return Blob().Raw(tag).U32(0x12345678).U32(static_cast<std::uint32_t>(body.size())).Raw(body).str();
}

std::string Win10Body(std::string_view path, std::uint64_t ft, std::string_view data) {
  return Blob()
      .U16(static_cast<std::uint16_t>(2 * path.size()))
      .Utf16(path)
      .U64(ft)
      .U32(static_cast<std::uint32_t>(data.size()))
      .Raw(data)
      .str();
}

std::string Win8Body(std::string_view path, std::string_view package, std::uint32_t flags, std::string_view data) {
  return Blob()
      .U16(static_cast<std::uint16_t>(2 * path.size()))
      .Utf16(path)
      .U16(static_cast<std::uint16_t>(2 * package.size()))
      .Utf16(package)
      .U32(flags)
      .U32(0)
      .U64(kFt2012)
      .U32(static_cast<std::uint32_t>(data.size()))
      .Raw(data)
      .str();
}

std::string Win10Value(std::uint32_t header, std::uint32_t count, const std::vector<std::string>& records) {
  Blob b;
  b.U32(header).Zeros(header - 16).U32(count).Zeros(8);
  for (const std::string& r : records) b.Raw(r);
  return b.str();
}

TEST(ShimCache, Windows11UsesTheCreatorsLayout) {
  // Windows 11 writes the 0x34-byte header of Windows 10 1703+ (no sample
  // here; laid out after Win10Creators.bin).
  const std::string value =
      Win10Value(0x34, 2,
                 {Record("10ts", Win10Body(R"(C:\Windows\System32\cmd.exe)", kFt2012, "abcd")),
                  Record("10ts", Win10Body("00000009\t0002000100110000\t8664\tMicrosoft.App\t8wekyb3d8bbwe", 0, ""))});
  auto parsed = Parse(value);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->format, "10-creators");
  EXPECT_TRUE(parsed->warnings.empty());
  ASSERT_EQ(parsed->entries.size(), 2u);
  EXPECT_EQ(parsed->entries[0].path, R"(C:\Windows\System32\cmd.exe)");
  EXPECT_EQ(parsed->entries[0].data_size, 4u);
  EXPECT_EQ(parsed->entries[0].executed, std::nullopt);
  EXPECT_EQ(parsed->entries[1].last_modified, std::nullopt);  // AppX records keep no FILETIME
  EXPECT_EQ(parsed->entries[1].position, 1u);
}

TEST(ShimCache, Windows8RecordsSkipThePackageName) {
  Blob b;
  b.U32(0).Zeros(0x7c);  // 8.x headers seen with 0 as well as 0x80 first
  b.Raw(Record("10ts", Win8Body(R"(SYSVOL\Windows\System32\WWAHost.exe)", "Microsoft.BingWeather", 0x43, "xyz")));
  b.Raw(Record("10ts", Win8Body("", "00000009\tmicrosoft.windowscommunicationsapps", 0x10, "")));
  b.Zeros(64);  // zero padding after the last record is not an error
  auto parsed = Parse(b.str());
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->format, "8.1");
  EXPECT_TRUE(parsed->warnings.empty());
  ASSERT_EQ(parsed->entries.size(), 2u);
  EXPECT_EQ(parsed->entries[0].path, R"(SYSVOL\Windows\System32\WWAHost.exe)");
  EXPECT_EQ(Iso(parsed->entries[0].last_modified), "2012-07-26T03:20:49.094000000Z");
  EXPECT_EQ(parsed->entries[0].executed, true);
  EXPECT_EQ(parsed->entries[0].data_size, 3u);
  EXPECT_EQ(parsed->entries[1].path, "");
  EXPECT_EQ(parsed->entries[1].executed, false);
}

// ---- hostile input -----------------------------------------------------------

TEST(ShimCache, EmptyAndShortValuesAreFormatErrors) {
  for (std::string_view v : {std::string_view(), std::string_view("\xee\x0f\xdc", 3)}) {
    auto parsed = Parse(v);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kFormat);
    EXPECT_NE(parsed.error().message.find(std::to_string(v.size()) + "-byte"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(ShimCache, UnknownSignatureIsNamed) {
  const std::string value = Blob().U32(0x12345678).Zeros(200).str();
  auto parsed = Parse(value);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kFormat);
  EXPECT_NE(parsed.error().message.find("0x12345678"), std::string::npos) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("204-byte"), std::string::npos) << parsed.error().message;
  // A Windows 10 header size without its record tag is no Windows 10 value.
  EXPECT_FALSE(Parse(Blob().U32(0x30).Zeros(0x40).str()));
}

TEST(ShimCache, PathPastTheEndStopsWithAWarning) {
  // Windows 10: the second record's path size exceeds its record.
  std::string bad = Blob().U16(0x400).Utf16("C:\\x").U64(kFt2012).U32(0).str();
  auto parsed = Parse(Win10Value(0x30, 3,
                                 {Record("10ts", Win10Body(R"(C:\ok.exe)", kFt2012, "")), Record("10ts", bad),
                                  Record("10ts", Win10Body(R"(C:\never.exe)", kFt2012, ""))}));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->entries.size(), 1u);
  EXPECT_EQ(parsed->entries[0].path, R"(C:\ok.exe)");
  ASSERT_EQ(parsed->warnings.size(), 1u);
  EXPECT_NE(parsed->warnings[0].find("entry 1 at 0x"), std::string::npos) << parsed->warnings[0];
  EXPECT_NE(parsed->warnings[0].find("path"), std::string::npos) << parsed->warnings[0];
  EXPECT_NE(parsed->warnings[0].find("stopped"), std::string::npos) << parsed->warnings[0];

  // Windows 7: the third entry's path offset points past the value.
  std::string seven = BuildFixed(0xbadc0fee, true, {{"\\??\\C:\\a", 2}, {"\\??\\C:\\b", 2}, {"\\??\\C:\\c", 2}});
  Blob patched;
  patched.Raw(seven);
  patched.Put32(128 + 2 * 48 + 8, 0x7fff0000);
  parsed = Parse(patched.str());
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->entries.size(), 2u);
  ASSERT_EQ(parsed->warnings.size(), 1u);
  EXPECT_NE(parsed->warnings[0].find("entry 2 at 0xe0: path"), std::string::npos) << parsed->warnings[0];
}

TEST(ShimCache, HugeCountsAreBoundedByTheValue) {
  std::string seven = BuildFixed(0xbadc0fee, false, {{"\\??\\C:\\a", 2}});
  Blob b;
  b.Raw(seven);
  b.Put32(4, 0xffffffff);
  auto parsed = Parse(b.str());
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_LE(parsed->entries.size(), b.size() / 32);
  EXPECT_FALSE(parsed->warnings.empty());

  // XP: an LRU count beyond the 96 slots and an index naming no slot.
  Blob xp;
  xp.U32(0xdeadbeef).U32(96).U32(0xffffffff).U32(0).U32(0).U32(500).Zeros(400 - 24);
  xp.Utf16("\\??\\C:\\a.exe").Zeros(552 - 24);
  parsed = Parse(xp.str());
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->entries.size(), 1u);
  EXPECT_EQ(parsed->entries[0].path, "\\??\\C:\\a.exe");
  ASSERT_EQ(parsed->warnings.size(), 2u);
  EXPECT_NE(parsed->warnings[1].find("LRU index 500"), std::string::npos) << parsed->warnings[1];
}

TEST(ShimCache, GarbageAfterTheRecordsIsReported) {
  Blob b;
  b.Raw(Win10Value(0x34, 1, {Record("10ts", Win10Body("C:\\a.exe", kFt2012, ""))}));
  b.Raw("junk");
  auto parsed = Parse(b.str());
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->entries.size(), 1u);
  ASSERT_EQ(parsed->warnings.size(), 1u);
  EXPECT_NE(parsed->warnings[0].find("entry 1 at 0x"), std::string::npos) << parsed->warnings[0];
}

bool SameEntry(const ShimCacheEntry& a, const ShimCacheEntry& b) {
  return a.position == b.position && a.path == b.path && a.last_modified == b.last_modified &&
         a.executed == b.executed && a.data_size == b.data_size && a.file_size == b.file_size &&
         a.last_update == b.last_update;
}

// Parses prefixes of a real value (every length below `dense`, then every
// `stride`-th): each must fail or give a prefix of the full value's entries;
// with `warn_on_loss`, losing entries must warn (formats whose header holds
// the count; a tagged value cut between records is indistinguishable from a
// shorter one).
void CheckPrefixes(const std::string& name, std::size_t dense, std::size_t stride, bool warn_on_loss) {
  SCOPED_TRACE(name);
  const std::string blob = LoadBlob(name);
  auto full = Parse(blob);
  ASSERT_TRUE(full) << full.error().ToString();
  for (std::size_t length = 0; length < blob.size(); length += length < dense ? 1 : stride) {
    auto parsed = Parse(std::string_view(blob).substr(0, length));
    if (!parsed) continue;
    ASSERT_LE(parsed->entries.size(), full->entries.size()) << length;
    if (!parsed->entries.empty()) {
      ASSERT_EQ(parsed->format, full->format) << length;
    }
    for (std::size_t i = 0; i < parsed->entries.size(); ++i) {
      ASSERT_TRUE(SameEntry(parsed->entries[i], full->entries[i])) << "length " << length << " entry " << i;
    }
    if (warn_on_loss && parsed->entries.size() < full->entries.size()) {
      ASSERT_FALSE(parsed->warnings.empty()) << "length " << length;
    }
  }
}

TEST(ShimCache, EveryPrefixOfRealValuesIsSafe) {
  SKIP_WITHOUT_MUSEUM();
  CheckPrefixes("win7x86.bin", SIZE_MAX, 1, true);
  // The others: every length of the first records, then at a stride.
  CheckPrefixes("WinXPx86.bin", 4096, 7, true);
  CheckPrefixes("Win80.bin", 4096, 61, false);
  CheckPrefixes("win7x64.bin", 4096, 13, true);
  CheckPrefixes("Win2k8Standard.bin", 4096, 101, true);
  CheckPrefixes("Win81.bin", 4096, 1601, false);
  CheckPrefixes("Win10.bin", 4096, 587, true);
  CheckPrefixes("Win10Creators.bin", 4096, 787, true);
}

TEST(ShimCache, FlippedBytesNeverCrash) {
  SKIP_WITHOUT_MUSEUM();
  std::mt19937 rng(20240601);
  for (const Golden& g : Goldens()) {
    const std::string blob = LoadBlob(g.file);
    for (int round = 0; round < 40; ++round) {
      std::string mutated = blob;
      // Mostly hit the header and first entries, where the lengths live.
      const std::size_t span = std::min<std::size_t>(mutated.size(), round % 2 ? 1024 : mutated.size());
      for (int k = 0; k < 8; ++k) mutated[rng() % span] = static_cast<char>(rng() & 0xff);
      auto parsed = Parse(mutated);
      if (parsed) {
        EXPECT_LE(parsed->entries.size(), mutated.size() / 12) << g.file;
      }
    }
  }
}

}  // namespace
}  // namespace trawl::core::formats
