// SPDX-License-Identifier: Apache-2.0
// A child process for end-to-end tests: started with posix_spawn, killed and
// reaped when the object goes away (so a failing test leaves no orphans).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace trawl::test {

class ChildProcess {
 public:
  // argv[0] is a path or a name looked up on PATH; env entries are added.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
               const std::string& stdout_file = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const;
  void Signal(int sig) const;
  // Waits for exit; returns the exit code, or 128 + signal. -1 on timeout.
  int Wait(int timeout_ms = 60000);
  // Polls /proc/PID/maps until it mentions `needle` (a mapped path).
  bool WaitForMapping(const std::string& needle, int timeout_ms = 10000) const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

}  // namespace trawl::test
