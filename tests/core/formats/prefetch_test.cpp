// SPDX-License-Identifier: Apache-2.0
#include "core/formats/prefetch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/formats/lzxpress_huffman.h"
#include "core/formats/prefetch_json.h"
#include "core/util/file.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> Load(const std::string& rel) {
  auto bytes = ReadFileBytes(test::SharedTestdata() / "prefetch" / rel);
  EXPECT_TRUE(bytes) << rel;
  return bytes ? *bytes : std::vector<std::byte>{};
}

std::vector<fs::path> AllPrefetchFiles() {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(test::SharedTestdata() / "prefetch")) {
    if (e.is_regular_file() && e.path().extension() == ".pf") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void PutU32(std::vector<std::byte>& d, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) d[off + i] = static_cast<std::byte>(v >> (8 * i));
}

constexpr const char* kXpNotepad = "ericzimmerman-prefetch/XPPro/NOTEPAD.EXE-336351A9.pf";
constexpr const char* kWin7Notepad = "ericzimmerman-prefetch/Win7/NOTEPAD.EXE-D8414F97.pf";
constexpr const char* kWin81Cmd = "dfir-artifact-museum/Win81Update/RathbunVM/CMD.EXE-89305D47.pf";
constexpr const char* kWin10Variant1 =
    "dfir-artifact-museum/Win10/"
    "en_windows_10_consumer_edition_version_1809_updated_sept_2018_x64_dvd_491ea967.iso/"
    "AUDIODG.EXE-AB22E9A6.pf";
constexpr const char* kWin10Variant2 = "frnsc-prefetch/30/C/Windows/Prefetch/CMD.EXE-6D6290C5.pf";
constexpr const char* kV31Plain = "dfir-artifact-museum/Win11/SutharPC/Decompressed-v31/CMD.EXE-F0053CFF.pf";

TEST(PrefetchTest, HashVectors) {
  // libscca documentation's XP example, confirmed by the XP files' names.
  EXPECT_EQ(PrefetchHashXp("\\DEVICE\\HARDDISKVOLUME1\\WINDOWS\\NOTEPAD.EXE"), 0x189578DAu);
  // The 2008 function is the Vista one unrolled by eight: equal everywhere,
  // including lengths around the unrolled step.
  std::mt19937 rng(3);
  for (int len = 0; len < 80; ++len) {
    std::string s;
    for (int i = 0; i < len; ++i) s.push_back(static_cast<char>('A' + rng() % 26));
    EXPECT_EQ(PrefetchHash2008(s), PrefetchHashVista(s)) << s;
  }
  EXPECT_EQ(PrefetchHashVista(""), 314159u);
}

// Real files: the hash in the header (and the file name) must equal the hash
// of the executable's own path from the file metrics. Hosted executables
// (dllhost, taskhost...) and Windows 10+ (\VOLUME{} names) hash other
// inputs, so the check counts matches rather than requiring every file.
TEST(PrefetchTest, HashesMatchRealFiles) {
  int xp_files = 0, xp_matches = 0, vista_matches = 0;
  for (const auto& path : AllPrefetchFiles()) {
    auto bytes = ReadFileBytes(path);
    ASSERT_TRUE(bytes);
    auto pf = ParsePrefetch(*bytes);
    if (!pf || pf->version >= 30) continue;
    if (pf->version == 17) ++xp_files;
    for (const auto& m : pf->file_metrics) {
      const auto slash = m.filename.rfind('\\');
      if (slash == std::string::npos || !EqualsIgnoreCaseAscii(m.filename.substr(slash + 1), pf->executable)) {
        continue;
      }
      const std::string upper = ToUpperAscii(m.filename);
      if (pf->version == 17 && PrefetchHashXp(upper) == pf->prefetch_hash) ++xp_matches;
      if (pf->version > 17 && PrefetchHash2008(upper) == pf->prefetch_hash) ++vista_matches;
    }
  }
  EXPECT_EQ(xp_files, 8);
  EXPECT_EQ(xp_matches, 8);
  EXPECT_GE(vista_matches, 25);
}

