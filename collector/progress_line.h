// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "collector/run_state.h"
#include "core/util/text.h"

namespace trawl::collector {

// On an interactive terminal: one status line redrawn in place four times a
// second from its own thread (elapsed time, artifact, counters), with the
// per-artifact lines printed above it. Plain '\r' and space padding, no
// escape sequences, so old Windows consoles show it too. Off (plain lines
// only) when stderr is not a terminal, as under an EDR console.
class ProgressLine {
 public:
  ProgressLine(const RunState& s, std::ostream& err, bool quiet, bool live_line)
      : s_(s), err_(err), quiet_(quiet), t0_(std::chrono::steady_clock::now()) {
    if (live_line && !quiet) thread_ = std::thread([this] { Run(); });
  }
  ~ProgressLine() { Stop(); }

  void Artifact(std::size_t index, std::size_t total, const std::string& name) {
    std::lock_guard lock(mu_);
    artifact_ = fmt::format("{}/{} {}", index, total, name);
    if (quiet_) return;
    ClearLocked();
    err_ << "trawl-collect: " << name << " ...\n" << std::flush;
    if (thread_.joinable()) DrawLocked();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
      ClearLocked();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop_; })) DrawLocked();
  }
  void DrawLocked() {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    std::string line =
        fmt::format("[{:6.1f} s] {}: {} files, {:.1f} MiB read, {} processes, {} modules, {} errors", secs, artifact_,
                    s_.files.load(), static_cast<double>(s_.bytes_read.load()) / 1048576.0, s_.processes.load(),
                    s_.modules.load(), s_.errors.load());
    if (line.size() > 118) line = line.substr(0, 115) + "...";
    const std::size_t width = line.size();
    if (width < drawn_) line.append(drawn_ - width, ' ');
    err_ << '\r' << core::EscapeForTerminal(line) << std::flush;
    drawn_ = width;
  }
  void ClearLocked() {
    if (drawn_ == 0) return;
    err_ << '\r' << std::string(drawn_, ' ') << '\r' << std::flush;
    drawn_ = 0;
  }

  const RunState& s_;
  std::ostream& err_;
  const bool quiet_;
  const std::chrono::steady_clock::time_point t0_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string artifact_;
  std::size_t drawn_ = 0;
  std::thread thread_;
};

}  // namespace trawl::collector
