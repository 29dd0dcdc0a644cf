// SPDX-License-Identifier: Apache-2.0
// core/registry/hive_extract on real hives (../shared/testdata/registry), checked
// against oracles run at test time: Debian's regripper (3.0~git20221205) and
// libregf (python3-libregf, through the scripts in tests/fixtures/registry).
// Both read a primary file as it is, ignoring transaction logs, so every
// comparison opens the hive without its logs -- except the "replayed" cases:
// there the hive is opened with its logs, the bytes our reader recovered
// (Hive::bytes(), which libregf walks as yarp's replay: 35595 keys / 78901
// values for SYSTEM_B) are written to a file and the oracles read that. Those
// cases check the extraction over a replayed hive, not the replay itself
// (tests/core/formats/regf_replay_test.cpp does that).
//
//   Amcache       regripper amcache: Root\InventoryApplicationFile entries in
//                 key order (LowerCaseLongPath, FileId without its 0000, key
//                 last write to the second), Root\InventoryApplication names
//                 and versions, Root\File entries (path, SHA-1, company,
//                 product, compile time, last write) and Root\Programs names;
//                 amcache_file_oracle.py (pyregf): Root\File paths and SHA-1,
//                 InventoryApplicationFile paths, SHA-1 and sizes, key counts.
//                 Museum Win10 APTSimulatorVM, Server2022 APTSimulatorVM,
//                 Win10 RathbunVM, Win2012R2 StolenSzechuan (Root\File only)
//                 and regipy's amcache.hve (both layouts); Win10
//                 APTSimulatorVM replayed.
//   Services      regripper services (the ControlSet Select\Current names):
//                 name, display name, ImagePath, type, start, last write.
//                 regipy SYSTEM (Win7), SYSTEM_B and SYSTEM_B replayed.
//   Run keys      regripper run: Run, RunOnce, Policies\Explorer\Run values of
//                 regipy NTUSER.DAT, NTUSER_with_winscp.DAT, plaso NTUSER-WIN7.
//   ShimCache     regripper appcompatcache, from a copy whose output loop is
//                 sorted (the plugin prints a Perl hash): paths in cache
//                 order, times to the second (+-1 s: regripper's FILETIME
//                 conversion is floating point), the executed flag (Win7).
//                 regipy SYSTEM (7, 32-bit), SYSTEM_2 (8.1), SYSTEM_B (10) and
//                 SYSTEM_B replayed.
//   BAM / DAM     bam_oracle.py (pyregf; regripper's bam plugin only knows
//                 bam\State\UserSettings): every (sid, program, FILETIME).
//   SOFTWARE      no real SOFTWARE hive is in the test data: one is built with
//                 hivexsh (Debian libhivex-bin) from regipy's SAM (MIT), with
//                 Run keys, Winlogon, AppInit_DLLs, IFEO, Active Setup,
//                 ProfileList and a TaskCache; every row is asserted and the
//                 keys are read back with key_values_oracle.py (pyregf).
//
// Without an oracle tool the golden values are still checked, and the test
// then reports itself skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/regf.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "tests/support/disk_images.h"
#include "tests/support/regf_walk.h"
#include "tests/support/test_env.h"
#include "core/registry/hive_extract.h"

