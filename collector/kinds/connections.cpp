// SPDX-License-Identifier: Apache-2.0
// The host's TCP and UDP sockets: which process listens where, and which
// talks to whom at collection time (a trojanized updater's beacon, a
// backdoor's listener). Each socket's owner is named from a process list
// taken right after the socket tables.
#include <map>
#include <utility>

#include "collector/kinds/kinds.h"

namespace trawl::collector {

using nlohmann::json;

void RunConnections(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  if (!s.live) {
    summary["skipped"] = "offline collection (--root): no live sockets";
    return;
  }
  auto list = s.platform.ListConnections();
  if (!list) {
    ++s.errors;
    summary["error"] = list.error().message;
    s.pipeline->Log("error", "connection_list_failed", {{"error", list.error().message}});
    return;
  }
  for (const std::string& problem : list->problems) {
    ++s.errors;
    s.pipeline->Log("warning", "connection_list_incomplete", {{"artifact", art.name}, {"problem", problem}});
  }
  std::map<std::int64_t, std::pair<std::string, std::string>> owners;  // pid -> (name, exe)
  if (auto procs = s.platform.ListProcesses()) {
    for (const ProcessInfo& p : *procs) owners[p.pid] = {p.name, p.exe};
  } else {
    s.pipeline->Log("warning", "connection_owners_unnamed", {{"error", procs.error().message}});
  }
  std::uint64_t n = 0;
  for (const ConnectionInfo& c : list->sockets) {
    if (s.stop.ShouldStop()) break;
    Record r("connections");
    r.SetText("protocol", c.protocol);
    r.SetText("local_address", c.local_address);
    r.SetInt("local_port", c.local_port);
    r.SetText("remote_address", c.remote_address);
    r.SetInt("remote_port", c.remote_port);
    r.SetText("state", c.state);
    r.SetInt("pid", c.pid);
    const auto owner = owners.find(c.pid);
    r.SetText("process", owner != owners.end() ? owner->second.first : "");
    r.SetText("exe", owner != owners.end() ? owner->second.second : "");
    r.SetUInt("inode", c.inode);
    r.SetText("artifact", art.name);
    s.Emit(r);
    ++n;
  }
  summary["connections"] = n;
}

}  // namespace trawl::collector