TEST(PrefetchTest, ParsesEachVersionAndVariant) {
  struct Case {
    const char* rel;
    std::uint32_t version;
    bool compressed;
    int variant;
  };
  const Case cases[] = {{kXpNotepad, 17, false, 0},    {kWin7Notepad, 23, false, 0},  {kWin81Cmd, 26, false, 0},
                        {kWin10Variant1, 30, true, 1}, {kWin10Variant2, 30, true, 2}, {kV31Plain, 31, false, 2}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rel);
    auto pf = ParsePrefetch(Load(c.rel));
    ASSERT_TRUE(pf) << pf.error().ToString();
    EXPECT_EQ(pf->version, c.version);
    EXPECT_EQ(pf->compressed, c.compressed);
    EXPECT_EQ(pf->variant, c.variant);
    EXPECT_FALSE(pf->file_metrics.empty());
    EXPECT_GT(pf->trace_chain_count, 0u);
    ASSERT_FALSE(pf->volumes.empty());
    // Directory strings and metric paths live on their volume: each starts
    // with a volume's device path.
    for (const auto& v : pf->volumes) {
      EXPECT_FALSE(v.directories.empty());
      for (const auto& d : v.directories) {
        EXPECT_EQ(d.rfind(v.device_path, 0), 0u) << d << " vs " << v.device_path;
      }
    }
    std::size_t on_volume = 0;
    for (const auto& m : pf->file_metrics) {
      for (const auto& v : pf->volumes) {
        if (m.filename.rfind(v.device_path, 0) == 0) {
          ++on_volume;
          break;
        }
      }
    }
    EXPECT_EQ(on_volume, pf->file_metrics.size());
    if (c.version == 17) {
      for (const auto& m : pf->file_metrics) EXPECT_EQ(m.file_reference, 0u);
    }
  }
}

TEST(PrefetchTest, RejectsNonPrefetchAndUnknownVariants) {
  auto bad = ParsePrefetch(Load("ericzimmerman-prefetch/Bad/notAPrefetch.pf"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kFormat);
  EXPECT_NE(bad.error().message.find("not a prefetch file"), std::string::npos);
  EXPECT_FALSE(ParsePrefetch(Bytes{}));

  // MAM\x84 (another compressed container) is refused by name.
  auto mam = Load(kWin10Variant2);
  mam[3] = std::byte{0x84};
  auto r = ParsePrefetch(mam);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("MAM\\x84"), std::string::npos) << r.error().message;

  // A declared decompressed size beyond the cap is a limit error.
  mam = Load(kWin10Variant2);
  PutU32(mam, 4, 100u << 20);
  r = ParsePrefetch(mam);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);

  // v30 with a metrics offset that is neither 0x130 nor 0x128.
  auto v31 = Load(kV31Plain);
  PutU32(v31, 0, 30);
  ASSERT_TRUE(ParsePrefetch(v31));  // relabelled v31 parses as v30 variant 2
  PutU32(v31, 0x54, 0x140);
  r = ParsePrefetch(v31);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("0x140"), std::string::npos) << r.error().message;

  // Unknown version.
  auto xp = Load(kXpNotepad);
  PutU32(xp, 0, 18);
  r = ParsePrefetch(xp);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("version 18"), std::string::npos);

  // A metrics count that runs past the end names the array.
  xp = Load(kXpNotepad);
  PutU32(xp, 0x58, 0x10000000);
  r = ParsePrefetch(xp);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTruncated);
  EXPECT_NE(r.error().message.find("file metrics array"), std::string::npos);
}

