// SPDX-License-Identifier: Apache-2.0
// Sends finished archive parts and the sidecar to the team's storage while the
// collection goes on (docs/upload.md). The archives are age ciphertext, so a
// write-only drop sees nothing it could read. libcurl does HTTP(S) and SFTP
// (through libssh2); this file decides what goes where, retries, confirms and
// reports, and never writes a credential into a log, the sidecar or the
// result line (URLs are shown without their query string).
//
// Targets (one per --upload):
//   https://host/path?sig...         one object: the next file closed goes there
//   https://host/dir/{name}?sig...   a template: every file, {name} replaced
//   sftp://user@host[:port]/dir/     every file into dir (a trailing slash), with
//                                    --upload-key and a pinned --upload-host-key
// http:// works the same way as https:// (the bytes are ciphertext, but the
// store's answer is then unauthenticated; docs say so).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/upload_target.h"

namespace trawl::collector {

using core::ParseUploadTargets;
using core::UploadOptions;
using core::UploadScheme;
using core::UploadTarget;

struct UploadAttempt {
  int attempt = 0;
  double seconds = 0;
  long status = 0;      // HTTP status; 0 for SFTP or no answer
  std::string outcome;  // "ok" or why not
  nlohmann::json ToJson() const;
};

struct UploadResult {
  std::string file;    // local path
  std::string name;    // file name
  std::string target;  // the target's shown form, with {name} filled in
  bool ok = false;     // confirmed
  bool sidecar = false;
  std::uint64_t bytes = 0;
  std::string etag;                          // when the server sent one
  std::optional<std::uint64_t> remote_size;  // SFTP: the size the server reports
  bool deleted_local = false;
  std::string error;  // last failure when !ok
  std::vector<UploadAttempt> attempts;
  nlohmann::json ToJson() const;
};

class Uploader {
 public:
  // `log` receives one event per attempt (level, event, fields); it may be
  // swapped or cleared with SetLog while uploads run.
  using LogFn = std::function<void(std::string_view level, std::string_view event, nlohmann::json fields)>;
  Uploader(UploadOptions options, std::vector<UploadTarget> targets, const std::atomic<int>* signal_flag);
  ~Uploader();
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  void SetLog(LogFn log);
  // Queues a finished file for every target that takes it; returns at once.
  void Enqueue(const std::filesystem::path& file, bool sidecar = false);
  // Waits until the queue is empty (or the upload time limit / a signal cuts
  // it short: what is left is reported as not uploaded).
  void Drain();
  // Everything queued so far, in order; call after Drain.
  std::vector<UploadResult> Results() const;
  bool AllOk() const;

 private:
  struct Job {
    std::filesystem::path file;
    bool sidecar = false;
    std::size_t target = 0;
    std::size_t result = 0;
  };
  void Run();
  void Upload(const Job& job);
  void Log(std::string_view level, std::string_view event, nlohmann::json fields);
  bool Cancelled() const;

  UploadOptions options_;
  std::vector<UploadTarget> targets_;
  const std::atomic<int>* signal_flag_;
  std::size_t next_fixed_ = 0;  // next one-object target
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<UploadResult> results_;
  bool busy_ = false;
  bool stop_ = false;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::mutex log_mu_;
  LogFn log_;
  std::string ca_file_;  // resolved once
  std::string ca_error_;
  std::thread worker_;
};

// The CA bundle to verify HTTPS against when none is given: the first of the
// usual Linux locations that exists; "" on Windows (the system store is used).
std::string FindSystemCaBundle();

}  // namespace trawl::collector