namespace trawl::core::hive {
namespace {

namespace fs = std::filesystem;
namespace regf = core::formats::regf;
using nlohmann::json;
using Lines = std::vector<std::string>;

// ---------------------------------------------------------------- test data

fs::path Registry() { return test::SharedTestdata() / "registry"; }
fs::path Regipy(const std::string& name) { return Registry() / "regipy" / (name + ".xz"); }
fs::path MuseumAmcache(const std::string& dir) { return Registry() / "dfir-artifact-museum" / dir / "Amcache.hve"; }

// The hive file for `source`; "" when it is missing or is a .xz this build
// cannot unpack (the caller skips).
fs::path Unpacked(const fs::path& source) {
  if (source.extension() == ".xz" && !test::CanUnpackXz()) return {};
  return test::UnpackedImage(source);
}

struct Loaded {
  std::optional<regf::Hive> hive;
  Extracted x;
};

// Opens `file` with `logs` and extracts what a hive of `type` holds. A hive
// that does not open fails the test (x stays empty).
Loaded Load(const fs::path& file, HiveType type, const std::vector<fs::path>& logs = {},
            std::string_view user = "alice") {
  std::vector<regf::LogFile> log_files;
  for (const auto& l : logs) log_files.push_back({l.filename().string(), test::ReadBytes(l)});
  Loaded out;
  auto opened = regf::Hive::Open(test::ReadBytes(file), std::move(log_files));
  EXPECT_TRUE(opened) << file << ": " << (opened ? std::string() : opened.error().message);
  if (!opened) return out;
  out.hive.emplace(std::move(*opened));
  Extract(*out.hive, type, user, out.x);
  return out;
}

// The hive as our reader recovered it, as a file the oracles can read.
fs::path WriteRecovered(const regf::Hive& hive, const fs::path& to) {
  const core::Bytes b = hive.bytes();
  test::WriteFile(to, std::string(reinterpret_cast<const char*>(b.data()), b.size()));
  return to;
}

std::string Errors(const Extracted& x) {
  std::string s;
  for (const auto& e : x.errors) s += "  " + e + "\n";
  return s;
}

// ------------------------------------------------------------------ oracles

Lines SplitLines(const std::string& text) {
  Lines lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// Debian's regripper (a Perl script) and its plugins in /usr/lib/regripper.
constexpr const char* kRegripper = "/usr/bin/regripper";

bool HaveRegripper() { return fs::exists(kRegripper) && test::HaveTool("perl"); }

bool HavePyregf() {
  static const bool have = test::RunCommand({"/usr/bin/python3", "-c", "import pyregf"}).exit_code == 0;
  return have;
}

// `regripper -r hive -p plugin`; its stdout. regripper exits 0 even when it
// cannot open the hive, so callers check for the lines they expect.
std::string Regripper(const fs::path& hive, const std::string& plugin) {
  const auto r = test::RunCommand({kRegripper, "-r", hive.string(), "-p", plugin});
  EXPECT_EQ(r.exit_code, 0) << "regripper -p " << plugin << " " << hive << ": " << r.err;
  return r.out;
}

// regripper's appcompatcache plugin prints the entries it parsed with
// `foreach my $f (keys %files)`: a Perl hash, so in an order that changes
// from run to run. This copy of rip.pl (which loads plugins from beside its
// own real path) and of the plugin sorts that loop by entry number, so the
// entries come out in cache order; the parsing is regripper's, unchanged.
// Returns the copied rip.pl, or "" (with a failure) when the patch point has
// moved.
fs::path SortedAppCompatRegripper() {
  static test::TempDir dir;
  static fs::path rip;
  if (!rip.empty()) return rip;
  std::error_code ec;
  const fs::path real = fs::canonical(kRegripper, ec);
  if (ec) {
    ADD_FAILURE() << "cannot resolve " << kRegripper << ": " << ec.message();
    return {};
  }
  std::string plugin = test::ReadFile(real.parent_path() / "plugins/appcompatcache.pl");
  const std::string loop = "foreach my $f (keys %files)";
  const auto at = plugin.find(loop);
  if (at == std::string::npos || plugin.find(loop, at + 1) != std::string::npos) {
    ADD_FAILURE() << "regripper's appcompatcache.pl no longer has one `" << loop << "`: update the patch";
    return {};
  }
  plugin.replace(at, loop.size(), "foreach my $f (sort {$a <=> $b} keys %files)");
  test::WriteFile(dir / "plugins/appcompatcache.pl", plugin);
  fs::copy_file(real, dir / "rip.pl", fs::copy_options::overwrite_existing);
  rip = dir / "rip.pl";
  return rip;
}

// The JSON lines a script in tests/fixtures/registry prints.
std::vector<json> PyOracle(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   (test::SourceDir() / "tests/fixtures/registry" / script).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = test::RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << script << ": " << r.err;
  std::vector<json> out;
  for (const auto& line : SplitLines(r.out)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// ------------------------------------------------------------------- times

std::int64_t UnixSeconds(std::uint64_t filetime) { return core::FiletimeToUnixSeconds(filetime); }

std::string FormatUtc(std::int64_t unix_seconds, const char* format) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, format, &tm));
}

// regripper converts FILETIMEs with floating point (rip.pl getTime) or
// through Parse::Win32Registry; either may land a second off ours. True when
// `shown` is `unix_seconds` in `format`, give or take a second.
bool SameSecond(const std::string& shown, std::int64_t unix_seconds, const char* format) {
  for (std::int64_t d : {0, -1, 1})
    if (shown == FormatUtc(unix_seconds + d, format)) return true;
  return false;
}

constexpr const char* kIsoSpace = "%Y-%m-%d %H:%M:%S";       // rip.pl getDateFromEpoch
constexpr const char* kPerlGmtime = "%a %b %e %H:%M:%S %Y";  // scalar gmtime()

// =================================================================== Amcache

struct RrAmcache {
  struct Inventory {
    std::string path, hash, last_write;  // "path  LastWrite: <time>Z" / "Hash: <sha1>"
  };
  struct OldFile {
    std::string volume, id;
    std::map<std::string, std::string> fields;  // "Path", "SHA-1", "LastWrite", "Company Name", ...
  };
  bool inventory_section = false;     // "***InventoryApplicationFile***" printed
  std::vector<Inventory> inventory;   // Root\InventoryApplicationFile
  std::vector<std::string> apps;      // Root\InventoryApplication: "<gmtime> - <name> v.<version>"
  std::vector<OldFile> files;         // Root\File
  std::vector<std::string> programs;  // Root\Programs: "<name> v.<version>"
};

RrAmcache ParseRegripperAmcache(const std::string& out) {
  RrAmcache rr;
  enum { kHead, kInventory, kFiles, kPrograms } section = kHead;
  std::string volume;
  for (const auto& line : SplitLines(out)) {
    if (line == "***InventoryApplicationFile***") {
      section = kInventory;
      rr.inventory_section = true;
      continue;
    }
    if (line == "***Files***") {
      section = kFiles;
      continue;
    }
    if (line == "***Programs***") {
      section = kPrograms;
      continue;
    }
    if (line.empty() || line.ends_with(" not found.")) continue;
    if (section == kInventory) {
      if (const auto lw = line.rfind("  LastWrite: "); lw != std::string::npos && line.ends_with("Z")) {
        rr.inventory.push_back({line.substr(0, lw), "", line.substr(lw + 13, line.size() - lw - 14)});
      } else if (line.starts_with("Hash: ") && !rr.inventory.empty()) {
        rr.inventory.back().hash = line.substr(6);
      } else if (line.find(" - ") != std::string::npos) {
        // parseInventoryApplication prints its lines with no section header.
        rr.apps.push_back(line);
      } else {
        ADD_FAILURE() << "unexpected regripper amcache line: " << line;
      }
    } else if (section == kFiles) {
      // "<label padded to 14>: <value>"; a line without that is a volume.
      if (line.size() >= 16 && line[14] == ':' && line[15] == ' ') {
        std::string label = line.substr(0, 14);
        label.erase(label.find_last_not_of(' ') + 1);
        const std::string value = line.substr(16);
        if (label == "File Reference")
          rr.files.push_back({volume, value, {}});
        else if (!rr.files.empty())
          rr.files.back().fields[label] = value;
      } else {
        volume = line;
      }
    } else if (section == kPrograms) {
      if (line.starts_with("Name       : ")) rr.programs.push_back(line.substr(13));
    }
  }
  return rr;
}

struct AmcacheCase {
  std::string name;
  fs::path source;
  // Expected counts (the oracles are compared too; these pin the data).
  std::size_t inventory_files, inventory_with_sha1, inventory_apps, old_files, programs;
};

// Our Amcache rows against regripper and pyregf reading `oracle_file` (the
// primary, or our recovered bytes).
void CompareAmcache(const AmcacheCase& c, const Extracted& x, const fs::path& oracle_file) {
  std::vector<const AmcacheFile*> inventory, old_files;
  std::vector<const AmcacheApp*> apps, programs;
  for (const auto& f : x.amcache_files) (f.source == "File" ? old_files : inventory).push_back(&f);
  for (const auto& a : x.amcache_apps) (a.source == "Programs" ? programs : apps).push_back(&a);
  for (const auto* f : inventory) EXPECT_EQ(f->source, "InventoryApplicationFile");
  for (const auto* a : apps) EXPECT_EQ(a->source, "InventoryApplication");
  const auto with_sha1 = static_cast<std::size_t>(
      std::count_if(inventory.begin(), inventory.end(), [](const AmcacheFile* f) { return !f->sha1.empty(); }));
  EXPECT_EQ(inventory.size(), c.inventory_files);
  EXPECT_EQ(with_sha1, c.inventory_with_sha1);
  EXPECT_EQ(apps.size(), c.inventory_apps);
  EXPECT_EQ(old_files.size(), c.old_files);
  EXPECT_EQ(programs.size(), c.programs);

  if (HaveRegripper()) {
    const RrAmcache rr = ParseRegripperAmcache(Regripper(oracle_file, "amcache"));
    EXPECT_EQ(rr.inventory_section, !inventory.empty()) << "regripper's amcache plugin output changed";
    // InventoryApplicationFile, entry by entry in key order.
    EXPECT_EQ(rr.inventory.size(), inventory.size());
    std::set<std::pair<std::string, std::string>> rr_set, our_set;
    for (std::size_t i = 0; i < std::min(rr.inventory.size(), inventory.size()); ++i) {
      const auto& r = rr.inventory[i];
      const AmcacheFile& f = *inventory[i];
      EXPECT_EQ(r.path, f.path) << f.key;
      EXPECT_EQ(r.hash, f.sha1) << f.key;
      EXPECT_TRUE(SameSecond(r.last_write, UnixSeconds(f.last_written), kIsoSpace))
          << f.key << ": regripper " << r.last_write << ", ours " << core::FiletimeToIso(f.last_written);
      if (!r.hash.empty()) rr_set.insert({core::ToLowerAscii(r.path), r.hash});
      if (!f.sha1.empty()) our_set.insert({core::ToLowerAscii(f.path), f.sha1});
    }
    EXPECT_EQ(rr_set.size(), c.inventory_with_sha1);
    EXPECT_EQ(rr_set, our_set);
    // InventoryApplication: "<gmtime> - <Name> v.<Version>" (no " v." without a Version value).
    EXPECT_EQ(rr.apps.size(), apps.size());
    for (std::size_t i = 0; i < std::min(apps.size(), rr.apps.size()); ++i) {
      const AmcacheApp& a = *apps[i];
      const std::string line = rr.apps[i];
      const std::string tail = line.substr(line.find(" - ") + 3);
      EXPECT_TRUE(tail == a.name + " v." + a.version || (a.version.empty() && tail == a.name + " "))
          << a.key << ": regripper \"" << line << "\", ours " << a.name << " / " << a.version;
      EXPECT_TRUE(SameSecond(line.substr(0, line.find(" - ")), UnixSeconds(a.last_written), kPerlGmtime))
          << a.key << ": regripper " << line << ", ours " << core::FiletimeToIso(a.last_written);
    }
    // Root\File: every field regripper prints that we keep.
    EXPECT_EQ(rr.files.size(), old_files.size());
    for (std::size_t i = 0; i < std::min(old_files.size(), rr.files.size()); ++i) {
      const AmcacheFile& f = *old_files[i];
      const auto& r = rr.files[i];
      auto field = [&](const char* label) {
        auto it = r.fields.find(label);
        return it == r.fields.end() ? std::string() : it->second;
      };
      EXPECT_EQ("Root\\File\\" + r.volume + "\\" + r.id, f.key);
      EXPECT_EQ(field("Path"), f.path) << f.key;
      std::string sha1 = core::ToLowerAscii(field("SHA-1"));
      if (sha1.starts_with("0000")) sha1.erase(0, 4);
      EXPECT_EQ(sha1, f.sha1) << f.key;
      EXPECT_EQ(field("Company Name"), f.publisher) << f.key;
      EXPECT_EQ(field("Product Name"), f.product) << f.key;
      // Value "f", the PE link time as Unix seconds; we leave 0 out.
      std::string compiled = field("Compile Time");
      if (compiled == "1970-01-01 00:00:00Z") compiled.clear();
      std::string ours = f.link_date;
      std::replace(ours.begin(), ours.end(), 'T', ' ');
      EXPECT_EQ(compiled, ours) << f.key;
      const std::string lw = field("LastWrite");
      EXPECT_TRUE(lw.ends_with("Z") && SameSecond(lw.substr(0, lw.size() - 1), UnixSeconds(f.last_written), kIsoSpace))
          << f.key << ": regripper " << lw << ", ours " << core::FiletimeToIso(f.last_written);
    }
    // Root\Programs: "Name : <0> v.<1>".
    EXPECT_EQ(rr.programs.size(), programs.size());
    for (std::size_t i = 0; i < std::min(programs.size(), rr.programs.size()); ++i) {
      const AmcacheApp& p = *programs[i];
      // An empty "1" still gets its " v." (IDA Pro Free v5.0: "1" is a lone NUL).
      const std::string& r = rr.programs[i];
      EXPECT_TRUE(r == p.name + " v." + p.version || (p.version.empty() && r == p.name))
          << p.key << ": regripper \"" << r << "\", ours " << p.name << " / " << p.version;
    }
    std::printf(
        "[ oracle   ] %-34s regripper amcache: %zu InventoryApplicationFile (%zu with SHA-1), %zu "
        "InventoryApplication, %zu File, %zu Programs\n",
        c.name.c_str(), rr.inventory.size(), rr_set.size(), rr.apps.size(), rr.files.size(), rr.programs.size());
  }

  if (HavePyregf()) {
    using Entry = std::tuple<std::string, std::string, std::string>;  // key, path, sha1
    std::vector<Entry> want_files, got_files, want_inventory, got_inventory;
    std::map<std::string, std::int64_t> counts;
    std::map<std::string, const AmcacheFile*> by_key;
    for (const auto* f : inventory) by_key[f->key] = f;
    std::size_t sizes = 0, string_sizes = 0;
    for (const auto& j : PyOracle("amcache_file_oracle.py", {oracle_file.string()})) {
      if (j.contains("count")) {
        counts[j["count"].get<std::string>()] = j["n"].get<std::int64_t>();
        continue;
      }
      const std::string key = j.contains("file") ? j["file"] : j["inventory"];
      (j.contains("file") ? want_files : want_inventory)
          .emplace_back(key, j["path"].get<std::string>(), j["sha1"].get<std::string>());
      const auto it = by_key.find(key);
      if (!j.contains("inventory") || it == by_key.end()) continue;
      // A Size written as a string ("0x7fac0", Windows 10 1709) is checked by
      // AmcacheSizeWrittenAsHexString.
      if (j["size_type"].get<std::uint32_t>() == regf::kRegSz) {
        ++string_sizes;
        continue;
      }
      const std::optional<std::int64_t> size =
          j["size"].is_null() ? std::nullopt : std::optional<std::int64_t>(j["size"].get<std::int64_t>());
      EXPECT_EQ(it->second->size, size) << key;
      ++sizes;
    }
    for (const auto* f : old_files) got_files.emplace_back(f->key, f->path, f->sha1);
    for (const auto* f : inventory) got_inventory.emplace_back(f->key, f->path, f->sha1);
    EXPECT_EQ(want_files, got_files) << "Root\\File: pyregf and ours differ";
    EXPECT_EQ(want_inventory, got_inventory) << "Root\\InventoryApplicationFile: pyregf and ours differ";
    EXPECT_EQ(std::max<std::int64_t>(counts["Root\\InventoryApplication"], 0), static_cast<std::int64_t>(apps.size()));
    EXPECT_EQ(std::max<std::int64_t>(counts["Root\\InventoryApplicationFile"], 0),
              static_cast<std::int64_t>(inventory.size()));
    EXPECT_EQ(std::max<std::int64_t>(counts["Root\\Programs"], 0), static_cast<std::int64_t>(programs.size()));
    std::printf(
        "[ oracle   ] %-34s amcache_file_oracle.py: %zu File, %zu InventoryApplicationFile (%zu sizes "
        "compared, %zu written as strings not), %lld InventoryApplication, %lld Programs\n",
        c.name.c_str(), want_files.size(), want_inventory.size(), sizes, string_sizes,
        static_cast<long long>(std::max<std::int64_t>(counts["Root\\InventoryApplication"], 0)),
        static_cast<long long>(std::max<std::int64_t>(counts["Root\\Programs"], 0)));
  }
}

std::vector<AmcacheCase> AmcacheCases() {
  return {
      {"Win10_APTSimulatorVM", MuseumAmcache("Amcache_Win10_APTSimulatorVM"), 123, 27, 90, 0, 0},
      {"Server2022_APTSimulatorVM", MuseumAmcache("Amcache_Server2022_APTSimulatorVM"), 35, 35, 0, 0, 0},
      {"Win10_RathbunVM", MuseumAmcache("Amcache_Win10_RathbunVM"), 183, 183, 91, 0, 0},
      {"Win2012R2_StolenSzechuan", MuseumAmcache("Amcache_Win2012R2_StolenSzechuan"), 0, 0, 0, 136, 3},
      {"regipy_amcache", Regipy("amcache.hve"), 247, 247, 74, 1120, 26},
  };
}

TEST(HiveExtract, AmcacheAgreesWithRegripperAndPyregf) {
  for (const AmcacheCase& c : AmcacheCases()) {
    SCOPED_TRACE(c.name);
    const fs::path file = Unpacked(c.source);
    if (file.empty()) {
      std::printf("[ skipped  ] %s: %s missing or not unpackable\n", c.name.c_str(), c.source.string().c_str());
      continue;
    }
    const Loaded l = Load(file, HiveType::kAmcache);
    ASSERT_TRUE(l.hive);
    EXPECT_TRUE(l.x.errors.empty()) << Errors(l.x);
    CompareAmcache(c, l.x, file);
  }
  if (!HaveRegripper() || !HavePyregf())
    GTEST_SKIP() << "regripper or python3-libregf is missing: counts checked, oracles not compared";
}

// Win10 APTSimulatorVM's Amcache is dirty; its logs (LOG1 entries 36-37,
// LOG2 38-39) add KAPE's GUI, run from the desktop: one more
// InventoryApplicationFile entry, 124 in all, and the same 90 applications.
TEST(HiveExtract, AmcacheReplayedFromItsLogs) {
  const fs::path dir = Registry() / "dfir-artifact-museum/Amcache_Win10_APTSimulatorVM";
  if (!fs::exists(dir / "Amcache.hve.LOG2")) GTEST_SKIP() << dir << " is missing";
  const Loaded plain = Load(dir / "Amcache.hve", HiveType::kAmcache);
  const Loaded replayed =
      Load(dir / "Amcache.hve", HiveType::kAmcache, {dir / "Amcache.hve.LOG1", dir / "Amcache.hve.LOG2"});
  ASSERT_TRUE(plain.hive && replayed.hive);
  EXPECT_TRUE(plain.hive->header().Dirty());
  EXPECT_EQ(replayed.hive->recovery().applied.size(), 4u);
  EXPECT_TRUE(replayed.x.errors.empty()) << Errors(replayed.x);

  auto gkape = [](const Extracted& x) -> const AmcacheFile* {
    for (const auto& f : x.amcache_files)
      if (f.path == "c:\\users\\testuser\\desktop\\gkape.exe") return &f;
    return nullptr;
  };
  EXPECT_EQ(gkape(plain.x), nullptr);
  const AmcacheFile* g = gkape(replayed.x);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->sha1, "af64ef62e509783a5022c2808d23aadce1351a94");
  EXPECT_EQ(g->name, "gkape.exe");
  EXPECT_EQ(g->key, "Root\\InventoryApplicationFile\\gkape.exe|cf356c8f87c2c3bd");
  EXPECT_EQ(g->last_written, 132914220492238979u);

