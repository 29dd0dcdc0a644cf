// SPDX-License-Identifier: Apache-2.0
// The collector's single read of a file: open carefully through the
// Platform, then stream every chunk once into MD5/SHA-1/SHA-256, entropy, the
// PE and Authenticode analyzer and (when copying) the archive. Results are
// cached per (device, inode, size, mtime) so each distinct file is read once
// per run. Thread-safe: workers share one pipeline; archive writes are
// serialised by the pipeline's archive lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "collector/platform/platform.h"
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
  bool copy = false;                 // copy every file
  bool copy_executables = false;     // copy PE/ELF/Mach-O and libraries
  std::uint64_t small_files_max = 0; // copy non-executables up to this size
  std::uint64_t copy_max_size = 0;   // never copy a file larger than this
};

struct FileRequest {
  std::string target_path;  // as the target names it
  std::string host_path;    // what to open
  std::string artifact;
  std::string archive_path;  // where a copy goes; empty: derived from target_path
  bool windows_target = false;
  bool hash = true;
  bool pe_analysis = true;
  std::uint64_t max_file_size = 0;  // not read beyond: recorded as skipped
  CopyPolicy copy;
};

struct FileOutcome {
  nlohmann::json record;        // the `files` record columns
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_copied = 0;
  bool copied = false;
  bool error = false;
  bool output_limit = false;    // the archive's output budget ran out
};

class FilePipeline {
 public:
  FilePipeline(Platform& platform, core::archive::ArchiveWriter& archive, StopControl& stop)
      : platform_(platform), archive_(archive), stop_(stop) {}

  FileOutcome Process(const FileRequest& request);
  // Adds a record to the archive under the archive lock.
  core::Result<void> AddRecord(std::string_view table, const nlohmann::json& record);
  void AddItem(core::archive::ItemRecord item);
  void Log(std::string_view level, std::string_view event, nlohmann::json fields);
  std::mutex& archive_mutex() { return archive_mu_; }

  std::uint64_t cache_hits() const { return cache_hits_; }
  std::uint64_t files_hashed() const { return files_hashed_; }

 private:
  struct CacheKey {
    std::uint64_t device, inode, size;
    std::int64_t mtime_ns;
    bool operator<(const CacheKey& o) const {
      return std::tie(device, inode, size, mtime_ns) < std::tie(o.device, o.inode, o.size, o.mtime_ns);
    }
  };
  struct CacheValue {
    nlohmann::json facts;  // digests, entropy, pe_*
    std::string copied_as;
  };

  Platform& platform_;
  core::archive::ArchiveWriter& archive_;
  StopControl& stop_;
  std::mutex archive_mu_;
  std::mutex cache_mu_;
  std::map<CacheKey, CacheValue> cache_;
  std::atomic<std::uint64_t> cache_hits_{0};
  std::atomic<std::uint64_t> files_hashed_{0};
};

// Record fields of a FileMeta ("mtime": ISO 8601 ...).
void AddMetaFields(const FileMeta& meta, nlohmann::json& record);
// Repairs a host string for JSON; sets "<field>_hex" when it was not UTF-8.
void SetPathField(nlohmann::json& record, const char* field, const std::string& value);

}  // namespace trawl::collector
