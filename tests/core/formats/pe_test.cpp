// SPDX-License-Identifier: Apache-2.0
// PeAnalyzer against python3-pefile (Debian's, via /usr/bin/python3) on every
// PE in shared testdata, streaming equivalence, and hostile input.
#include "core/formats/pe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/formats/pe_json.h"
#include "core/util/file.h"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

namespace fs = std::filesystem;
using trawl::test::RunCommand;
using trawl::test::SharedTestdata;
using trawl::test::SourceDir;

std::vector<fs::path> TestPeFiles() {
  std::vector<fs::path> files;
  const fs::path root = SharedTestdata() / "pe";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file()) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::byte> Load(const fs::path& p) {
  auto bytes = ReadFileBytes(p);
  EXPECT_TRUE(bytes) << p;
  return bytes ? *bytes : std::vector<std::byte>{};
}

Bytes View(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

bool HavePefile() {
  return fs::exists("/usr/bin/python3") && RunCommand({"/usr/bin/python3", "-c", "import pefile"}).exit_code == 0;
}

std::map<std::string, nlohmann::json> RunPefileOracle(const std::vector<fs::path>& files) {
  std::vector<std::string> argv = {"/usr/bin/python3", (SourceDir() / "tests/fixtures/pe/pefile_oracle.py").string()};
  for (const auto& f : files) argv.push_back(f.string());
  auto r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, nlohmann::json> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    out[j["path"].get<std::string>()] = j;
  }
  return out;
}

TEST(PeTest, MatchesPefileOnEveryTestPe) {
  if (!HavePefile()) GTEST_SKIP() << "python3-pefile not available in /usr/bin/python3";
  const auto files = TestPeFiles();
  ASSERT_EQ(files.size(), 23u) << "shared testdata/pe changed; update the expected counts";
  const auto oracle = RunPefileOracle(files);
  ASSERT_EQ(oracle.size(), files.size());
  int compared = 0, rejected = 0, with_imports = 0, with_version = 0, with_overlay = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const auto data = Load(path);
    auto ours = AnalyzePe(View(data));
    const nlohmann::json& py = oracle.at(path.string());
    if (py.contains("error")) {
      ASSERT_FALSE(ours) << "pefile rejects this file: " << py["error"];
      EXPECT_EQ(ours.error().code, ErrorCode::kFormat);
      EXPECT_NE(ours.error().message.find("not a PE"), std::string::npos) << ours.error().message;
      if (path.filename() == "_setup.dll") {
        EXPECT_NE(ours.error().message.find("NE (16-bit"), std::string::npos) << ours.error().message;
      }
      ++rejected;
      continue;
    }
    ASSERT_TRUE(ours) << ours.error().ToString();
    const PeInfo& pe = *ours;
    ++compared;
    EXPECT_EQ(pe.imphash, py["imphash"].get<std::string>());
    EXPECT_EQ(pe.machine, py["machine"].get<int>());
    EXPECT_EQ(pe.timestamp, py["timestamp"].get<std::uint32_t>());
    EXPECT_EQ(pe.is_dll, py["is_dll"].get<bool>());
    EXPECT_EQ(pe.entry_point, py["entry_point"].get<std::uint32_t>());
    EXPECT_EQ(pe.image_base, py["image_base"].get<std::uint64_t>());

    // pefile keeps its sections sorted by VirtualAddress (stable).
    std::vector<PeSection> sorted = pe.sections;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const PeSection& a, const PeSection& b) { return a.virtual_address < b.virtual_address; });
    const auto& pys = py["sections"];
    ASSERT_EQ(sorted.size(), pys.size());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      EXPECT_EQ(sorted[i].name, pys[i]["name"].get<std::string>());
      EXPECT_EQ(sorted[i].virtual_address, pys[i]["virtual_address"].get<std::uint32_t>());
      EXPECT_EQ(sorted[i].virtual_size, pys[i]["virtual_size"].get<std::uint32_t>());
      EXPECT_EQ(sorted[i].raw_size, pys[i]["raw_size"].get<std::uint32_t>());
      EXPECT_EQ(sorted[i].raw_offset, pys[i]["raw_offset"].get<std::uint32_t>());
      ASSERT_TRUE(sorted[i].entropy.has_value());
      EXPECT_NEAR(*sorted[i].entropy, pys[i]["entropy"].get<double>(), 1e-9);
    }

    const auto& pyimp = py["imports"];
    ASSERT_EQ(pe.imports.size(), pyimp.size());
    for (std::size_t i = 0; i < pe.imports.size(); ++i) {
      EXPECT_EQ(pe.imports[i].dll, pyimp[i]["dll"].get<std::string>());
      EXPECT_EQ(pe.imports[i].functions.size(), pyimp[i]["count"].get<std::size_t>());
    }
    if (!pe.imports.empty()) ++with_imports;

    if (py["overlay_offset"].is_null()) {
      EXPECT_FALSE(pe.overlay.has_value());
    } else {
      ASSERT_TRUE(pe.overlay.has_value());
      EXPECT_EQ(pe.overlay->offset, py["overlay_offset"].get<std::uint64_t>());
      ++with_overlay;
    }

    const auto& pyver = py["version_info"];
    EXPECT_EQ(pe.version_info.size(), pyver.size());
    for (const auto& [key, value] : pyver.items()) {
      EXPECT_EQ(pe.VersionString(key), value.get<std::string>()) << key;
    }
    if (!pyver.empty()) ++with_version;
  }
  EXPECT_EQ(compared, 22);
  EXPECT_EQ(rejected, 1);
  // Guard against a vacuous comparison: most of these files import and carry
  // version resources.
  EXPECT_EQ(with_imports, 21);
  EXPECT_EQ(with_version, 7);
  EXPECT_EQ(with_overlay, 14);
  std::cout << "[pefile oracle] compared " << compared << " PEs (" << with_imports << " with imports, " << with_version
            << " with version info, " << with_overlay << " with overlay), rejected " << rejected << "\n";
}