  test::TempDir tmp;
  const AmcacheCase c{"Win10_APTSimulatorVM+logs", dir / "Amcache.hve", 124, 28, 90, 0, 0};
  CompareAmcache(c, replayed.x, WriteRecovered(*replayed.hive, tmp / "Amcache.hve"));
  if (!HaveRegripper() || !HavePyregf())
    GTEST_SKIP() << "regripper or python3-libregf is missing: golden values checked, oracles not compared";
}

// regipy's amcache.hve (Windows 10 1709) writes InventoryApplicationFile's
// Size as a REG_SZ of hex digits ("0x7fac0" for 522944 bytes); later
// versions write a REG_QWORD.
TEST(HiveExtract, AmcacheSizeWrittenAsHexString) {
  if (!HavePyregf()) GTEST_SKIP() << "python3-libregf is not installed";
  const fs::path file = Unpacked(Regipy("amcache.hve"));
  if (file.empty()) GTEST_SKIP() << "regipy amcache.hve is missing or cannot be unpacked";
  const Loaded l = Load(file, HiveType::kAmcache);
  ASSERT_TRUE(l.hive);
  std::map<std::string, std::optional<std::int64_t>> ours;
  for (const auto& f : l.x.amcache_files) ours[f.key] = f.size;
  std::size_t compared = 0;
  for (const auto& j : PyOracle("amcache_file_oracle.py", {file.string()})) {
    if (!j.contains("inventory")) continue;
    ASSERT_FALSE(j["size"].is_null()) << j.dump();
    EXPECT_EQ(ours[j["inventory"]], j["size"].get<std::int64_t>()) << j.dump();
    ++compared;
  }
  EXPECT_EQ(compared, 247u);
}

// ================================================================== Services

struct RrService {
  std::string name, display, image, type, start, last_write;
};
struct RrServices {
  std::string control_set;  // the one regripper read (Select\Current)
  std::vector<RrService> services;
};

RrServices ParseRegripperServices(const std::string& out) {
  RrServices rr;
  std::string when;
  for (const auto& line : SplitLines(out)) {
    if (line.starts_with("ControlSet") && line.ends_with("\\Services")) {
      rr.control_set = line.substr(0, line.find('\\'));
      continue;
    }
    if (line.ends_with(" Z") && line.size() == 26) {
      when = line.substr(0, line.size() - 2);  // "Sat Apr  7 09:48:31 2012 Z": the services below
      continue;
    }
    // "  Name      = <value>": labels padded to 9.
    if (line.size() < 14 || !line.starts_with("  ") || line.substr(11, 3) != " = ") continue;
    std::string label = line.substr(2, 9);
    label.erase(label.find_last_not_of(' ') + 1);
    const std::string value = line.substr(14);
    if (label == "Name") rr.services.push_back({value, "", "", "", "", when});
    if (rr.services.empty()) continue;
    RrService& s = rr.services.back();
    if (label == "Display") s.display = value;
    if (label == "ImagePath") s.image = value;
    if (label == "Type") s.type = value;
    if (label == "Start") s.start = value;
  }
  return rr;
}

// Type and Start as regripper's services plugin shows them. For a Type
// missing from its table it prints sprintf("0x%x", $t) of an undefined $t:
// "0x0" (a bug in the plugin), so that is what ours must map to.
std::string RrType(std::optional<std::uint32_t> t) {
  if (!t) return "";
  switch (*t) {
    case 0x1: return "Kernel driver";
    case 0x2: return "File system driver";
    case 0x10: return "Own_Process";
    case 0x20: return "Share_Process";
    case 0x100: return "Interactive";
    default: return "0x0";
  }
}
std::string RrStart(std::optional<std::uint32_t> s) {
  if (!s) return "";
  static const char* const kNames[] = {"Boot Start", "System Start", "Auto Start", "Manual", "Disabled"};
  return *s < 5 ? kNames[*s] : std::to_string(*s);
}

// Ours for regripper's control set, against regripper.
void CompareServices(const std::string& name, const Extracted& x, const fs::path& oracle_file, std::size_t expected) {
  if (!HaveRegripper()) return;
  const RrServices rr = ParseRegripperServices(Regripper(oracle_file, "services"));
  ASSERT_FALSE(rr.control_set.empty()) << "regripper services printed no control set for " << name;
  using Row = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  std::set<Row> want, got;
  std::map<std::string, std::string> rr_when;
  for (const auto& s : rr.services) {
    want.emplace(s.name, s.display, s.image, s.type, s.start);
    rr_when[s.name] = s.last_write;
  }
  std::size_t ours = 0, times = 0;
  for (const auto& s : x.services) {
    if (s.control_set != rr.control_set) continue;
    ++ours;
    got.emplace(s.name, s.display_name, s.image_path, RrType(s.type), RrStart(s.start));
    const auto it = rr_when.find(s.name);
    if (it == rr_when.end()) continue;
    EXPECT_TRUE(SameSecond(it->second, UnixSeconds(s.last_written), kPerlGmtime))
        << s.name << ": regripper " << it->second << ", ours " << core::FiletimeToIso(s.last_written);
    ++times;
  }
  EXPECT_EQ(rr.services.size(), expected);
  EXPECT_EQ(ours, expected);
  std::vector<Row> only_rr, only_ours;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(only_rr));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(only_ours));
  auto show = [](const std::vector<Row>& rows) {
    std::string s;
    for (std::size_t i = 0; i < rows.size() && i < 10; ++i) {
      const auto& [n, d, img, t, st] = rows[i];
      s += fmt::format("  {} | {} | {} | {} | {}\n", n, d, img, t, st);
    }
    return s;
  };
  EXPECT_TRUE(only_rr.empty() && only_ours.empty()) << name << " " << rr.control_set << ": only regripper:\n"
                                                    << show(only_rr) << "only ours:\n"
                                                    << show(only_ours);
  EXPECT_EQ(times, expected);
  std::printf("[ oracle   ] %-34s regripper services: %s, %zu services (ours %zu)\n", name.c_str(),
              rr.control_set.c_str(), rr.services.size(), ours);
}