TEST(PrefetchTest, UnpairedSurrogatesAreKept) {
  auto xp = Load(kXpNotepad);
  // Executable name: "N" then a lone high surrogate then "X".
  const unsigned char name[] = {'N', 0, 0x00, 0xD8, 'X', 0, 0, 0};
  std::memcpy(xp.data() + 0x10, name, sizeof name);
  auto pf = ParsePrefetch(xp);
  ASSERT_TRUE(pf) << pf.error().ToString();
  EXPECT_EQ(pf->executable, "N\xef\xbf\xbdX");
  // JSON stays valid UTF-8 and serialises.
  EXPECT_NO_THROW((void)PrefetchToJson(*pf, "x.pf").dump());
}

TEST(PrefetchTest, ZeroedTruncatedAndCorruptedInputsNeverCrash) {
  const std::vector<std::string> rels = {kXpNotepad,     kWin7Notepad,   kWin81Cmd,
                                         kWin10Variant1, kWin10Variant2, kV31Plain};
  std::vector<std::vector<std::byte>> files;
  for (const auto& rel : rels) files.push_back(Load(rel));

  for (const auto& f : files) {
    std::vector<std::byte> zero(f.size(), std::byte{0});
    EXPECT_FALSE(ParsePrefetch(zero));
    // Every prefix (stepped so it stays fast) errors or parses; none crash.
    const std::size_t step = std::max<std::size_t>(1, f.size() / 700);
    int errors = 0;
    for (std::size_t n = 0; n < f.size(); n += step) {
      auto r = ParsePrefetch(Bytes(f).first(n));
      if (!r) {
        ++errors;
        EXPECT_FALSE(r.error().message.empty());
      }
    }
    EXPECT_GT(errors, 0);
  }
  // Small files get every single prefix length.
  const auto& small = files[0];
  for (std::size_t n = 0; n < std::min<std::size_t>(small.size(), 2048); ++n) {
    (void)ParsePrefetch(Bytes(small).first(n));
  }

  std::mt19937_64 rng(1234567);
  int ok = 0, failed = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    auto f = files[rng() % files.size()];
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      // Bias toward the header and file information, where offsets live.
      const std::size_t limit = rng() % 2 == 0 ? std::min<std::size_t>(f.size(), 0x130) : f.size();
      const std::size_t pos = rng() % limit;
      if (rng() % 3 == 0) {
        f[pos] = static_cast<std::byte>(rng());
      } else {
        f[pos] ^= static_cast<std::byte>(1u << (rng() % 8));
      }
    }
    auto r = ParsePrefetch(f);
    if (r) {
      ++ok;
      // Anything parsed must render.
      EXPECT_NO_THROW((void)PrefetchToJson(*r, "fuzz.pf").dump());
      (void)PrefetchToText(*r, "fuzz.pf");
    } else {
      ++failed;
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(failed, 0);
}

