// SPDX-License-Identifier: Apache-2.0
#include "collector/kinds/kinds.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/archive/archive_paths.h"
#include "core/archive/layout.h"
#include "core/hash/multi_hasher.h"
#include "core/util/text.h"

namespace trawl::collector {

using nlohmann::json;

ProcessesParams ProcessesParams::From(const profile::ResolvedArtifact& art) {
  ProcessesParams p;
  p.include_modules = art.parameters.GetBool("include_modules");
  p.hash_modules = art.parameters.GetBool("hash_modules");
  p.region_max_read = art.parameters.GetSize("region_max_read");
  p.regions_max_total = art.parameters.GetSize("regions_max_total");
  p.region_dump_max = art.parameters.GetSize("region_dump_max");
  p.region_dumps_max_total = art.parameters.GetSize("region_dumps_max_total");
  return p;
}

namespace {

// "elf" or "pe" when `head` starts with that header (PE: MZ, then "PE\0\0"
// at e_lfanew inside what was read), else "".
std::string HeaderOf(std::span<const std::byte> head) {
  auto at = [&](std::size_t i) { return std::to_integer<unsigned>(head[i]); };
  if (head.size() >= 4 && at(0) == 0x7F && at(1) == 'E' && at(2) == 'L' && at(3) == 'F') return "elf";
  if (head.size() >= 0x40 && at(0) == 'M' && at(1) == 'Z') {
    const std::uint32_t lfanew = at(0x3C) | (at(0x3D) << 8) | (at(0x3E) << 16) | (at(0x3F) << 24);
    if (lfanew >= 0x40 && lfanew <= head.size() - 4 && at(lfanew) == 'P' && at(lfanew + 1) == 'E' &&
        at(lfanew + 2) == 0 && at(lfanew + 3) == 0) {
      return "pe";
    }
  }
  return "";
}

// An executable region no file backs: the SHA-256, entropy and header of its
// first `region_max_read` bytes, read from the process's memory in 1 MiB
// steps while the artifact's budget lasts. Nothing is written to the process.
// Budgets spent so far by one artifact run.
struct RegionBudget {
  std::uint64_t read = 0;
  std::uint64_t dumped = 0;
};

// Stores the first bytes of a region that starts with an image header as
// memory/<pid>_0x<base>.bin (a capped dump for offline analysis, e.g.
// `trawl-triage inspect pe`), under the archive lock.
void DumpRegion(RunState& s, const ModuleInfo& m, std::span<const std::byte> bytes, const std::string& artifact,
                Record& mr) {
  const std::string apath = fmt::format("memory/{}_0x{:x}.bin", m.pid, m.base);
  std::lock_guard lock(s.pipeline->archive_mutex());
  core::archive::EntryMeta em;
  if (auto b = s.archive->BeginFile(apath, em); !b) {
    mr.SetText("error", "region dump: " + b.error().message);
    return;
  }
  core::archive::ItemRecord item;
  item.source_path = fmt::format("pid {} memory at 0x{:x}", m.pid, m.base);
  item.type = "memory";
  item.artifact = artifact;
  if (auto w = s.archive->WriteFile(bytes); !w) {
    item.status = "truncated";
    item.error = "dump stopped: " + w.error().message;
    mr.SetText("error", item.error);
  }
  if (auto e = s.archive->EndFile(std::move(item)); !e) {
    mr.SetText("error", "region dump: " + e.error().message);
    return;
  }
  mr.SetText("region_dump", apath);
}

void ReadRegion(RunState& s, const ModuleInfo& m, const ProcessesParams& params, RegionBudget& budget,
                const std::string& artifact, Record& mr) {
  std::uint64_t& used = budget.read;
  const std::uint64_t want = std::min(m.size, params.region_max_read);
  if (want == 0) return;
  if (used >= params.regions_max_total) {
    mr.SetText("error", fmt::format("not read: regions_max_total ({} bytes) spent", params.regions_max_total));
    return;
  }
  const std::uint64_t take = std::min(want, params.regions_max_total - used);
  core::Sha256 sha;
  core::EntropyCounter entropy;
  std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>(take, 1u << 20)));
  std::uint64_t done = 0;
  std::string header, error;
  // A dump keeps the region's first bytes from this same read, only when it
  // starts with an image header (JIT code is not worth the space).
  std::vector<std::byte> dump;
  std::uint64_t dump_cap = 0;
  while (done < take && !s.stop.ShouldStop()) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), take - done));
    auto got = s.platform.ReadMemory(m.pid, m.base + done, std::span(buf.data(), n));
    if (!got) {
      error = got.error().message;
      break;
    }
    const std::span<const std::byte> chunk(buf.data(), *got);
    if (done == 0) {
      header = HeaderOf(chunk);
      if (!header.empty() && params.region_dump_max > 0) {
        dump_cap = std::min(params.region_dump_max,
                            params.region_dumps_max_total - std::min(params.region_dumps_max_total, budget.dumped));
        if (dump_cap == 0)
          mr.SetText("error",
                     fmt::format("not dumped: region_dumps_max_total ({} bytes) spent", params.region_dumps_max_total));
      }
    }
    if (dump.size() < dump_cap) {
      const auto keep = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), dump_cap - dump.size()));
      dump.insert(dump.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(keep));
    }
    sha.Update(chunk);
    entropy.Update(chunk);
    done += *got;
    if (*got < n) {
      error = fmt::format("memory at 0x{:x} did not read (read {} of {} bytes)", m.base + done, done, take);
      break;
    }
  }
  used += done;
  mr.SetUInt("region_read", done);
  if (done > 0) {
    mr.SetText("region_sha256", sha.Hex());
    mr.SetReal("region_entropy", entropy.Entropy());
    mr.SetText("region_header", header);
  }
  if (!error.empty()) mr.SetText("error", error);
  if (!dump.empty()) {
    budget.dumped += dump.size();
    DumpRegion(s, m, dump, artifact, mr);
  }
}

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
  RegionBudget regions;
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
      if (!m.perms.empty()) mr.SetText("perms", m.perms);
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
      if (m.kind == "anon_exec" || m.kind == "unlisted_image") ReadRegion(s, m, params, regions, art.name, mr);
      s.Emit(mr);
      ++s.modules;
    }
  }
  summary["processes"] = s.processes.load();
  summary["modules"] = s.modules.load();
  if (regions.read > 0) summary["region_bytes_read"] = regions.read;
  if (regions.dumped > 0) summary["region_bytes_dumped"] = regions.dumped;
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
