// SPDX-License-Identifier: Apache-2.0
// Whole-run benchmark of triage ingest + scoring: writes an age-encrypted
// archive with N realistic `files` records (plus dir_entries) through the
// real ArchiveWriter, then times IngestArchive and ScoreCase with the shipped
// rules into a fresh case, and reports records/s and the case size per
// 100,000 file records. Usage: ingest_bench [N=200000] [workdir=/tmp].
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

#include "core/archive/archive_writer.h"
#include "triage/case_db.h"
#include "triage/ingest.h"
#include "triage/rules.h"
#include "triage/scoring.h"

namespace fs = std::filesystem;
using namespace trawl;

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::stol(argv[1]) : 200000;
  const fs::path work = fs::path(argc > 2 ? argv[2] : "/tmp") / "trawl-ingest-bench";
  fs::remove_all(work);
  fs::create_directories(work);
  auto id = core::age::GenerateX25519Identity().value();
  core::archive::WriterOptions o;
  o.output_dir = work;
  o.base_name = "BENCH_20260101T000000Z";
  o.recipients = {id.ToRecipient()};
  o.header = {{"tool", "trawl-collect"}, {"started", "2026-01-01T00:00:00Z"},
              {"host", {{"hostname", "BENCH"}, {"os", "windows"}}}, {"target_os", "windows"}};
  auto w = core::archive::ArchiveWriter::Create(o);
  if (!w) return std::fprintf(stderr, "%s\n", w.error().ToString().c_str()), 1;
  std::mt19937_64 rng(42);
  auto hex = [&](int len) {
    std::string s;
    while (static_cast<int>(s.size()) < len) s += fmt::format("{:016x}", rng());
    return s.substr(0, static_cast<std::size_t>(len));
  };
  for (long i = 0; i < n; ++i) {
    const bool dll = i % 3 == 0;
    nlohmann::json r = {
        {"path", fmt::format("C:\\Program Files\\Vendor{}\\App{}\\sub\\file{}.{}", i % 97, i % 1013, i, dll ? "dll" : "dat")},
        {"source_path", fmt::format("/mnt/c/Program Files/Vendor{}/App{}/sub/file{}", i % 97, i % 1013, i)},
        {"type", "file"}, {"size", 1000 + i}, {"mode", 33188}, {"uid", -1}, {"gid", -1},
        {"mtime", "2025-03-01T10:00:00.000000000Z"}, {"atime", "2025-03-02T10:00:00.000000000Z"},
        {"ctime", "2025-03-01T10:00:00.000000000Z"}, {"btime", "2024-01-01T10:00:00.000000000Z"},
        {"md5", hex(32)}, {"sha1", hex(40)}, {"sha256", hex(64)}, {"entropy", 5.5 + static_cast<double>(i % 30) / 10.0},
        {"is_pe", dll}, {"status", "ok"}, {"artifact", "windows.apps.bench"}};
    if (dll) {
      r.update({{"pe_machine", "AMD64"}, {"pe_is_dll", true}, {"pe_timestamp", 1700000000}, {"pe_imphash", hex(32)},
                {"pe_signed", i % 2 == 0}, {"pe_signer", "CN=Vendor"}, {"pe_digest_matches", true},
                {"pe_padding_anomaly", false}});
    }
    if (!(*w)->AddRecord("files", r)) return 1;
  }
  const long dir_entries = 3000;
  for (long i = 0; i < dir_entries; ++i) {
    (void)(*w)->AddRecord("dir_entries", {{"dir", "C:\\Windows\\System32"}, {"name", fmt::format("sys{}.dll", i)},
                                          {"type", "file"}, {"artifact", "windows.system.system_dll_names"}});
  }
  auto parts = (*w)->Finish({{"result", "complete"}});
  if (!parts) return std::fprintf(stderr, "%s\n", parts.error().ToString().c_str()), 1;
  const fs::path case_path = work / "case.db";
  auto db = triage::Db::Open(case_path, triage::Db::Mode::kReadWriteCreate);
  if (!db) return std::fprintf(stderr, "%s\n", db.error().ToString().c_str()), 1;
  auto rules = triage::LoadRules({});
  if (!rules) return 1;
  // CPU time too: on a loaded machine wall time mostly measures the neighbours.
  const std::clock_t c0 = std::clock();
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = triage::IngestArchive(**db, parts->front().path, {id});
  const auto t1 = std::chrono::steady_clock::now();
  const std::clock_t c1 = std::clock();
  if (r.status != triage::IngestResult::Status::kIngested) return std::fprintf(stderr, "%s\n", r.reason.c_str()), 1;
  auto s = triage::ScoreCase(**db, *rules, {});
  const auto t2 = std::chrono::steady_clock::now();
  const std::clock_t c2 = std::clock();
  const double cpu_ingest = static_cast<double>(c1 - c0) / CLOCKS_PER_SEC;
  const double cpu_total = static_cast<double>(c2 - c0) / CLOCKS_PER_SEC;
  if (!s) return std::fprintf(stderr, "%s\n", s.error().ToString().c_str()), 1;
  const double ingest = std::chrono::duration<double>(t1 - t0).count();
  const double total = std::chrono::duration<double>(t2 - t0).count();
  db->reset();
  const auto size = fs::file_size(case_path);
  std::printf("records %ld (+%ld dir_entries), archive %.1f MB\n", n, dir_entries,
              static_cast<double>(parts->front().size) / 1e6);
  std::printf("ingest %.2f s = %.0f records/s; ingest+score %.2f s = %.0f records/s (%llu findings)\n", ingest,
              static_cast<double>(r.records) / ingest, total, static_cast<double>(r.records) / total,
              static_cast<unsigned long long>(s->findings));
  std::printf("CPU time: ingest %.2f s = %.0f records/s; ingest+score %.2f s = %.0f records/s\n", cpu_ingest,
              static_cast<double>(r.records) / cpu_ingest, cpu_total, static_cast<double>(r.records) / cpu_total);
  std::printf("case size %.1f MB = %.1f MB per 100,000 file records\n", static_cast<double>(size) / 1e6,
              static_cast<double>(size) / 1e6 * 100000.0 / static_cast<double>(n));
  if (std::getenv("TRAWL_BENCH_KEEP") == nullptr) fs::remove_all(work);
  return 0;
}