const ServiceRow* FindService(const Extracted& x, std::string_view cs, std::string_view name) {
  for (const auto& s : x.services)
    if (s.control_set == cs && s.name == name) return &s;
  return nullptr;
}

TEST(HiveExtract, ServicesAgreeWithRegripper) {
  struct Case {
    std::string name;
    std::string hive;
    std::size_t current, all;  // services in ControlSet001 and in every control set
    std::string ikeext_image;
  };
  for (const Case& c :
       {Case{"regipy_SYSTEM", "SYSTEM", 467, 933, "%systemroot%\\system32\\svchost.exe -k netsvcs"},
        Case{"regipy_SYSTEM_B", "SYSTEM_B", 655, 655, "%systemroot%\\system32\\svchost.exe -k netsvcs -p"}}) {
    SCOPED_TRACE(c.name);
    const fs::path file = Unpacked(Regipy(c.hive));
    if (file.empty()) {
      std::printf("[ skipped  ] %s: missing or not unpackable\n", c.name.c_str());
      continue;
    }
    const Loaded l = Load(file, HiveType::kSystem);
    ASSERT_TRUE(l.hive);
    EXPECT_TRUE(l.x.errors.empty()) << Errors(l.x);
    EXPECT_EQ(l.x.services.size(), c.all);
    // IKEEXT: a svchost service whose DLL is under Parameters.
    const ServiceRow* ike = FindService(l.x, "ControlSet001", "IKEEXT");
    ASSERT_NE(ike, nullptr);
    EXPECT_EQ(ike->service_dll, "%SystemRoot%\\System32\\ikeext.dll");
    EXPECT_EQ(ike->image_path, c.ikeext_image);
    EXPECT_EQ(ike->account, "LocalSystem");
    EXPECT_EQ(ike->display_name, "@%SystemRoot%\\system32\\ikeext.dll,-501");
    EXPECT_EQ(ike->start, 3u);    // demand start
    EXPECT_EQ(ike->type, 0x20u);  // shares a process
    CompareServices(c.name, l.x, file, c.current);
  }
  if (!HaveRegripper()) GTEST_SKIP() << "regripper is not installed: golden values checked, oracle not compared";
}

// ============================================================ Run (NTUSER)

// regripper's run plugin: a key path line, then "  <name> - <data>" for each
// value (in a Perl hash's order; it leaves out a value whose name and data
// are both empty).
std::map<std::string, std::multiset<std::string>> ParseRegripperRun(const std::string& out) {
  std::map<std::string, std::multiset<std::string>> keys;
  std::string key;
  for (const auto& line : SplitLines(out)) {
    if (line.starts_with("Software\\") && line.find(' ') == std::string::npos) {
      key = line;
      keys[key];
    } else if (line.starts_with("  ") && !key.empty()) {
      keys[key].insert(line.substr(2));
    } else if (line.empty()) {
      key.clear();
    }
  }
  return keys;
}