Result<PeInfo> AnalyzeInChunks(Bytes data, std::size_t chunk) {
  PeAnalyzer analyzer;
  for (std::size_t pos = 0; pos < data.size(); pos += chunk) {
    analyzer.Update(data.subspan(pos, std::min(chunk, data.size() - pos)));
  }
  return analyzer.Finish();
}

TEST(PeTest, StreamingInAnyChunkSizeEqualsWholeFile) {
  int files = 0;
  for (const auto& path : TestPeFiles()) {
    SCOPED_TRACE(path.string());
    const auto data = Load(path);
    auto whole = AnalyzePe(View(data));
    const std::string expected = whole ? PeToJson(*whole, "x").dump() : PeErrorJson("x", whole.error()).dump();
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{1} << 20}) {
      auto streamed = AnalyzeInChunks(View(data), chunk);
      const std::string got = streamed ? PeToJson(*streamed, "x").dump() : PeErrorJson("x", streamed.error()).dump();
      EXPECT_EQ(got, expected) << "chunk size " << chunk;
    }
    ++files;
  }
  EXPECT_EQ(files, 23);
}

TEST(PeTest, RejectsNonPeWithNamedErrors) {
  auto empty = AnalyzePe({});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("not a PE"), std::string::npos);

  const std::string elf =
      "\x7f"
      "ELF\x02\x01\x01" +
      std::string(100, '\0');
  auto e = AnalyzePe(AsBytes(elf));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kFormat);
  EXPECT_NE(e.error().message.find("no MZ signature"), std::string::npos);

  // A DOS program: MZ header, e_lfanew pointing at plain code.
  std::string dos(512, '\x90');
  dos[0] = 'M';
  dos[1] = 'Z';
  dos[0x3C] = '\x40';
  dos[0x3D] = dos[0x3E] = dos[0x3F] = '\0';
  auto d = AnalyzePe(AsBytes(dos));
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("MZ-only"), std::string::npos) << d.error().message;

  // e_lfanew far beyond the end of a small file.
  dos[0x3F] = '\x7f';
  auto far = AnalyzePe(AsBytes(dos));
  ASSERT_FALSE(far);
  EXPECT_NE(far.error().message.find("MZ-only"), std::string::npos) << far.error().message;
}

// Every truncated prefix of every test PE gives a result or an error, never a
// crash; prefixes long enough for the headers keep machine and timestamp.
TEST(PeTest, TruncatedPrefixesNeverCrash) {
  int analysed = 0;
  for (const auto& path : TestPeFiles()) {
    const auto data = Load(path);
    auto whole = AnalyzePe(View(data));
    const std::size_t step = std::max<std::size_t>(1, data.size() / 97);
    for (std::size_t len = 0; len < data.size(); len += (len < 1024 ? 13 : step)) {
      auto r = AnalyzePe(View(data).first(len));
      ++analysed;
      if (r && whole) {
        EXPECT_EQ(r->machine, whole->machine);
        EXPECT_EQ(r->timestamp, whole->timestamp);
      }
    }
  }
  EXPECT_GT(analysed, 2000);
}

