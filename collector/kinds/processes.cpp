// SPDX-License-Identifier: Apache-2.0
#include "collector/kinds/kinds.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/archive/archive_paths.h"
#include "core/archive/layout.h"
#include "core/util/text.h"

namespace trawl::collector {

using nlohmann::json;

ProcessesParams ProcessesParams::From(const profile::ResolvedArtifact& art) {
  ProcessesParams p;
  p.include_modules = art.parameters.GetBool("include_modules");
  p.hash_modules = art.parameters.GetBool("hash_modules");
  return p;
}

void RunProcesses(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  if (!s.live) {
    summary["skipped"] = "offline collection (--root): no live processes";
    return;
  }
  auto procs = s.platform.ListProcesses();
  if (!procs) {
    ++s.errors;
    summary["error"] = procs.error().message;
    s.pipeline->Log("error", "process_list_failed", {{"error", procs.error().message}});
    return;
  }
  const ProcessesParams params = ProcessesParams::From(art);
  const bool with_modules = params.include_modules;
  const bool hash_modules = params.hash_modules;
  const std::int64_t self = s.platform.SelfPid();
  for (const ProcessInfo& p : *procs) {
    if (s.stop.ShouldStop()) break;
    json r;
    r["pid"] = p.pid;
    r["ppid"] = p.ppid;
    SetPathField(r, "name", p.name);
    SetPathField(r, "exe", p.exe);
    r["exe_deleted"] = p.exe_deleted;
    r["exe_sha256"] = "";
    SetPathField(r, "cmdline", p.cmdline);
    r["uid"] = p.uid;
    SetPathField(r, "user", p.user.empty() ? p.sid : p.user);
    SetPathField(r, "sid", p.sid);
    r["session"] = p.session;
    r["integrity"] = p.integrity;
    r["start_time"] = p.start_time;
    SetPathField(r, "cwd", p.cwd);
    r["artifact"] = art.name;
    if (!p.error.empty()) r["error"] = p.error;
    if (!p.exe_open_path.empty() && p.pid != self) {
      FileRequest req;
      req.target_path = p.exe;
      req.host_path = p.exe_open_path;
      req.artifact = art.name;
      req.windows_target = s.windows_target;
      req.max_file_size = s.global_max_file_size;
      // A deleted image survives only in memory's backing file: copy it.
      if (p.exe_deleted) {
        req.copy.copy = true;
        req.copy.copy_max_size = art.limits.copy_max_size;
        req.archive_path =
            core::archive::DeletedExecutableName(p.pid, std::filesystem::path(p.exe).filename().string());
      }
      FileOutcome o = s.pipeline->Process(req);
      if (o.record.contains("sha256")) r["exe_sha256"] = o.record["sha256"];
      if (o.record.contains("copied_as")) r["exe_copied_as"] = o.record["copied_as"];
      if (o.record.value("status", "") != "ok") r["exe_error"] = o.record.value("error", "");
      if (o.copied) ++s.copied;
    }
    (void)s.pipeline->AddRecord("processes", r);
    ++s.processes;
    if (!with_modules || p.pid == self) continue;
    auto mods = s.platform.ListModules(p.pid);
    if (!mods) {
      (void)s.pipeline->AddRecord("process_errors",
                                  {{"pid", p.pid}, {"error", mods.error().message}, {"artifact", art.name}});
      continue;
    }
    for (const ModuleInfo& m : *mods) {
      if (s.stop.ShouldStop()) break;
      json mr;
      mr["pid"] = m.pid;
      SetPathField(mr, "path", m.path);
      mr["base"] = m.base;
      mr["size"] = m.size;
      mr["device"] = m.device;
      mr["inode"] = m.inode;
      mr["deleted"] = m.deleted;
      mr["kind"] = m.kind;
      mr["sha256"] = "";
      mr["artifact"] = art.name;
      if (hash_modules && !m.open_path.empty()) {
        FileRequest req;
        req.target_path = m.path;
        req.host_path = m.open_path;
        req.artifact = art.name;
        req.windows_target = s.windows_target;
        req.max_file_size = s.global_max_file_size;
        FileOutcome o = s.pipeline->Process(req);
        if (o.record.value("status", "") == "error" && !m.deleted && m.kind == "file") {
          // map_files needs privileges; the path itself is the fallback.
          req.host_path = m.path;
          o = s.pipeline->Process(req);
        }
        if (o.record.contains("sha256")) mr["sha256"] = o.record["sha256"];
        if (o.record.value("status", "") != "ok") mr["error"] = o.record.value("error", "");
      }
      (void)s.pipeline->AddRecord("modules", mr);
      ++s.modules;
    }
  }
  summary["processes"] = s.processes.load();
  summary["modules"] = s.modules.load();
  // Windows: the DLL names the loader never takes from an application's
  // folder; triage uses them to rule such names out of side-loading.
  if (auto known = s.platform.ListKnownDlls(); !known) {
    s.pipeline->Log("warning", "known_dlls_failed", {{"error", known.error().message}});
  } else {
    for (const KnownDll& k : *known) {
      json kr;
      SetPathField(kr, "name", k.name);
      SetPathField(kr, "value", k.value);
      kr["artifact"] = art.name;
      (void)s.pipeline->AddRecord("known_dlls", kr);
    }
    if (!known->empty()) summary["known_dlls"] = known->size();
  }
}

}  // namespace trawl::collector
