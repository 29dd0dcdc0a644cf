// SPDX-License-Identifier: Apache-2.0
// Real upload servers on loopback for a test suite (POSIX):
// tests/upload/loopback_servers.sh started in a scratch folder and stopped
// again, its servers.env (HTTPS_BASE, FLAKY_BASE, SFTP_BASE, WWW, SFTP_DIR,
// CA, OTHER_CA, CLIENT_KEY, HOST_KEY, WRONG_HOST_KEY) read into a map.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "tests/support/test_env.h"

namespace trawl::test {

class LoopbackServers {
 public:
  // Starts nginx (twice) and sshd; `error()` says why when they did not start.
  LoopbackServers();
  ~LoopbackServers();
  LoopbackServers(const LoopbackServers&) = delete;
  LoopbackServers& operator=(const LoopbackServers&) = delete;

  bool ok() const { return !env_.empty(); }
  const std::string& error() const { return error_; }
  // A servers.env value ("" when missing).
  std::string operator[](const std::string& key) const;

 private:
  TempDir dir_;
  std::map<std::string, std::string> env_;
  std::string error_;
};

}  // namespace trawl::test