TEST(PeTest, RandomMutationsNeverCrash) {
  std::mt19937_64 rng(0x7261776cULL);
  const auto files = TestPeFiles();
  int ok = 0, errors = 0;
  for (int round = 0; round < 3000; ++round) {
    auto data = Load(files[round % files.size()]);
    // Mutations concentrate on the headers and tables where the parser looks.
    const int flips = 1 + static_cast<int>(rng() % 16);
    for (int i = 0; i < flips; ++i) {
      const std::size_t limit = (rng() % 4 == 0) ? data.size() : std::min<std::size_t>(data.size(), 1024);
      const std::size_t at = rng() % limit;
      switch (rng() % 4) {
        case 0: data[at] = static_cast<std::byte>(rng()); break;
        case 1: data[at] = std::byte{0xFF}; break;
        case 2: data[at] = std::byte{0}; break;
        default:
          if (at + 4 <= data.size()) {
            for (int k = 0; k < 4; ++k) data[at + static_cast<std::size_t>(k)] = std::byte{0xFF};
          }
      }
    }
    const std::size_t chunk = (round % 3 == 0) ? 509 : data.size() + 1;
    auto r = AnalyzeInChunks(View(data), std::max<std::size_t>(chunk, 1));
    r ? ++ok : ++errors;
    if (r) {
      (void)PeToJson(*r, "m").dump();
      (void)PeToText(*r, "m");
    }
  }
  EXPECT_GT(ok, 1000);
  std::cout << "[mutations] results " << ok << ", errors " << errors << "\n";
}

// A minimal PE32 whose header declares absurd counts and sizes.
std::vector<std::byte> HugeDeclarations() {
  std::vector<std::byte> f(0x400, std::byte{0});
  auto put16 = [&](std::size_t o, std::uint16_t v) {
    f[o] = static_cast<std::byte>(v & 0xFF);
    f[o + 1] = static_cast<std::byte>(v >> 8);
  };
  auto put32 = [&](std::size_t o, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) f[o + static_cast<std::size_t>(i)] = static_cast<std::byte>(v >> (8 * i));
  };
  put16(0, 0x5A4D);
  put32(0x3C, 0x40);
  put32(0x40, 0x00004550);
  put16(0x44, 0x014C);
  put16(0x46, 0xFFFF);           // NumberOfSections
  put16(0x54, 0xE0);             // SizeOfOptionalHeader
  put16(0x58, 0x10B);            // Magic
  put32(0x58 + 36, 0x200);       // FileAlignment
  put32(0x58 + 32, 0x1000);      // SectionAlignment
  put32(0x58 + 92, 0xFFFFFFFF);  // NumberOfRvaAndSizes
  for (std::size_t d = 0; d < 16; ++d) {
    put32(0x58 + 96 + 8 * d, 0x1000);
    put32(0x58 + 96 + 8 * d + 4, 0xFFFFFFF0);
  }
  // One section claiming 4 GiB of raw data.
  const std::size_t s = 0x58 + 0xE0;
  std::memcpy(&f[s], ".text\0\0\0", 8);
  put32(s + 8, 0xFFFFFFFF);
  put32(s + 12, 0x1000);
  put32(s + 16, 0xFFFFFE00);
  put32(s + 20, 0x200);
  return f;
}

TEST(PeTest, HugeDeclaredCountsAndSizesStayBounded) {
  const auto f = HugeDeclarations();
  auto r = AnalyzePe(View(f));
  // A truncated section table (65535 declared) is an error in pefile too.
  if (!r) {
    EXPECT_NE(r.error().message.find("section"), std::string::npos) << r.error().message;
  }
  // With tight limits the analyzer still answers without growing.
  PeAnalyzerLimits small;
  small.max_header_bytes = 4096;
  small.max_range_capture_bytes = 1024;
  small.max_total_capture_bytes = 4096;
  auto r2 = AnalyzePe(View(f), small);
  EXPECT_FALSE(r2);  // headers (65535 section headers) exceed 4 KiB
  EXPECT_EQ(r2.error().code, ErrorCode::kLimit) << r2.error().ToString();
}

TEST(PeTest, JsonAndTextCarryTheRequiredFields) {
  const auto data = Load(SharedTestdata() / "pe/saferwall-pe/pwsh.exe");
  auto r = AnalyzePe(View(data));
  ASSERT_TRUE(r) << r.error().ToString();
  const auto j = PeToJson(*r, "pwsh.exe");
  for (const char* key :
       {"path", "machine", "timestamp", "is_dll", "imphash", "sections", "version_info", "authenticode", "overlay"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"signed", "signer_subject", "issuer", "serial", "digest_algorithm", "digest_matches",
                          "padding_bytes", "padding_entropy", "padding_marker_feedface"}) {
    EXPECT_TRUE(j["authenticode"].contains(key)) << key;
  }
  EXPECT_EQ(j["machine"], "AMD64");
  const auto err = PeErrorJson("x.dll", Error{ErrorCode::kFormat, "not a PE: no MZ signature at offset 0"});
  EXPECT_EQ(err["path"], "x.dll");
  EXPECT_NE(err["error"].get<std::string>().find("not a PE"), std::string::npos);
  PeInfo evil = *r;
  evil.version_info.emplace_back("CompanyName\x1b[31m", "x\x1b]0;pwned\x07");
  const std::string text = PeToText(evil, "a\x1b[2Jb");
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("AMD64"), std::string::npos);
}

}  // namespace
}  // namespace trawl::core::formats
