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

namespace {

// The one-read facts of a file record (hashes, PE and version facts,
// Authenticode) onto a process (prefix "exe_") or module record (no prefix,
// the files table's column names), so that a process or module row answers
// what a files row does: Sigma's Hashes, Signed, OriginalFileName...
void CopyFileFacts(const Record& file, Record& to, std::string_view prefix) {
  const std::string p(prefix);
  for (const char* c : {"md5", "sha1"}) {
    if (file.Has(c)) to.SetText(p + c, file.Text(c));
  }
  const bool module = prefix.empty();
  if (module) {
    if (auto b = file.Bool("is_pe")) to.SetBool("is_pe", *b);
    if (file.Has("pe_machine")) to.SetText("pe_machine", file.Text("pe_machine"));
    if (auto t = file.Int("pe_timestamp")) to.SetInt("pe_timestamp", *t);
  }
  const std::pair<const char*, const char*> text[] = {
      {"pe_imphash", "imphash"},          {"pe_signer", "signer"},   {"pe_original_filename", "original_filename"},
      {"pe_product", "product"},          {"pe_company", "company"}, {"pe_description", "description"},
      {"pe_file_version", "file_version"}};
  for (const auto& [column, short_name] : text) {
    if (file.Has(column)) to.SetText(module ? std::string(column) : p + short_name, file.Text(column));
  }
  for (const auto& [column, short_name] :
       {std::pair{"pe_signed", "signed"}, std::pair{"pe_digest_matches", "digest_matches"}}) {
    if (auto b = file.Bool(column)) to.SetBool(module ? std::string(column) : p + short_name, *b);
  }
}

}  // namespace

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
    Record r("processes");
    r.SetInt("pid", p.pid);
    r.SetInt("ppid", p.ppid);
    r.SetText("name", p.name);
    r.SetText("exe", p.exe);
    r.SetBool("exe_deleted", p.exe_deleted);
    r.SetText("exe_sha256", "");
    r.SetText("cmdline", p.cmdline);
    r.SetInt("uid", p.uid);
    r.SetText("user", p.user.empty() ? p.sid : p.user);
    r.SetText("sid", p.sid);
    r.SetInt("session", p.session);
    r.SetText("integrity", p.integrity);
    r.SetText("start_time", p.start_time);
    r.SetText("cwd", p.cwd);
    r.SetText("artifact", art.name);
    if (!p.error.empty()) r.SetText("error", p.error);
    if (!p.exe_open_path.empty() && p.pid != self) {
      FileRequest req = ImageRequest(s, art, p.exe, p.exe_open_path);
      // A deleted image survives only in memory's backing file: copy it.
      if (p.exe_deleted) {
        req.copy.copy = true;
        req.copy.copy_max_size = art.limits.copy_max_size;
        req.archive_path =
            core::archive::DeletedExecutableName(p.pid, std::filesystem::path(p.exe).filename().string());
      }
      FileOutcome o = s.pipeline->Process(req);
      if (o.record.Has("sha256")) r.SetText("exe_sha256", o.record.Text("sha256"));
      CopyFileFacts(o.record, r, "exe_");
      if (o.record.Has("copied_as")) r.SetText("exe_copied_as", o.record.Text("copied_as"));
      if (o.record.Text("status") != "ok") r.SetText("exe_error", o.record.Text("error"));
      if (o.copied) ++s.copied;
    }
    s.Emit(r);
    ++s.processes;
    if (!with_modules || p.pid == self) continue;
    auto mods = s.platform.ListModules(p.pid);
    if (!mods) {
      Record e("process_errors");
      e.SetInt("pid", p.pid);
      e.SetText("error", mods.error().message);
      e.SetText("artifact", art.name);
      s.Emit(e);
      continue;
    }
    for (const ModuleInfo& m : *mods) {
      if (s.stop.ShouldStop()) break;
      Record mr("modules");
      mr.SetInt("pid", m.pid);
      mr.SetText("path", m.path);
      mr.SetUInt("base", m.base);
      mr.SetUInt("size", m.size);
      mr.SetUInt("device", m.device);
      mr.SetUInt("inode", m.inode);
      mr.SetBool("deleted", m.deleted);
      mr.SetText("kind", m.kind);
      mr.SetText("sha256", "");
      mr.SetText("artifact", art.name);
      if (hash_modules && !m.open_path.empty()) {
        FileRequest req = ImageRequest(s, art, m.path, m.open_path);
        FileOutcome o = s.pipeline->Process(req);
        if (o.record.Text("status") == "error" && !m.deleted && m.kind == "file") {
          // map_files needs privileges; the path itself is the fallback.
          req.host_path = m.path;
          o = s.pipeline->Process(req);
        }
        if (o.record.Has("sha256")) mr.SetText("sha256", o.record.Text("sha256"));
        CopyFileFacts(o.record, mr, "");
        if (o.record.Text("status") != "ok") mr.SetText("error", o.record.Text("error"));
      }
      s.Emit(mr);
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
      Record kr("known_dlls");
      kr.SetText("name", k.name);
      kr.SetText("value", k.value);
      kr.SetText("artifact", art.name);
      s.Emit(kr);
    }
    if (!known->empty()) summary["known_dlls"] = known->size();
  }
}

}  // namespace trawl::collector
