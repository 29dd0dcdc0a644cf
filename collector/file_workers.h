// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/run_state.h"

namespace trawl::collector {

// Processes file requests on both cores while the walk that produces them
// goes on: a bounded queue keeps memory flat however large the tree.
class FileWorkers {
 public:
  // copy_max_total: after this many bytes copied (0: no cap), the rest of
  // the artifact's files are hashed and analysed but not copied.
  FileWorkers(RunState& s, const profile::ResolvedArtifact& art, std::uint64_t copy_max_total = 0)
      : s_(s), art_(art), copy_max_total_(copy_max_total) {
    const unsigned n = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~FileWorkers() { Finish(); }

  // Blocks while the queue is full; false once the artifact or the run must stop.
  bool Submit(FileRequest req) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return queue_.size() < kCapacity || halt_; });
    if (halt_ || s_.stop.ShouldStop()) return false;
    queue_.push_back(std::move(req));
    ++submitted_;
    // Wake a sleeping worker for a batch, not for every file: a walk slower
    // than the hashing otherwise costs a futex wake and wait per file.
    // Finish() wakes them for the rest.
    if (queue_.size() >= kWakeBatch) ready_.notify_one();
    return true;
  }

  void Finish() {
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      done_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  void Summarise(nlohmann::json& summary) {
    Finish();
    if (copy_limit_) {
      summary["copy_limit"] = "copy_max_total";
      s_.pipeline->Log(
          "info", "copy_max_total_reached",
          {{"artifact", art_.name}, {"copied_bytes", copied_bytes_.load()}, {"copy_max_total", copy_max_total_}});
    }
    if (artifact_limit_) {
      summary["limit"] = "max_total_bytes";
      s_.pipeline->Log(
          "warning", "artifact_limit",
          {{"artifact", art_.name}, {"limit", "max_total_bytes"}, {"files_not_read", submitted_ - count_}});
    }
    summary["files"] = count_.load();
    summary["bytes_read"] = bytes_.load();
    summary["copied"] = copied_.load();
  }

 private:
  static constexpr std::size_t kCapacity = 256;
  static constexpr std::size_t kWakeBatch = 32;
  static constexpr std::size_t kTakeBatch = 8;

  // Takes a few requests a lock and adds their records a batch at a time:
  // per-file locking of the queue and the archive cost more futex calls
  // than the files' syscalls.
  void Work() {
    std::vector<FileRequest> batch;
    std::vector<Record> records;
    auto flush = [&] {
      if (records.empty()) return;
      if (auto r = s_.pipeline->AddRecords(records); !r) {
        s_.stop.RequestStop("archive write failed: " + r.error().message);
      }
      records.clear();
    };
    while (true) {
      flush();
      batch.clear();
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !queue_.empty() || done_ || halt_; });
        if (halt_ || queue_.empty()) return;
        const std::size_t take = std::min(queue_.size(), kTakeBatch);
        for (std::size_t i = 0; i < take; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        space_.notify_one();
      }
      for (FileRequest& req : batch) {
        if (s_.stop.ShouldStop()) {
          flush();
          Halt();
          return;
        }
        if (copy_max_total_ > 0 && copied_bytes_ >= copy_max_total_ &&
            (req.copy.copy || req.copy.copy_executables || req.copy.small_files_max > 0)) {
          req.copy = CopyPolicy{};
          copy_limit_ = true;
        }
        FileOutcome o = s_.pipeline->Process(req);
        bytes_ += o.bytes_read;
        if (o.copied) copied_bytes_ += o.bytes_read;
        ++count_;
        ++s_.files;
        s_.bytes_read += o.bytes_read;
        if (o.error) ++s_.errors;
        if (o.copied) {
          ++copied_;
          ++s_.copied;
        }
        if (o.output_limit) {
          NoteLimit(s_, "max_output");
          s_.stop.RequestStop("max_output");
        }
        records.push_back(std::move(o.record));
        if (art_.limits.max_total_bytes > 0 && bytes_ > art_.limits.max_total_bytes) {
          flush();
          artifact_limit_ = true;
          Halt();
          return;
        }
      }
    }
  }

  void Halt() {
    std::lock_guard lock(mu_);
    halt_ = true;
    queue_.clear();
    space_.notify_all();
    ready_.notify_all();
  }

  RunState& s_;
  const profile::ResolvedArtifact& art_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<FileRequest> queue_;
  std::vector<std::thread> threads_;
  bool done_ = false;
  bool halt_ = false;
  std::atomic<bool> artifact_limit_{false};
  const std::uint64_t copy_max_total_;
  std::atomic<bool> copy_limit_{false};
  std::atomic<std::uint64_t> copied_bytes_{0};
  std::atomic<std::uint64_t> submitted_{0}, count_{0}, bytes_{0}, copied_{0};
};

}  // namespace trawl::collector