TEST(PrefetchJsonTest, ShapeAndValues) {
  auto pf = ParsePrefetch(Load(kWin10Variant2));
  ASSERT_TRUE(pf) << pf.error().ToString();
  const auto j = PrefetchToJson(*pf, "C:\\Windows\\Prefetch\\CMD.EXE-6D6290C5.pf");
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"compressed", "executable", "files", "hash", "last_run_times", "path",
                                            "run_count", "version", "volumes"}));
  EXPECT_EQ(j["version"], 30);
  EXPECT_EQ(j["compressed"], true);
  EXPECT_EQ(j["executable"], "CMD.EXE");
  EXPECT_EQ(j["hash"], "0x6d6290c5");
  EXPECT_EQ(j["run_count"], pf->run_count);
  ASSERT_EQ(j["files"].size(), pf->file_metrics.size());
  EXPECT_EQ(j["files"][0], pf->file_metrics[0].filename);
  ASSERT_EQ(j["last_run_times"].size(), pf->last_run_times.size());
  for (const auto& t : j["last_run_times"]) {
    const std::string s = t.get<std::string>();
    ASSERT_EQ(s.size(), 28u) << s;  // 2019-03-29T12:34:56.1234567Z
    EXPECT_EQ(s[19], '.');
    EXPECT_EQ(s.back(), 'Z');
  }
  ASSERT_EQ(j["volumes"].size(), pf->volumes.size());
  const auto& v = j["volumes"][0];
  std::vector<std::string> vkeys;
  for (const auto& [k, val] : v.items()) vkeys.push_back(k);
  std::sort(vkeys.begin(), vkeys.end());
  EXPECT_EQ(vkeys, (std::vector<std::string>{"created", "device_path", "directories", "serial"}));
  EXPECT_EQ(v["serial"].get<std::string>().size(), 10u);
  EXPECT_EQ(v["directories"].size(), pf->volumes[0].directories.size());

  // Unset run times are left out; a zero creation time is null.
  PrefetchFile synthetic = *pf;
  synthetic.last_run_times = {0x01D5E3A4B5C6D7E8ULL};
  synthetic.volumes[0].creation_time = 0;
  const auto j2 = PrefetchToJson(synthetic, "x");
  ASSERT_EQ(j2["last_run_times"].size(), 1u);
  EXPECT_TRUE(j2["volumes"][0]["created"].is_null());

  const auto err = PrefetchErrorJson("bad.pf", Error{ErrorCode::kFormat, "nope"});
  EXPECT_EQ(err.dump(), R"({"error":"format error: nope","path":"bad.pf"})");
}

TEST(PrefetchJsonTest, TextEscapesHostStrings) {
  auto pf = ParsePrefetch(Load(kXpNotepad));
  ASSERT_TRUE(pf);
  pf->executable = "EVIL\x1b[31m.EXE";
  pf->file_metrics[0].filename =
      "\\DEVICE\\X\\\x07"
      "BELL.DLL";
  const std::string text = PrefetchToText(*pf, "path\x1b]0;title\x07.pf");
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  EXPECT_NE(text.find("EVIL\\x1b[31m.EXE"), std::string::npos);
  EXPECT_NE(text.find("0x336351a9"), std::string::npos);
  // Paths as they are: EscapeForTerminal doubles only a backslash before 'x' or 'u'.
  EXPECT_NE(text.find(R"(\DEVICE\HARDDISKVOLUME1\)"), std::string::npos) << text;
}

// Issue #18, finding 2: a v17 file whose file metrics all point at one long
// name asked for gigabytes (20,000 metrics x a 1-million-character name) in
// `inspect prefetch` and in `analyze`. Names may decode to at most twice the
// file's size; every real file stays far below (the golden tests parse all).
TEST(PrefetchRegression, RepeatedReferencesToOneNameAreRefusedNotDecoded) {
  std::vector<std::byte> d = Load("ericzimmerman-prefetch/XPPro/EXPLORER.EXE-082F38A9.pf");
  ASSERT_FALSE(d.empty());
  ASSERT_TRUE(ParsePrefetch(d)) << "the unmodified file must parse";
  auto u32 = [&](std::size_t off) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(d[off + i]) << (8 * i);
    return v;
  };
  ASSERT_EQ(u32(0), 17u);
  const std::uint32_t metrics = u32(0x54), count = u32(0x58), strings_size = u32(0x68);
  ASSERT_GT(count, 10u);
  // Every metric's name: the whole strings area from its start.
  for (std::uint32_t i = 0; i < count; ++i) {
    PutU32(d, metrics + i * 20 + 8, 0);
    PutU32(d, metrics + i * 20 + 12, strings_size / 2);
  }
  auto pf = ParsePrefetch(d);
  ASSERT_FALSE(pf) << "decoded " << pf->file_metrics.size() << " names";
  EXPECT_EQ(pf.error().code, ErrorCode::kLimit) << pf.error().ToString();
  EXPECT_NE(pf.error().message.find("referenced repeatedly"), std::string::npos) << pf.error().message;
}

}  // namespace
}  // namespace trawl::core::formats