TEST(HiveExtract, NtuserRunKeysAgreeWithRegripper) {
  struct Case {
    std::string name;
    fs::path source;
    std::size_t run_values;  // our Software\...\Run rows, bar an unnamed value with no data
  };
  const std::vector<Case> cases = {
      {"regipy_NTUSER", Regipy("NTUSER.DAT"), 1},
      {"regipy_NTUSER_with_winscp", Regipy("NTUSER_with_winscp.DAT"), 4},
      {"plaso_NTUSER-WIN7", Registry() / "plaso/NTUSER-WIN7.DAT", 2},
  };
  const std::vector<std::string> locations = {"Software\\Microsoft\\Windows\\CurrentVersion\\Run",
                                              "Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
                                              "Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run"};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path file = Unpacked(c.source);
    if (file.empty()) {
      std::printf("[ skipped  ] %s: missing or not unpackable\n", c.name.c_str());
      continue;
    }
    const Loaded l = Load(file, HiveType::kNtuser, {}, "bob");
    ASSERT_TRUE(l.hive);
    EXPECT_TRUE(l.x.errors.empty()) << Errors(l.x);
    std::map<std::string, std::multiset<std::string>> ours;
    std::size_t run_rows = 0;
    for (const auto& a : l.x.autoruns) {
      ASSERT_TRUE(a.location.starts_with("HKU\\bob\\")) << a.location;
      const std::string rel = a.location.substr(8);
      // regripper leaves out an unnamed value with no data; so does the comparison.
      if (a.name.empty() && a.value.empty()) continue;
      if (rel == locations[0]) ++run_rows;
      ours[rel].insert(a.name + " - " + a.value);
    }
    EXPECT_EQ(run_rows, c.run_values);
    if (!HaveRegripper()) continue;
    auto rr = ParseRegripperRun(Regripper(file, "run"));
    ASSERT_TRUE(rr.contains(locations[0])) << "regripper run found no Run key in " << c.name;
    std::size_t compared = 0;
    for (const auto& loc : locations) {
      EXPECT_EQ(rr[loc], ours[loc]) << loc;
      compared += rr[loc].size();
    }
    // Nothing of ours outside the locations regripper reads.
    for (const auto& [loc, values] : ours)
      EXPECT_NE(std::find(locations.begin(), locations.end(), loc), locations.end()) << loc;
    std::printf("[ oracle   ] %-34s regripper run: %zu values in Run / RunOnce / Policies\\Explorer\\Run\n",
                c.name.c_str(), compared);
  }
  if (!HaveRegripper()) GTEST_SKIP() << "regripper is not installed: counts checked, oracle not compared";
}

// =============================================================== ShimCache

struct RrShim {
  std::string control_set, signature;
  struct Entry {
    std::string path, time;  // time "" when the FILETIME is 0
    bool executed = false;
  };
  std::vector<Entry> entries;
};

RrShim ParseRegripperAppCompat(const std::string& out, const std::vector<std::string>& our_paths) {
  RrShim rr;
  bool body = false;
  std::size_t i = 0;
  for (const auto& line : SplitLines(out)) {
    if (!body) {
      if (line.starts_with("ControlSet") && line.find("\\Control\\Session Manager\\") != std::string::npos)
        rr.control_set = line.substr(0, line.find('\\'));
      if (line.starts_with("Signature: ")) {
        rr.signature = line.substr(11);
        body = true;
      }
      continue;
    }
    // "Win2K8R2/Win7, 32-bit" and the like: the layout line of the fixed-size formats.
    if (rr.entries.empty() && line.starts_with("Win") && line.ends_with("-bit")) continue;
    if (line.empty()) continue;
    // "<path>  <time>[  Executed]": a path may hold two spaces (or tabs: the
    // packaged app records), so split where our path ends when it is a
    // prefix, else at the last "  " before the time.
    RrShim::Entry e;
    std::string rest;
    if (i < our_paths.size() && line.starts_with(our_paths[i] + "  ")) {
      e.path = our_paths[i];
      rest = line.substr(e.path.size() + 2);
    } else {
      const auto cut = line.rfind("  ", line.ends_with("  Executed") ? line.size() - 11 : std::string::npos);
      e.path = line.substr(0, cut);
      rest = cut == std::string::npos ? "" : line.substr(cut + 2);
    }
    if (rest.ends_with("Executed")) {
      e.executed = true;
      rest.erase(rest.size() - 8);
      if (rest.ends_with("  ")) rest.erase(rest.size() - 2);
    }
    e.time = rest;
    rr.entries.push_back(std::move(e));
    ++i;
  }
  return rr;
}

