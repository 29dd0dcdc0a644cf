// SPDX-License-Identifier: Apache-2.0
// The collector's single read of a file: open carefully through the
// Platform, then stream every chunk once into MD5/SHA-1/SHA-256, entropy, the
// PE and Authenticode analyzer and (when copying) the archive. Results are
// cached per (device, inode, size, mtime) so a file reached again (a module
// mapped by many processes, overlapping artifacts) is read once; the cache is
// bounded (two generations of kCacheGeneration entries, ~10 MiB), so a walk of
// a million files keeps its memory flat. Thread-safe: workers share one
// pipeline; archive writes are serialised by the pipeline's archive lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <array>
#include <memory>
#include <unordered_map>
#include <vector>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/hash/multi_hasher.h"
#include "collector/platform/platform.h"
#include "collector/record.h"
#include "core/archive/archive_writer.h"
#include "core/hash/multi_hasher.h"

namespace trawl::collector {

// Why a collection stops early; checked between files and between chunks.
class StopControl {
 public:
  void SetDeadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }
  // A flag a signal handler sets (async-signal-safe): non-zero = signal number.
  void SetSignalFlag(const std::atomic<int>* flag) { signal_flag_ = flag; }
  void RequestStop(std::string reason);
  // True once a stop was requested or the deadline passed.
  bool ShouldStop();
  std::string reason();

 private:
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  const std::atomic<int>* signal_flag_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string reason_;
};

struct CopyPolicy {
  bool copy = false;                  // copy every file
  bool copy_executables = false;      // copy PE/ELF/Mach-O and libraries
  std::uint64_t small_files_max = 0;  // copy non-executables up to this size
  std::uint64_t copy_max_size = 0;    // never copy a file larger than this
};

// The install_dirs columns of a `files` record.
struct ProductColumns {
  std::string product, vendor, category;
  void ApplyTo(Record& r) const;
};

// How a file's content is read (the files and install_dirs `access` parameter).
enum class FileAccess {
  kAuto,  // the OS's file API; a file locked by another process is read raw from its volume
  kApi,   // the OS's file API only
  kRaw,   // the volume only
};
FileAccess ParseFileAccess(std::string_view text);  // "auto" | "api" | "raw" (validated by the profile loader)

struct FileRequest {
  std::string target_path;  // as the target names it
  std::string host_path;    // what to open
  std::string artifact;
  std::string archive_path;  // where a copy goes; empty: derived from target_path
  bool windows_target = false;
  bool hash = true;
  bool pe_analysis = true;
  std::uint64_t max_file_size = 0;  // not read beyond: recorded as skipped
  FileAccess access = FileAccess::kAuto;
  CopyPolicy copy;
  std::optional<ProductColumns> product;  // install_dirs
};

// Opens req.host_path as req.access says: the file API first, the volume for
// a file another process holds locked (kAuto).
core::Result<std::unique_ptr<FileReader>> OpenWithAccess(Platform& platform, const FileRequest& req);

struct FileOutcome {
  Record record{"files"};
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_copied = 0;
  bool copied = false;
  bool error = false;
  bool output_limit = false;  // the archive's output budget ran out
};

class FilePipeline {
 public:
  FilePipeline(Platform& platform, core::archive::ArchiveWriter& archive, StopControl& stop)
      : platform_(platform), archive_(archive), stop_(stop) {}

  FileOutcome Process(const FileRequest& request);
  // Adds a record to the archive under the archive lock; a record that broke
  // its table's declaration (Record::misuse) is written and the bug logged.
  core::Result<void> AddRecord(const Record& record);
  // The same for several, under one lock.
  core::Result<void> AddRecords(std::span<const Record> records);
  void AddItem(const core::archive::ItemRecord& item);
  void Log(std::string_view level, std::string_view event, nlohmann::json fields);
  std::mutex& archive_mutex() { return archive_mu_; }

  std::uint64_t cache_hits() const { return cache_hits_; }
  std::uint64_t files_hashed() const { return files_hashed_; }

 private:
  struct CacheKey {
    std::uint64_t device, inode, size;
    std::int64_t mtime_ns;
    bool operator==(const CacheKey& o) const = default;
  };
  struct CacheKeyHash {
    std::size_t operator()(const CacheKey& k) const {
      std::uint64_t h = k.device * 0x9E3779B97F4A7C15ULL ^ k.inode;
      h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ULL ^ k.size;
      h = (h ^ (h >> 32)) * 0x94D049BB133111EBULL ^ static_cast<std::uint64_t>(k.mtime_ns);
      return static_cast<std::size_t>(h ^ (h >> 31));
    }
  };
  struct PeColumns {
    std::string machine, imphash, signer;
    std::string original_filename, product, company, description, file_version;  // version resource
    std::int64_t timestamp = 0;
    bool is_dll = false, signed_ = false, digest_matches = false, padding_anomaly = false;
  };
  struct CacheExtra {
    std::optional<PeColumns> pe;
    std::string copied_as;
  };
  // Compact on purpose: digests as bytes, PE facts and copies (rare) apart.
  struct CacheValue {
    std::array<std::uint8_t, 16> md5;
    std::array<std::uint8_t, 20> sha1;
    std::array<std::uint8_t, 32> sha256;
    double entropy = 0;
    bool hashed = false;
    std::unique_ptr<CacheExtra> extra;
  };
  using CacheMap = std::unordered_map<CacheKey, CacheValue, CacheKeyHash>;
  static void ApplyPe(const PeColumns& pe, Record& r);
  // A hasher and a read buffer for one Process call, kept here and reused.
  // Not thread_local: mingw-w64's emulated TLS frees a thread's block before
  // the destructors of its thread_local objects run, so a thread_local hasher
  // freed a garbage pointer when a worker thread ended (a crash under Wine).
  struct Scratch {
    core::MultiHasher hasher;
    std::vector<std::byte> buffer;
  };
  std::unique_ptr<Scratch> TakeScratch();
  void GiveScratch(std::unique_ptr<Scratch> scratch);
  // Under cache_mu_: the cached value of `key` (moved into the newest
  // generation when found in the older one), or null.
  CacheValue* CacheFind(const CacheKey& key);
  void CacheStore(const CacheKey& key, CacheValue value);

  std::mutex scratch_mu_;
  std::vector<std::unique_ptr<Scratch>> scratch_;
  Platform& platform_;
  core::archive::ArchiveWriter& archive_;
  StopControl& stop_;
  std::mutex archive_mu_;
  std::set<std::string> undeclared_;  // "<table>.<misuse>" already logged (under archive_mu_)
  std::string line_;                  // the record being written (under archive_mu_)
  core::Result<void> AddRecordLocked(const Record& record);
  std::mutex cache_mu_;
  CacheMap cache_new_, cache_old_;
  std::atomic<std::uint64_t> cache_hits_{0};
  std::atomic<std::uint64_t> files_hashed_{0};
};

// Entries in each of the cache's two generations.
inline constexpr std::size_t kCacheGeneration = 32768;

// Record fields of a FileMeta ("mtime": ISO 8601 ...).
void AddMetaFields(const FileMeta& meta, Record& record);

}  // namespace trawl::collector
