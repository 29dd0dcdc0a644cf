// SPDX-License-Identifier: Apache-2.0
#include "tests/support/loopback_servers.h"

#include <fstream>

namespace trawl::test {

namespace {
std::string Script() { return (SourceDir() / "tests/upload/loopback_servers.sh").string(); }
}  // namespace

LoopbackServers::LoopbackServers() {
  auto r = RunCommand({"bash", Script(), "start", dir_.path().string()});
  if (r.exit_code != 0) {
    error_ = "loopback servers did not start:\n" + r.out + r.err;
    return;
  }
  std::ifstream in(dir_ / "servers.env");
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (env_.empty()) error_ = "no servers.env";
}

LoopbackServers::~LoopbackServers() { RunCommand({"bash", Script(), "stop", dir_.path().string()}); }

std::string LoopbackServers::operator[](const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? "" : it->second;
}

}  // namespace trawl::test