// Ours (the control set regripper read) against the sorted regripper copy.
void CompareShimCache(const std::string& name, const Extracted& x, const fs::path& oracle_file, std::size_t expected,
                      const std::string& format) {
  if (!HaveRegripper()) return;
  const fs::path rip = SortedAppCompatRegripper();
  ASSERT_FALSE(rip.empty());
  const auto run = test::RunCommand({"perl", rip.string(), "-r", oracle_file.string(), "-p", "appcompatcache"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string cs;
  for (const auto& line : SplitLines(run.out))
    if (line.starts_with("ControlSet")) cs = line.substr(0, line.find('\\'));
  ASSERT_FALSE(cs.empty()) << "regripper appcompatcache read no control set:\n" << run.out.substr(0, 2000);
  std::vector<const ShimRow*> ours;
  std::vector<std::string> paths;
  for (const auto& s : x.shimcache) {
    if (s.control_set != cs) continue;
    ours.push_back(&s);
    // regripper drops the "\??\" of the fixed-size layouts (XP to 7), not of 8 and later.
    std::string p = s.path;
    if ((s.format == "xp" || s.format == "2003" || s.format == "vista" || s.format == "7") && p.starts_with("\\??\\"))
      p.erase(0, 4);
    paths.push_back(p);
  }
  const RrShim rr = ParseRegripperAppCompat(run.out, paths);
  EXPECT_EQ(rr.entries.size(), expected);
  ASSERT_EQ(ours.size(), expected);
  std::size_t off_by_a_second = 0;
  for (std::size_t i = 0; i < std::min(ours.size(), rr.entries.size()); ++i) {
    const ShimRow& s = *ours[i];
    const auto& r = rr.entries[i];
    EXPECT_EQ(s.format, format) << i;
    EXPECT_EQ(s.position, i);
    EXPECT_EQ(r.path, paths[i]) << "entry " << i;
    if (!s.last_modified_ns) {
      EXPECT_EQ(r.time, "") << "entry " << i << " " << s.path;
    } else {
      const std::int64_t sec = *s.last_modified_ns / 1'000'000'000;
      EXPECT_TRUE(SameSecond(r.time, sec, kIsoSpace)) << "entry " << i << " " << s.path << ": regripper " << r.time
                                                      << ", ours " << core::UnixNsToIso(*s.last_modified_ns);
      off_by_a_second += r.time != FormatUtc(sec, kIsoSpace);
    }
    // regripper shows the executed flag for XP to 7 only.
    if (s.format == "7" || s.format == "vista" || s.format == "2003") {
      EXPECT_EQ(r.executed, s.executed.value_or(false)) << "entry " << i << " " << s.path;
    }
  }
  std::printf(
      "[ oracle   ] %-34s regripper appcompatcache: %s signature %s, %zu entries (ours %zu, format %s), "
      "%zu times a second off\n",
      name.c_str(), cs.c_str(), rr.signature.c_str(), rr.entries.size(), ours.size(), format.c_str(), off_by_a_second);
}

TEST(HiveExtract, ShimCacheAgreesWithRegripper) {
  struct Case {
    std::string name, hive;
    std::size_t entries;  // in ControlSet001
    std::size_t all;      // in every control set
    std::string format;
  };
  for (const Case& c :
       {Case{"regipy_SYSTEM", "SYSTEM", 330, 660, "7"}, Case{"regipy_SYSTEM_2", "SYSTEM_2", 112, 112, "8.1"},
        Case{"regipy_SYSTEM_B", "SYSTEM_B", 406, 406, "10-creators"}}) {
    SCOPED_TRACE(c.name);
    const fs::path file = Unpacked(Regipy(c.hive));
    if (file.empty()) {
      std::printf("[ skipped  ] %s: missing or not unpackable\n", c.name.c_str());
      continue;
    }
    const Loaded l = Load(file, HiveType::kSystem);
    ASSERT_TRUE(l.hive);
    EXPECT_TRUE(l.x.errors.empty()) << Errors(l.x);
    EXPECT_EQ(l.x.shimcache.size(), c.all);
    CompareShimCache(c.name, l.x, file, c.entries, c.format);
  }
  if (!HaveRegripper()) GTEST_SKIP() << "regripper is not installed: counts checked, oracle not compared";
}

// ===================================================================== BAM

using BamKey = std::tuple<std::string, std::string, std::string, std::string, std::uint64_t>;

// Ours against bam_oracle.py reading `oracle_file`: exactly the same rows.
// The values left out must be the per-SID bookkeeping (Version,
// SequenceNumber), never a program.
void CompareBam(const std::string& name, const Extracted& x, const fs::path& oracle_file, std::size_t expected) {
  if (!HavePyregf()) return;
  std::multiset<BamKey> want, got;
  std::size_t skipped = 0;
  for (const auto& j : PyOracle("bam_oracle.py", {oracle_file.string()})) {
    if (j["type"].get<std::uint32_t>() == regf::kRegBinary && !j["ft"].is_null()) {
      want.emplace(j["src"].get<std::string>(), j["cs"].get<std::string>(), j["sid"].get<std::string>(),
                   j["name"].get<std::string>(), j["ft"].get<std::uint64_t>());
    } else {
      ++skipped;
      const std::string n = j["name"];
      EXPECT_TRUE(n == "Version" || n == "SequenceNumber") << "a BAM value left out: " << j.dump();
    }
  }
  for (const auto& b : x.bam) got.emplace(b.source, b.control_set, b.sid, b.path, b.last_run);
  EXPECT_EQ(got.size(), expected);
  EXPECT_EQ(want, got) << name;
  std::printf("[ oracle   ] %-34s bam_oracle.py: %zu entries (ours %zu), %zu Version/SequenceNumber values\n",
              name.c_str(), want.size(), got.size(), skipped);
}

TEST(HiveExtract, BamAgreesWithPyregf) {
  struct Case {
    std::string name, hive;
    std::size_t entries;
  };
  // Windows 7 and 8.1 have no BAM; SYSTEM_B (10, 1709) keeps it at bam\UserSettings.
  for (const Case& c : {Case{"regipy_SYSTEM", "SYSTEM", 0}, Case{"regipy_SYSTEM_2", "SYSTEM_2", 0},
                        Case{"regipy_SYSTEM_B", "SYSTEM_B", 28}}) {
    SCOPED_TRACE(c.name);
    const fs::path file = Unpacked(Regipy(c.hive));
    if (file.empty()) {
      std::printf("[ skipped  ] %s: missing or not unpackable\n", c.name.c_str());
      continue;
    }
    const Loaded l = Load(file, HiveType::kSystem);
    ASSERT_TRUE(l.hive);
    CompareBam(c.name, l.x, file, c.entries);
  }
  if (!HavePyregf()) GTEST_SKIP() << "python3-libregf is not installed: oracle not compared";
}

// ============================================ SYSTEM_B with its two logs

// SYSTEM_B is dirty (sequence 1622/1621); its LOG1 (entries 2107-2110) and
// LOG2 (2111-2130) hold the last minutes before the image was taken: FTK
// Imager's driver service and its BAM entry, csrss under S-1-5-18, newer BAM
// times. Our rows from the replayed hive against the oracles reading the
// bytes we recovered, and what differs from the primary alone.
TEST(HiveExtract, SystemReplayedFromItsLogs) {
  const fs::path file = Unpacked(Regipy("SYSTEM_B"));
  const fs::path log1 = Unpacked(Regipy("SYSTEM_B.LOG1")), log2 = Unpacked(Regipy("SYSTEM_B.LOG2"));
  if (file.empty() || log1.empty() || log2.empty()) GTEST_SKIP() << "SYSTEM_B or its logs are missing";
  const Loaded plain = Load(file, HiveType::kSystem);
  const Loaded replayed = Load(file, HiveType::kSystem, {log1, log2});
  ASSERT_TRUE(plain.hive && replayed.hive);
  EXPECT_TRUE(plain.hive->header().Dirty());
  EXPECT_FALSE(replayed.hive->header().Dirty());
  EXPECT_EQ(replayed.hive->recovery().applied.size(), 24u);
  EXPECT_TRUE(replayed.x.errors.empty()) << Errors(replayed.x);

  EXPECT_EQ(replayed.x.shimcache.size(), 406u);
  EXPECT_EQ(replayed.x.bam.size(), 31u);
  EXPECT_EQ(replayed.x.services.size(), 656u);
  EXPECT_EQ(plain.x.services.size(), 655u);

  // AccessData's driver, loaded by FTK Imager from the user's temp folder:
  // only in the logs.
  EXPECT_EQ(FindService(plain.x, "ControlSet001", "ad_driver"), nullptr);
  const ServiceRow* ad = FindService(replayed.x, "ControlSet001", "ad_driver");
  ASSERT_NE(ad, nullptr);
  EXPECT_EQ(ad->image_path, "\\??\\C:\\Users\\jcloudy\\AppData\\Local\\Temp\\ad_driver.sys");
  EXPECT_EQ(ad->display_name, "AccessData Driver");
  EXPECT_EQ(ad->type, 1u);   // kernel driver
  EXPECT_EQ(ad->start, 3u);  // demand start
  EXPECT_EQ(CommandFileLc(ad->image_path), "c:\\users\\jcloudy\\appdata\\local\\temp\\ad_driver.sys");

  auto bam = [](const Extracted& x, std::string_view sid, std::string_view path) -> std::optional<std::uint64_t> {
    for (const auto& b : x.bam)
      if (b.sid == sid && b.path == path) return b.last_run;
    return std::nullopt;
  };
  const std::string user = "S-1-5-21-2734969515-1644526556-1039763013-1001";
  const std::string ftk = "\\Device\\HarddiskVolume6\\Programs\\Imager_Lite_3.1.1\\FTK Imager.exe";
  EXPECT_EQ(bam(plain.x, user, ftk), std::nullopt);
  EXPECT_EQ(bam(replayed.x, user, ftk), 131674920816861211u);
  const std::string csrss = "\\Device\\HarddiskVolume4\\Windows\\System32\\csrss.exe";
  EXPECT_EQ(bam(plain.x, "S-1-5-18", csrss), std::nullopt);
  EXPECT_EQ(bam(replayed.x, "S-1-5-18", csrss), 131674920388104203u);
  // An entry the logs updated: Cortana's last run.
  EXPECT_EQ(bam(plain.x, user, "Microsoft.Windows.Cortana_cw5n1h2txyewy"), 131674714735259440u);
  EXPECT_EQ(bam(replayed.x, user, "Microsoft.Windows.Cortana_cw5n1h2txyewy"), 131674924818702004u);

  test::TempDir tmp;
  const fs::path recovered = WriteRecovered(*replayed.hive, tmp / "SYSTEM");
  CompareServices("regipy_SYSTEM_B+logs", replayed.x, recovered, 656);
  CompareShimCache("regipy_SYSTEM_B+logs", replayed.x, recovered, 406, "10-creators");
  CompareBam("regipy_SYSTEM_B+logs", replayed.x, recovered, 31);
  if (!HaveRegripper() || !HavePyregf())
    GTEST_SKIP() << "regripper or python3-libregf is missing: golden values checked, oracles not compared";
}

// ================================================ SOFTWARE (built by hivexsh)

// Hex bytes for hivexsh's "hex:<type>:" of a UTF-16LE string with its NUL.
std::string Utf16Hex(std::string_view utf8) {
  std::string hex;
  const std::string u16 = core::Utf8ToUtf16Le(utf8) + std::string(2, '\0');
  for (unsigned char b : u16) hex += fmt::format("{}{:02x}", hex.empty() ? "" : ",", b);
  return hex;
}

constexpr std::string_view kCv = "\\Microsoft\\Windows NT\\CurrentVersion";
constexpr std::string_view kEvilId = "{0B1D3E5F-1111-4A2B-8C3D-000000000001}";
constexpr std::string_view kGoodId = "{0B1D3E5F-2222-4A2B-8C3D-000000000002}";
constexpr std::string_view kNestedId = "{0B1D3E5F-3333-4A2B-8C3D-000000000003}";
constexpr std::string_view kOrphanId = "{0B1D3E5F-4444-4A2B-8C3D-000000000004}";
constexpr std::string_view kStubId = "{0B1D3E5F-5555-4A2B-8C3D-000000000005}";

// hivexsh commands turning regipy's SAM into a small SOFTWARE hive. "setval"
// replaces all values of the current key; hivexsh only writes ASCII through
// "string:", so the non-ASCII profile path goes in as hex.
std::string SoftwareScript() {
  const std::string cv(kCv), tc = std::string(kCv) + "\\Schedule\\TaskCache";
  const std::string sd = "hex:3:01,00,04,80,14,00,00,00,20,00,00,00,00,00,00,00,2c,00,00,00";
  std::string s;
  auto add = [&](const std::string& parent, std::initializer_list<const char*> names) {
    s += "cd " + parent + "\n";
    for (const char* n : names) s += fmt::format("add {}\n", n);
  };
  auto set = [&](const std::string& key, std::initializer_list<std::pair<const char*, std::string>> values) {
    s += fmt::format("cd {}\nsetval {}\n", key, values.size());
    for (const auto& [n, v] : values) s += fmt::format("{}\n{}\n", n, v);
  };
  s += "cd \\SAM\ndel\n";
  add("\\", {"Microsoft", "Wow6432Node"});
  add("\\Microsoft", {"Windows", "Windows NT", "Active Setup"});
  add("\\Microsoft\\Windows", {"CurrentVersion"});
  add("\\Microsoft\\Windows\\CurrentVersion", {"Run", "RunOnce", "Policies"});
  add("\\Microsoft\\Windows\\CurrentVersion\\Policies", {"Explorer"});
  add("\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer", {"Run"});
  add("\\Microsoft\\Windows NT", {"CurrentVersion"});
  add(cv, {"Winlogon", "Windows", "Image File Execution Options", "ProfileList", "Schedule"});
  add(cv + "\\Image File Execution Options", {"sethc.exe", "notepad.exe"});
  add(cv + "\\ProfileList", {"S-1-5-18", "S-1-5-21-1-2-3-1001"});
  add(cv + "\\Schedule", {"TaskCache"});
  add(tc, {"Tree", "Tasks"});
  add(tc + "\\Tree", {"Evil", "Good", "Microsoft", "Orphan"});
  add(tc + "\\Tree\\Microsoft", {"Windows"});
  add(tc + "\\Tree\\Microsoft\\Windows", {"Updater"});
  s += "cd " + tc + "\\Tasks\n";
  for (auto id : {kEvilId, kGoodId, kNestedId}) s += fmt::format("add {}\n", id);
  add("\\Microsoft\\Active Setup", {"Installed Components"});
  s += fmt::format("cd \\Microsoft\\Active Setup\\Installed Components\nadd {}\nadd {}\n", kStubId,
                   "{0B1D3E5F-6666-4A2B-8C3D-000000000006}");
  add("\\Wow6432Node", {"Microsoft"});
  add("\\Wow6432Node\\Microsoft", {"Windows", "Windows NT"});
  add("\\Wow6432Node\\Microsoft\\Windows", {"CurrentVersion"});
  add("\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion", {"Run"});
  add("\\Wow6432Node\\Microsoft\\Windows NT", {"CurrentVersion"});
  add("\\Wow6432Node\\Microsoft\\Windows NT\\CurrentVersion", {"Windows"});

  set("\\Microsoft\\Windows\\CurrentVersion\\Run",
      {{"Updater", "string:\"C:\\ProgramData\\Updater\\u.exe\" /q"},
       {"SecurityHealth", "expandstring:%windir%\\system32\\SecurityHealthSystray.exe"}});
  set("\\Microsoft\\Windows\\CurrentVersion\\RunOnce", {{"Cleanup", "string:cmd.exe /c del C:\\Users\\Public\\x.bat"}});
  set("\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run", {{"1", "string:C:\\Windows\\Temp\\p.exe"}});
  set("\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run",
      {{"Helper32", "string:\"C:\\Program Files (x86)\\Helper\\helper.exe\" -s"}});
  set(cv + "\\Winlogon", {{"Shell", "string:explorer.exe, C:\\Users\\Public\\evil.exe"},
                          {"Userinit", "string:C:\\Windows\\system32\\userinit.exe,"},
                          {"AutoRestartShell", "dword:1"}});
  set(cv + "\\Windows", {{"AppInit_DLLs", "string:C:\\ProgramData\\inject.dll"}, {"LoadAppInit_DLLs", "dword:1"}});
  // Empty: no row.
  set("\\Wow6432Node\\Microsoft\\Windows NT\\CurrentVersion\\Windows", {{"AppInit_DLLs", "string:"}});
  set(cv + "\\Image File Execution Options\\sethc.exe", {{"Debugger", "string:C:\\Windows\\System32\\cmd.exe"}});
  set(cv + "\\Image File Execution Options\\notepad.exe", {{"GlobalFlag", "dword:0x200"}});
  set(cv + "\\ProfileList\\S-1-5-18",
      {{"ProfileImagePath", "expandstring:%systemroot%\\system32\\config\\systemprofile"}, {"Flags", "dword:12"}});
  set(cv + "\\ProfileList\\S-1-5-21-1-2-3-1001", {{"ProfileImagePath", "hex:2:" + Utf16Hex("C:\\Users\\Zoë")}});
  // A task hidden from schtasks: its Tree key has no SD.
  set(tc + "\\Tree\\Evil", {{"Id", fmt::format("string:{}", kEvilId)}, {"Index", "dword:3"}});
  set(tc + "\\Tree\\Good", {{"Id", fmt::format("string:{}", kGoodId)}, {"Index", "dword:3"}, {"SD", sd}});
  set(tc + "\\Tree\\Microsoft\\Windows\\Updater", {{"Id", fmt::format("string:{}", kNestedId)}, {"SD", sd}});
  // A Tree entry whose Tasks key is gone.
  set(tc + "\\Tree\\Orphan", {{"Id", fmt::format("string:{}", kOrphanId)}, {"SD", sd}});
  set(fmt::format("{}\\Tasks\\{}", tc, kEvilId), {{"Path", "string:\\Evil"},
                                                  {"URI", "string:\\Evil"},
                                                  {"Author", "string:WORKGROUP\\mallory"},
                                                  {"Date", "string:2024-05-06T07:08:09"}});
  set(fmt::format("{}\\Tasks\\{}", tc, kGoodId), {{"URI", "string:\\Good"},
                                                  {"Author", "string:Contoso"},
                                                  {"Date", "string:2023-01-02T03:04:05.1234567"},
                                                  {"Description", "string:Keeps Contoso up to date"}});
  set(fmt::format("{}\\Tasks\\{}", tc, kNestedId), {{"URI", "string:\\Microsoft\\Windows\\Updater"}});
  set(fmt::format("\\Microsoft\\Active Setup\\Installed Components\\{}", kStubId),
      {{"@", "string:Evil Component"}, {"StubPath", "string:C:\\ProgramData\\stub.exe /install"}});
  set("\\Microsoft\\Active Setup\\Installed Components\\{0B1D3E5F-6666-4A2B-8C3D-000000000006}",
      {{"Version", "string:1,0"}});
  s += "commit\n";
  return s;
}

TEST(HiveExtract, SoftwareHiveBuiltWithHivex) {
  if (!test::HaveTool("hivexsh")) GTEST_SKIP() << "hivexsh (Debian libhivex-bin) is not installed";
  const fs::path sam = Unpacked(Regipy("SAM"));
  if (sam.empty()) GTEST_SKIP() << "regipy SAM is missing or cannot be unpacked";
  test::TempDir tmp;
  const fs::path hive = tmp / "SOFTWARE";
  fs::copy_file(sam, hive);
  test::WriteFile(tmp / "script", SoftwareScript());
  const auto r = test::RunCommand({"hivexsh", "-w", "-f", (tmp / "script").string(), hive.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(r.err.empty()) << r.err;

  const Loaded l = Load(hive, HiveType::kSoftware);
  ASSERT_TRUE(l.hive);
  EXPECT_TRUE(l.x.errors.empty()) << Errors(l.x);
  EXPECT_TRUE(l.x.amcache_files.empty() && l.x.shimcache.empty() && l.x.bam.empty() && l.x.services.empty());

  // Autoruns, in the order Extract reads the locations.
  const std::string hklm = "HKLM\\SOFTWARE\\Microsoft\\";
  const std::string cv = "HKLM\\SOFTWARE" + std::string(kCv);
  using Row = std::tuple<std::string, std::string, std::string>;
  std::vector<Row> want = {
      {hklm + "Windows\\CurrentVersion\\Run", "SecurityHealth", "%windir%\\system32\\SecurityHealthSystray.exe"},
      {hklm + "Windows\\CurrentVersion\\Run", "Updater", "\"C:\\ProgramData\\Updater\\u.exe\" /q"},
      {hklm + "Windows\\CurrentVersion\\RunOnce", "Cleanup", "cmd.exe /c del C:\\Users\\Public\\x.bat"},
      {hklm + "Windows\\CurrentVersion\\Policies\\Explorer\\Run", "1", "C:\\Windows\\Temp\\p.exe"},
      {"HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run", "Helper32",
       "\"C:\\Program Files (x86)\\Helper\\helper.exe\" -s"},
      {cv + "\\Winlogon", "Shell", "explorer.exe, C:\\Users\\Public\\evil.exe"},
      {cv + "\\Winlogon", "Userinit", "C:\\Windows\\system32\\userinit.exe,"},
      {cv + "\\Windows", "AppInit_DLLs", "C:\\ProgramData\\inject.dll"},
      {cv + "\\Image File Execution Options\\sethc.exe", "Debugger", "C:\\Windows\\System32\\cmd.exe"},
      {fmt::format("{}Active Setup\\Installed Components\\{}", hklm, kStubId), "StubPath",
       "C:\\ProgramData\\stub.exe /install"},
  };
  std::vector<Row> got;
  for (const auto& a : l.x.autoruns) got.emplace_back(a.location, a.name, a.value);
  // Values of one key come in the hive's value-list order (hivexsh's); compare sorted.
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);

  ASSERT_EQ(l.x.profiles.size(), 2u);
  EXPECT_EQ(l.x.profiles[0].sid, "S-1-5-18");
  EXPECT_EQ(l.x.profiles[0].path, "%systemroot%\\system32\\config\\systemprofile");
  EXPECT_EQ(l.x.profiles[1].sid, "S-1-5-21-1-2-3-1001");
  EXPECT_EQ(l.x.profiles[1].path, "C:\\Users\\Zo\xc3\xab");

  std::vector<TaskCacheRow> tasks = l.x.task_cache;
  std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  ASSERT_EQ(tasks.size(), 4u);
  auto check = [](const TaskCacheRow& t, std::string_view path, std::string_view id, bool sd, bool task,
                  std::string_view uri, std::string_view author, std::string_view date, std::string_view description) {
    SCOPED_TRACE(std::string(path));
    EXPECT_EQ(t.path, path);
    EXPECT_EQ(t.id, id);
    EXPECT_EQ(t.has_sd, sd);
    EXPECT_EQ(t.has_task, task);
    EXPECT_EQ(t.uri, uri);
    EXPECT_EQ(t.author, author);
    EXPECT_EQ(t.date, date);
    EXPECT_EQ(t.description, description);
  };
  check(tasks[0], "\\Evil", kEvilId, false, true, "\\Evil", "WORKGROUP\\mallory", "2024-05-06T07:08:09", "");
  check(tasks[1], "\\Good", kGoodId, true, true, "\\Good", "Contoso", "2023-01-02T03:04:05.1234567",
        "Keeps Contoso up to date");
  check(tasks[2], "\\Microsoft\\Windows\\Updater", kNestedId, true, true, "\\Microsoft\\Windows\\Updater", "", "", "");
  check(tasks[3], "\\Orphan", kOrphanId, true, false, "", "", "", "");

  // libregf reads the same keys, values and last-write times.
  if (!HavePyregf()) GTEST_SKIP() << "python3-libregf is not installed: rows checked, not read back";
  std::vector<std::string> keys;
  std::map<std::string, std::uint64_t> our_times;  // key path (from the root) -> last written
  for (const auto& a : l.x.autoruns) {
    const std::string rel = a.location.substr(std::string("HKLM\\SOFTWARE\\").size());
    keys.push_back(rel);
    our_times[rel] = a.last_written;
  }
  for (const auto& p : l.x.profiles) {
    keys.push_back(std::string(kCv.substr(1)) + "\\ProfileList\\" + p.sid);
    our_times[keys.back()] = p.last_written;
  }
  const std::string tree = std::string(kCv.substr(1)) + "\\Schedule\\TaskCache\\Tree";
  for (const auto& t : l.x.task_cache) {
    keys.push_back(tree + t.path);
    our_times[keys.back()] = t.last_written;
  }
  const std::string tasks_key = std::string(kCv.substr(1)) + "\\Schedule\\TaskCache\\Tasks";
  keys.push_back(tasks_key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<std::string> args = {hive.string()};
  args.insert(args.end(), keys.begin(), keys.end());
  std::map<std::string, json> oracle;
  for (const auto& j : PyOracle("key_values_oracle.py", args)) oracle[j["k"].get<std::string>()] = j;
  auto value = [&](const std::string& key, const std::string& name) -> std::optional<std::string> {
    const json& k = oracle[key];
    if (!k.contains("values")) return std::nullopt;
    for (const auto& v : k["values"])
      if (core::EqualsIgnoreCaseAscii(v["n"].get<std::string>(), name)) return v["text"].get<std::string>();
    return std::nullopt;
  };
  for (const auto& key : keys) {
    ASSERT_FALSE(oracle[key].value("missing", false)) << "pyregf does not find " << key;
    if (our_times.contains(key)) {
      EXPECT_EQ(oracle[key]["t"].get<std::uint64_t>(), our_times[key]) << key;
    }
  }
  for (const auto& a : l.x.autoruns) {
    const std::string rel = a.location.substr(std::string("HKLM\\SOFTWARE\\").size());
    EXPECT_EQ(value(rel, a.name), a.value) << rel << " " << a.name;
  }
  for (const auto& p : l.x.profiles)
    EXPECT_EQ(value(std::string(kCv.substr(1)) + "\\ProfileList\\" + p.sid, "ProfileImagePath"), p.path);
  std::set<std::string> task_ids;
  for (const auto& s : oracle[tasks_key]["subkeys"]) task_ids.insert(s.get<std::string>());
  for (const auto& t : l.x.task_cache) {
    EXPECT_EQ(value(tree + t.path, "Id"), t.id) << t.path;
    EXPECT_EQ(value(tree + t.path, "SD").has_value(), t.has_sd) << t.path;
    EXPECT_EQ(task_ids.contains(t.id), t.has_task) << t.path;
  }
  std::printf(
      "[ oracle   ] hivexsh SOFTWARE: %zu autoruns, %zu profiles, %zu tasks; key_values_oracle.py read %zu "
      "keys\n",
      l.x.autoruns.size(), l.x.profiles.size(), l.x.task_cache.size(), keys.size());
}

// ============================================================ CommandFileLc

TEST(HiveExtract, CommandFileLc) {
  struct Case {
    std::string_view command, file;
  };
  const Case cases[] = {
      {"", ""},
      {"   ", ""},
      {"\"C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe\" /background",
       "c:\\program files\\microsoft onedrive\\onedrive.exe"},
      {"  \"C:\\Quoted Path\\App.exe\"", "c:\\quoted path\\app.exe"},
      {"C:\\Program Files\\Docker\\Docker\\Docker Desktop.exe -Autostart",
       "c:\\program files\\docker\\docker\\docker desktop.exe"},
      {"C:\\Program Files\\Beyond Compare 4\\BCClipboard.exe", "c:\\program files\\beyond compare 4\\bcclipboard.exe"},
      {"C:\\Tools\\app.exe.bak\\run.exe /x", "c:\\tools\\app.exe.bak\\run.exe"},
      {"\\??\\C:\\Users\\jcloudy\\AppData\\Local\\Temp\\ad_driver.sys",
       "c:\\users\\jcloudy\\appdata\\local\\temp\\ad_driver.sys"},
      {"\\SystemRoot\\System32\\drivers\\ACPI.sys", "c:\\windows\\system32\\drivers\\acpi.sys"},
      {"%SystemRoot%\\System32\\svchost.exe -k netsvcs -p", "c:\\windows\\system32\\svchost.exe"},
      {"%systemroot%\\system32\\svchost.exe -k netsvcs", "c:\\windows\\system32\\svchost.exe"},
      {"%windir%\\system32\\SecurityHealthSystray.exe", "c:\\windows\\system32\\securityhealthsystray.exe"},
      {"%ProgramData%\\Updater\\u.exe", "c:\\programdata\\updater\\u.exe"},
      {"%ALLUSERSPROFILE%\\x.exe", "c:\\programdata\\x.exe"},
      {"%PUBLIC%\\Downloads\\y.exe", "c:\\users\\public\\downloads\\y.exe"},
      {"system32\\drivers\\x.sys", "c:\\windows\\system32\\drivers\\x.sys"},
      {"System32\\DRIVERS\\mferkdet.sys", "c:\\windows\\system32\\drivers\\mferkdet.sys"},
      {"rundll32.exe c:\\x\\y.dll,Entry", "rundll32.exe"},
      {"C:\\Windows\\system32\\rundll32.exe c:\\x\\y.dll,Entry", "c:\\windows\\system32\\rundll32.exe"},
      {"c:\\x\\y.dll,Entry", "c:\\x\\y.dll"},
      // Per-user variables stay as written.
      {"%ProgramFiles%\\Windows Sidebar\\Sidebar.exe /autoRun", "%programfiles%\\windows sidebar\\sidebar.exe"},
      {"%LOCALAPPDATA%\\Microsoft\\OneDrive\\OneDrive.exe", "%localappdata%\\microsoft\\onedrive\\onedrive.exe"},
      // No executable extension: up to the first space.
      {"cmd /c start evil", "cmd"},
      {"C:\\Windows\\explorer", "c:\\windows\\explorer"},
      {"wscript.exe //B C:\\Users\\Public\\run.vbs", "wscript.exe"},
      {"C:\\Users\\Public\\run.vbs", "c:\\users\\public\\run.vbs"},
      {"powershell.exe\t-nop -w hidden", "powershell.exe"},
  };
  for (const auto& c : cases) EXPECT_EQ(CommandFileLc(c.command), c.file) << "command: " << c.command;
}

}  // namespace
}  // namespace trawl::core::hive
