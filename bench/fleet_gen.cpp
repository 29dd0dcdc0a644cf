// SPDX-License-Identifier: Apache-2.0
// Fleet benchmark input (bench/fleet.sh): N synthetic hosts built from one
// real base collection, each written as an age-encrypted archive by the real
// ArchiveWriter. The base is an extracted collection (trawl-triage decrypt
// -o DIR: records/<table>.NNNN.jsonl). Every host gets:
//   - the base's records, as they are (what every host of the fleet shares);
//   - the base's files again under `copies` WinSxS component folders
//     (C:\Windows\WinSxS\amd64_fleet-copy<k>_...\...), same hashes: the
//     size of a real workstation's file listing, most of it the Windows
//     folder, with the repetition of a real fleet;
//   - per-host variation: about 2% of the file records get a hash of their
//     own (patch levels), and 300 files of its own under the user profile;
//   - on one host (--planted, default N/2): the X_TRADER side-load template
//     in C:\ProgramData\TPM (TpmVscMgrSvr.exe, winscard.dll, msvcr100.dll
//     and an encrypted-looking blob).
// Usage: fleet_gen BASE_DIR OUT_DIR N RECIPIENT [--copies K] [--planted I] [--first I]
// Prints one line per archive: "<index> <path> <records>".
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_writer.h"
#include "core/crypto/age.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace trawl;

namespace {

struct Base {
  std::vector<std::pair<std::string, json>> records;  // table, record
  std::vector<json> files;                            // the files records with a path under C:\ (for copies)
};

Base LoadBase(const fs::path& dir) {
  Base b;
  std::vector<fs::path> segments;
  for (const auto& e : fs::directory_iterator(dir / "records")) segments.push_back(e.path());
  std::sort(segments.begin(), segments.end());
  for (const fs::path& seg : segments) {
    const std::string name = seg.filename().string();
    const std::string table = name.substr(0, name.find('.'));
    std::ifstream in(seg);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json r = json::parse(line);
      if (table == "files" && r.value("type", "") == "file" && r.contains("path")) b.files.push_back(r);
      b.records.emplace_back(table, std::move(r));
    }
  }
  return b;
}

std::string Hex(std::mt19937_64& rng, std::size_t len) {
  std::string s;
  while (s.size() < len) s += fmt::format("{:016x}", rng());
  return s.substr(0, len);
}

json File(const std::string& path, std::mt19937_64& rng, bool pe, double entropy, std::uint64_t size) {
  return {{"path", path},
          {"type", "file"},
          {"size", size},
          {"mtime", "2023-03-20T09:12:00.000000000Z"},
          {"btime", "2023-03-20T09:12:00.000000000Z"},
          {"md5", Hex(rng, 32)},
          {"sha1", Hex(rng, 40)},
          {"sha256", Hex(rng, 64)},
          {"entropy", entropy},
          {"is_pe", pe},
          {"pe_signed", false},
          {"status", "ok"},
          {"artifact", "windows.bench.fleet"}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: fleet_gen BASE_DIR OUT_DIR N RECIPIENT [--copies K] [--planted I] [--first I]\n");
    return 2;
  }
  const fs::path base_dir = argv[1];
  const fs::path out_dir = argv[2];
  const int n = std::stoi(argv[3]);
  auto recipient = core::age::ParseRecipient(argv[4]);
  if (!recipient) return std::fprintf(stderr, "%s\n", recipient.error().ToString().c_str()), 2;
  int copies = 10, planted = n / 2, first = 0;
  for (int i = 5; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--copies") copies = std::stoi(argv[i + 1]);
    if (k == "--planted") planted = std::stoi(argv[i + 1]);
    if (k == "--first") first = std::stoi(argv[i + 1]);
  }
  const Base base = LoadBase(base_dir);
  if (base.files.empty()) return std::fprintf(stderr, "%s: no files records\n", base_dir.c_str()), 1;
  fs::create_directories(out_dir);
  for (int host = first; host < first + n; ++host) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(host) * 7919 + 1);
    const std::string name = fmt::format("FLEET-{:04d}", host);
    core::archive::WriterOptions o;
    o.output_dir = out_dir;
    o.base_name = name + "_20260301T000000Z";
    o.recipients = {*recipient};
    o.header = {{"tool", "trawl-collect"},
                {"tool_version", "bench"},
                {"started", "2026-03-01T00:00:00Z"},
                {"profile", {{"name", "fleet-bench"}}},
                {"host", {{"hostname", name}, {"os", "windows"}, {"live", false}}},
                {"target_os", "windows"}};
    auto w = core::archive::ArchiveWriter::Create(o);
    if (!w) return std::fprintf(stderr, "%s\n", w.error().ToString().c_str()), 1;
    std::uint64_t count = 0;
    auto add = [&](const std::string& table, const json& r) {
      if (auto a = (*w)->AddRecord(table, r); !a) {
        std::fprintf(stderr, "%s\n", a.error().ToString().c_str());
        std::exit(1);
      }
      ++count;
    };
    // Patch levels: ~2% of the file records of this host have their own hash.
    auto vary = [&](json r) {
      if (r.contains("sha256") && rng() % 50 == 0) {
        r["sha256"] = Hex(rng, 64);
        r["sha1"] = Hex(rng, 40);
        r["md5"] = Hex(rng, 32);
      }
      return r;
    };
    for (const auto& [table, r] : base.records) add(table, table == "files" ? vary(r) : r);
    for (int k = 0; k < copies; ++k) {
      for (const json& f : base.files) {
        json r = vary(f);
        std::string path = r["path"].get<std::string>();
        // C:\windows\system32\x.dll -> C:\Windows\WinSxS\amd64_fleet-copy3_...\windows\system32\x.dll:
        // most of a real Windows host's files are the Windows folder's, much of it repeated in WinSxS.
        if (path.size() > 3 && path[1] == ':') {
          path = fmt::format("C:\\Windows\\WinSxS\\amd64_fleet-copy{}_31bf3856ad364e35_10.0.19041.{}\\{}", k, 1000 + k,
                             path.substr(3));
        }
        r["path"] = path;
        r.erase("source_path");
        r.erase("copied_as");
        add("files", r);
      }
    }
    for (int i = 0; i < 300; ++i) {
      add("files", File(fmt::format("C:\\Users\\user{}\\AppData\\Local\\Temp\\{}\\f{}.tmp", host, i % 17, i), rng,
                        false, 4.0 + static_cast<double>(i % 40) / 10.0, 1000 + static_cast<std::uint64_t>(i)));
    }
    if (host == planted) {
      add("files", File("C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe", rng, true, 6.1, 82432));
      add("files", File("C:\\ProgramData\\TPM\\winscard.dll", rng, true, 6.3, 241664));
      add("files", File("C:\\ProgramData\\TPM\\msvcr100.dll", rng, true, 6.4, 773968));
      add("files", File("C:\\ProgramData\\TPM\\mscoree.dat", rng, false, 7.98, 5242880));
    }
    auto parts = (*w)->Finish({{"result", "complete"}, {"ended", "2026-03-01T00:05:00Z"}});
    if (!parts) return std::fprintf(stderr, "%s\n", parts.error().ToString().c_str()), 1;
    std::printf("%d %s %llu\n", host, parts->front().path.c_str(), static_cast<unsigned long long>(count));
    std::fflush(stdout);
  }
  return 0;
}
