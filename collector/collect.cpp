// SPDX-License-Identifier: Apache-2.0
#include "collector/collect.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collector/file_pipeline.h"
#include "core/archive/archive_paths.h"
#include "core/archive/archive_writer.h"
#include "core/profile/store.h"
#include "core/util/file.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::collector {
namespace {

namespace profile = core::profile;
using core::ErrorCode;
using core::Result;
using nlohmann::json;

// Lists directories until the collection is told to stop, then reports every
// directory as empty so an expansion in progress ends at once.
class StoppableLister final : public profile::DirectoryLister {
 public:
  StoppableLister(StopControl& stop, std::unique_ptr<profile::DirectoryLister> inner)
      : stop_(stop), inner_(std::move(inner)) {}
  Result<std::vector<profile::DirEntry>> List(const std::string& dir) override {
    if (stop_.ShouldStop()) return std::vector<profile::DirEntry>{};
    return inner_->List(dir);
  }

 private:
  StopControl& stop_;
  std::unique_ptr<profile::DirectoryLister> inner_;  // the platform's lister
};

// The host directory holding the live system's tree: "/" on POSIX; on
// Windows the system drive's root ("C:/", never "C:", which would mean the
// current directory on C:), so C:\ProgramData\TPM maps to C:/ProgramData/TPM.
std::string LiveRoot() {
#ifdef _WIN32
  const char* drive = std::getenv("SystemDrive");
  std::string d = drive != nullptr ? drive : "";
  if (d.size() != 2 || d[1] != ':' || !std::isalpha(static_cast<unsigned char>(d[0]))) d = "C:";
  return d + "/";
#else
  return "/";
#endif
}

// Live Windows: the machine-wide folders as this host has them (the
// collector's own environment, set by the OS, not by the suspect host's
// users), so a system on D: or in C:\WINNT is walked where it is.
void ApplyLiveWindowsEnv([[maybe_unused]] profile::ExpansionContext& ctx) {
#ifdef _WIN32
  const std::string drive = LiveRoot().substr(0, 2);
  ctx.env["SystemDrive"] = drive;
  for (const char* name : {"SystemRoot", "ProgramFiles", "ProgramFiles(x86)", "ProgramW6432", "ProgramData"}) {
    const char* v = std::getenv(name);
    // Only absolute paths on the system drive map under the live root.
    if (v != nullptr && std::strlen(v) > 3 && core::EqualsIgnoreCaseAscii(std::string_view(v, 2), drive) &&
        v[2] == '\\') {
      ctx.env[name] = v;
    }
  }
#endif
}

struct RunState {
  RunState(const CollectOptions& o, Platform& p, std::ostream& e) : options(o), platform(p), err(e) {}
  const CollectOptions& options;
  Platform& platform;
  std::ostream& err;
  profile::ExpansionContext ctx;
  StopControl stop;
  StoppableLister lister{stop, platform.MakeDirectoryLister()};
  core::archive::ArchiveWriter* archive = nullptr;
  FilePipeline* pipeline = nullptr;
  bool live = true;
  bool windows_target = false;
  std::uint64_t global_max_file_size = 0;
  // Counters for the manifest and the summary; atomic because file workers
  // add to them and the progress line reads them while the run goes on.
  std::atomic<std::uint64_t> processes{0}, modules{0}, files{0}, errors{0}, copied{0}, dir_entries{0},
      bytes_read{0};
  std::vector<std::string> limits_hit;
  json artifacts_run = json::array();
};

std::string StatusLine(const RunState& s) {
  return fmt::format("{} processes, {} modules, {} files ({} copied), {} errors", s.processes.load(),
                     s.modules.load(), s.files.load(), s.copied.load(), s.errors.load());
}

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
    std::string line = fmt::format("[{:6.1f} s] {}: {} files, {:.1f} MiB read, {} processes, {} modules, {} errors",
                                   secs, artifact_, s_.files.load(), static_cast<double>(s_.bytes_read.load()) / 1048576.0,
                                   s_.processes.load(), s_.modules.load(), s_.errors.load());
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

void NoteLimit(RunState& s, const std::string& what) {
  if (std::find(s.limits_hit.begin(), s.limits_hit.end(), what) == s.limits_hit.end()) {
    s.limits_hit.push_back(what);
  }
}

// Processes file requests on both cores while the walk that produces them
// goes on: a bounded queue keeps memory flat however large the tree.
class FileWorkers {
 public:
  FileWorkers(RunState& s, const profile::ResolvedArtifact& art) : s_(s), art_(art) {
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
    ready_.notify_one();
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

  void Summarise(json& summary) {
    Finish();
    if (artifact_limit_) {
      summary["limit"] = "max_total_bytes";
      s_.pipeline->Log("warning", "artifact_limit", {{"artifact", art_.name}, {"limit", "max_total_bytes"},
                                                     {"files_not_read", submitted_ - count_}});
    }
    summary["files"] = count_.load();
    summary["bytes_read"] = bytes_.load();
    summary["copied"] = copied_.load();
  }

 private:
  static constexpr std::size_t kCapacity = 256;

  void Work() {
    while (true) {
      FileRequest req;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !queue_.empty() || done_ || halt_; });
        if (halt_ || queue_.empty()) return;
        req = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      if (s_.stop.ShouldStop()) {
        Halt();
        return;
      }
      FileOutcome o = s_.pipeline->Process(req);
      bytes_ += o.bytes_read;
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
      if (auto r = s_.pipeline->AddRecord("files", o.record); !r) {
        s_.stop.RequestStop("archive write failed: " + r.error().message);
      }
      if (art_.limits.max_total_bytes > 0 && bytes_ > art_.limits.max_total_bytes) {
        artifact_limit_ = true;
        Halt();
        return;
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
  std::atomic<std::uint64_t> submitted_{0}, count_{0}, bytes_{0}, copied_{0};
};

// ---- kind: processes -------------------------------------------------------

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
  const bool with_modules = art.parameters.GetBool("include_modules");
  const bool hash_modules = art.parameters.GetBool("hash_modules");
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
        req.archive_path = fmt::format("deleted/{}/{}", p.pid,
                                       core::archive::EncodeComponent(
                                           std::filesystem::path(p.exe).filename().string()));
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
      (void)s.pipeline->AddRecord("process_errors", {{"pid", p.pid}, {"error", mods.error().message},
                                                     {"artifact", art.name}});
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

// ---- kinds: files, install_dirs, dir_listing -------------------------------

FileRequest BaseRequest(RunState& s, const profile::ResolvedArtifact& art, const profile::PathMatch& m) {
  FileRequest req;
  req.target_path = m.target_path;
  req.host_path = m.host_path;
  req.artifact = art.name;
  req.windows_target = s.windows_target;
  req.max_file_size = std::min(art.limits.max_file_size, s.global_max_file_size);
  req.copy.copy_max_size = art.limits.copy_max_size;
  return req;
}

void RecordNonFile(RunState& s, const profile::ResolvedArtifact& art, const profile::PathMatch& m,
                   const json& extra) {
  json r;
  SetPathField(r, "path", m.target_path);
  SetPathField(r, "source_path", m.host_path);
  r["artifact"] = art.name;
  r["status"] = "ok";
  if (auto st = s.platform.Stat(m.host_path); st) {
    AddMetaFields(*st, r);
    // FIFOs, sockets and devices are listed but never opened (a read could
    // block or have side effects): say so rather than claim "ok".
    if (st->type == "fifo" || st->type == "socket" || st->type == "char" || st->type == "block") {
      r["status"] = "skipped";
      r["error"] = "not a regular file (" + st->type + "): content not read";
    }
  } else {
    // Gone since the listing, or not stat-able (e.g. a path longer than
    // PATH_MAX): a record without metadata must not say "ok".
    r["status"] = st.error().code == core::ErrorCode::kNotFound ? "vanished" : "error";
    r["error"] = st.error().message;
    ++s.errors;  // as FilePipeline::Process counts a failed open
  }
  for (auto& [k, v] : extra.items()) r[k] = v;
  (void)s.pipeline->AddRecord("files", r);
}

void RecordIssues(RunState& s, const profile::ResolvedArtifact& art, const profile::Expansion& e) {
  for (const auto& issue : e.issues) {
    s.pipeline->Log("warning", "path_issue", {{"artifact", art.name}, {"path", core::RepairUtf8(issue.path)},
                                              {"message", core::RepairUtf8(issue.message)}});
  }
  if (e.truncated) s.pipeline->Log("warning", "max_files_reached", {{"artifact", art.name}});
}

void RunFiles(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  FileWorkers workers(s, art);
  auto on_match = [&](const profile::PathMatch& m) {
    if (!m.is_regular) {
      if (!m.is_dir) RecordNonFile(s, art, m, {});
      return !s.stop.ShouldStop();
    }
    FileRequest req = BaseRequest(s, art, m);
    req.hash = art.parameters.GetBool("hash");
    req.pe_analysis = art.parameters.GetBool("pe_analysis");
    req.copy.copy = art.parameters.GetBool("copy");
    req.copy.copy_max_size = std::min(art.limits.copy_max_size, art.parameters.GetSize("copy_max_size"));
    return workers.Submit(std::move(req));
  };
  auto expansions = profile::ExpandArtifactPaths(art, s.ctx, s.lister, on_match);
  workers.Summarise(summary);
  if (!expansions) {
    summary["error"] = expansions.error().message;
    ++s.errors;
    return;
  }
  for (const auto& pe : *expansions) {
    RecordIssues(s, art, pe.expansion);
    // Without this a walk cut short by max_depth looked complete.
    if (pe.expansion.depth_limited) {
      s.pipeline->Log("info", "depth_limited", {{"artifact", art.name}, {"pattern", core::RepairUtf8(pe.pattern)}});
    }
  }
}

void RunInstallDirs(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  auto roots = profile::ExpandArtifactPaths(art, s.ctx, s.lister);
  if (!roots) {
    summary["error"] = roots.error().message;
    ++s.errors;
    return;
  }
  const json product = {{"product", art.parameters.GetString("product")},
                        {"vendor", art.parameters.GetString("vendor")},
                        {"category", art.parameters.GetString("category")}};
  FileWorkers workers(s, art);
  profile::GlobOptions walk;
  walk.max_depth = art.WalkDepth();
  walk.max_matches = art.limits.max_files;
  walk.exclude = art.parameters.GetList("exclude");
  walk.on_match = [&](const profile::PathMatch& m) {
    if (!m.is_regular) {
      RecordNonFile(s, art, m, product);
      return !s.stop.ShouldStop();
    }
    FileRequest req = BaseRequest(s, art, m);
    req.copy.copy_executables = art.parameters.GetBool("copy_executables");
    req.copy.small_files_max = art.parameters.GetSize("copy_small_files_max");
    req.product = product;
    return workers.Submit(std::move(req));
  };
  json found = json::array();
  for (const auto& pe : *roots) {
    RecordIssues(s, art, pe.expansion);
    for (const auto& root : pe.expansion.matches) {
      if (!root.is_dir || s.stop.ShouldStop()) continue;
      found.push_back(core::RepairUtf8(root.target_path));
      RecordNonFile(s, art, root, product);
      auto below = profile::WalkBelow(root, s.ctx, s.lister, walk);
      if (!below) {
        s.pipeline->Log("warning", "walk_failed", {{"artifact", art.name}, {"root", core::RepairUtf8(root.target_path)},
                                                   {"error", below.error().message}});
        continue;
      }
      RecordIssues(s, art, *below);
      if (below->depth_limited) {
        s.pipeline->Log("info", "depth_limited", {{"artifact", art.name}, {"root", core::RepairUtf8(root.target_path)}});
      }
    }
  }
  workers.Summarise(summary);
  summary["install_roots"] = found;
}

void RunDirListing(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  auto dirs = profile::ExpandArtifactPaths(art, s.ctx, s.lister);
  if (!dirs) {
    summary["error"] = dirs.error().message;
    ++s.errors;
    return;
  }
  const std::string pattern = art.parameters.GetString("pattern");
  std::uint64_t n = 0;
  for (const auto& pe : *dirs) {
    for (const auto& d : pe.expansion.matches) {
      if (!d.is_dir) continue;
      auto entries = s.lister.List(d.host_path);
      if (!entries) {
        s.pipeline->Log("warning", "list_failed", {{"dir", core::RepairUtf8(d.target_path)}, {"error", entries.error().message}});
        continue;
      }
      for (const auto& e : *entries) {
        if (!profile::MatchComponent(pattern.empty() ? "*" : pattern, e.name, s.windows_target)) continue;
        json r;
        SetPathField(r, "dir", d.target_path);
        SetPathField(r, "name", e.name);
        r["type"] = e.is_dir ? "dir" : e.is_symlink ? "symlink" : e.is_regular ? "file" : "other";
        r["artifact"] = art.name;
        (void)s.pipeline->AddRecord("dir_entries", r);
        ++n;
      }
    }
  }
  s.dir_entries += n;
  summary["entries"] = n;
}

Result<std::vector<core::age::Recipient>> GatherRecipients(const CollectOptions& o, std::ostream& err) {
  std::vector<core::age::Recipient> out;
  for (const auto& r : o.recipients) {
    auto parsed = core::age::ParseRecipient(r);
    if (!parsed) return std::unexpected(parsed.error().WithContext("--recipient"));
    out.push_back(*parsed);
  }
  for (const auto& f : o.recipients_files) {
    auto text = core::ReadFileText(f, 1 << 20);
    if (!text) return std::unexpected(text.error());
    auto parsed = core::age::ParseRecipientsFile(*text, f.string());
    if (!parsed) return std::unexpected(parsed.error());
    for (auto& r : *parsed) out.push_back(r);
  }
  if (!o.passphrase_file.empty()) {
    auto text = core::ReadFileText(o.passphrase_file, 1 << 16);
    if (!text) return std::unexpected(text.error());
    std::string pass = *text;
    while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r')) pass.pop_back();
    if (pass.empty()) return core::Fail(ErrorCode::kInvalidArgument, o.passphrase_file.string() + ": empty passphrase");
    err << "trawl-collect: warning: " << core::age::ScryptRecipient::kWarning << "\n";
    out.push_back(core::age::ScryptRecipient{pass, 18});
  }
  return out;
}

std::string SafeHostName(std::string name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || out == "." || out == "..") out = "host";
  return out.substr(0, 64);
}

std::filesystem::path DefaultOutputDir(Platform& platform) {
  const std::string self = platform.SelfExe();
  if (self.empty()) return "trawl-output";
  return std::filesystem::path(self).parent_path() / "trawl-output";
}

}  // namespace

int RunCollect(const CollectOptions& options, Platform& platform, std::ostream& out, std::ostream& err) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = core::IsoUtcNow();
  RunState s{options, platform, err};
  s.live = options.root.empty();
  // Profile.
  auto resolved = profile::LoadProfile(options.profile);
  if (!resolved) {
    err << "trawl-collect: profile: " << resolved.error().message << "\n";
    return kExitUsage;
  }
  // Target.
  profile::TargetOs os = profile::TargetOs::kLinux;
#ifdef _WIN32
  os = profile::TargetOs::kWindows;
#endif
  if (!options.target_os.empty()) {
    auto parsed = profile::ParseTargetOs(options.target_os);
    if (!parsed) {
      err << "trawl-collect: --target-os: unknown OS '" << options.target_os << "' (linux, windows, macos)\n";
      return kExitUsage;
    }
    os = *parsed;
  } else if (!s.live) {
    os = profile::DetectTargetOs(options.root, s.lister);
  }
  s.windows_target = os == profile::TargetOs::kWindows;
  auto ctx = profile::MakeExpansionContext(os, s.live ? LiveRoot() : options.root, s.lister);
  if (!ctx) {
    err << "trawl-collect: " << ctx.error().message << "\n";
    return kExitUsage;
  }
  s.ctx = std::move(*ctx);
  if (s.live && s.windows_target) ApplyLiveWindowsEnv(s.ctx);
  // Keys.
  auto recipients = GatherRecipients(options, err);
  if (!recipients) {
    err << "trawl-collect: " << recipients.error().message << "\n";
    return kExitUsage;
  }
  if (recipients->empty() && !options.no_encrypt) {
    err << "trawl-collect: no recipient: give --recipient age1... (or --recipients-file, --passphrase-file); "
           "refusing to write unencrypted output without --no-encrypt\n";
    return kExitUsage;
  }
  if (options.low_priority) platform.SetLowPriority();
  // Limits.
  const std::uint64_t time_limit = options.time_limit ? options.time_limit : resolved->limits.time_limit;
  const std::uint64_t max_output = options.max_output ? options.max_output : resolved->limits.max_output;
  s.global_max_file_size = resolved->limits.max_file_size;
  s.stop.SetDeadline(t0 + std::chrono::seconds(time_limit));
  s.stop.SetSignalFlag(options.signal_flag);
  // Host facts and names.
  SystemFacts facts;
  if (s.live) {
    facts = platform.Facts();
  } else {
    facts.os = std::string(profile::TargetOsName(os));
    facts.hostname = std::filesystem::path(options.root).filename().string();
    if (auto hn = core::ReadFileText(std::filesystem::path(options.root) / "etc/hostname", 4096); hn) {
      std::string h = *hn;
      while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
      if (!h.empty()) facts.hostname = h;
    }
  }
  const std::string base = SafeHostName(facts.hostname) + "_" + core::CompactUtcNow();
  std::filesystem::path output_dir = options.output_dir.empty() ? DefaultOutputDir(platform) : options.output_dir;
  const std::string self_exe = platform.SelfExe();
  std::string self_sha;
  if (!self_exe.empty()) {
    if (auto r = platform.OpenForRead(self_exe); r) {
      core::MultiHasher h;
      std::vector<std::byte> buf(1 << 20);
      while (true) {
        auto n = (*r)->Read(buf);
        if (!n || *n == 0) break;
        h.Update(core::Bytes(buf.data(), *n));
      }
      self_sha = h.Finish().sha256;
    }
  }
  json host = {{"hostname", core::RepairUtf8(facts.hostname)}, {"os", facts.os}, {"os_version", core::RepairUtf8(facts.os_version)},
               {"kernel", core::RepairUtf8(facts.kernel)}, {"arch", facts.arch}, {"boot_time", facts.boot_time},
               {"timezone", core::RepairUtf8(facts.timezone)}, {"live", s.live}};
  if (!s.live) host["root"] = core::RepairUtf8(options.root);
  json recipients_json = json::array();
  for (const auto& r : *recipients) {
    if (auto* x = std::get_if<core::age::X25519Recipient>(&r)) recipients_json.push_back(x->Encode());
    else recipients_json.push_back("scrypt passphrase");
  }
  core::archive::WriterOptions wo;
  wo.output_dir = output_dir;
  wo.base_name = base;
  wo.recipients = *recipients;
  wo.encrypt = !options.no_encrypt;
  wo.split_size = options.split_size;
  wo.max_output = max_output;
  wo.header = {{"tool", "trawl-collect"},
               {"tool_version", TRAWL_VERSION},
               {"profile", {{"name", resolved->name}, {"sha256", resolved->sha256}}},
               {"host", host},
               {"target_os", profile::TargetOsName(os)},
               {"started", started},
               {"limits", {{"time_limit", time_limit}, {"max_output", max_output},
                           {"max_file_size", s.global_max_file_size}, {"split_size", options.split_size}}}};
  auto writer = core::archive::ArchiveWriter::Create(wo);
  if (!writer) {
    err << "trawl-collect: output: " << writer.error().message << "\n";
    return kExitFatal;
  }
  s.archive = writer->get();
  FilePipeline pipeline(platform, **writer, s.stop);
  s.pipeline = &pipeline;
  pipeline.Log("info", "collection_started", {{"profile", resolved->name}, {"pid", platform.SelfPid()}});
  ProgressLine progress(s, err, options.quiet, options.progress);
  // Artifacts, volatile data first (the resolved profile is sorted by priority).
  json skipped = json::array();
  const auto artifacts = resolved->ForTarget(os);
  std::size_t artifact_index = 0;
  for (const profile::ResolvedArtifact* art : artifacts) {
    ++artifact_index;
    if (s.stop.ShouldStop()) {
      skipped.push_back({{"artifact", art->name}, {"reason", s.stop.reason()}});
      core::archive::ItemRecord item;
      item.type = "artifact";
      item.artifact = art->name;
      item.status = "skipped";
      item.error = "collection stopped: " + s.stop.reason();
      pipeline.AddItem(std::move(item));
      continue;
    }
    const auto a0 = std::chrono::steady_clock::now();
    json summary = {{"artifact", art->name}, {"kind", art->kind->name}};
    progress.Artifact(artifact_index, artifacts.size(), art->name);
    const std::string_view kind = art->kind->name;
    if (kind == "processes") RunProcesses(s, *art, summary);
    else if (kind == "files") RunFiles(s, *art, summary);
    else if (kind == "install_dirs") RunInstallDirs(s, *art, summary);
    else if (kind == "dir_listing") RunDirListing(s, *art, summary);
    summary["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
    if (s.stop.ShouldStop()) summary["stopped"] = s.stop.reason();
    pipeline.Log("info", "artifact_done", summary);
    s.artifacts_run.push_back(summary);
  }
  progress.Stop();
  // Close.
  std::string result = "complete";
  const std::string reason = s.stop.ShouldStop() ? s.stop.reason() : "";
  if (!reason.empty()) {
    if (reason == "time_limit" || reason == "max_output") {
      NoteLimit(s, reason);
      result = "partial";
    } else {
      result = "aborted";
    }
  } else if (!s.limits_hit.empty()) {
    result = "partial";
  }
  const std::string ended = core::IsoUtcNow();
  json counts = {{"processes", s.processes.load()}, {"modules", s.modules.load()}, {"files", s.files.load()},
                 {"copied", s.copied.load()},     {"errors", s.errors.load()},   {"dir_entries", s.dir_entries.load()},
                 {"cache_hits", pipeline.cache_hits()}};
  json trailer = {{"result", result},
                  {"stop_reason", reason},
                  {"ended", ended},
                  {"limits_hit", s.limits_hit},
                  {"counts", counts},
                  {"artifacts", s.artifacts_run},
                  {"skipped_artifacts", skipped},
                  {"collector", {{"pid", platform.SelfPid()}, {"binary", core::RepairUtf8(self_exe)},
                                 {"binary_sha256", self_sha}, {"output_dir", core::RepairUtf8(output_dir.string())}}}};
  auto parts = (*writer)->Finish(trailer);
  if (!parts) {
    err << "trawl-collect: closing the archive failed: " << parts.error().message << "\n";
    return kExitFatal;
  }
  // Sidecar: no secrets.
  json sidecar = {{"format", "trawl-sidecar"}, {"format_version", core::archive::kArchiveFormatVersion},
                  {"tool", "trawl-collect"}, {"tool_version", TRAWL_VERSION}, {"host", host},
                  {"started", started}, {"ended", ended}, {"profile", {{"name", resolved->name}, {"sha256", resolved->sha256}}},
                  {"recipients", recipients_json}, {"result", result}, {"stop_reason", reason},
                  {"limits_hit", s.limits_hit}, {"counts", counts}, {"encrypted", !options.no_encrypt}};
  json files_written = json::array();
  for (const auto& p : *parts) {
    sidecar["archives"].push_back({{"name", p.path.filename().string()}, {"size", p.size}, {"sha256", p.sha256}});
    files_written.push_back(p.path.filename().string());
  }
  const auto sidecar_path = output_dir / (base + ".json");
  files_written.push_back(sidecar_path.filename().string());
  sidecar["files_written"] = files_written;
  if (auto w = core::WriteFileText(sidecar_path, sidecar.dump(2, ' ', false, json::error_handler_t::replace) + "\n"); !w) {
    err << "trawl-collect: sidecar: " << w.error().message << "\n";
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out << fmt::format("trawl-collect: {}{}: {} in {:.1f} s\n", result, reason.empty() ? "" : " (" + reason + ")",
                     StatusLine(s), secs);
  out << "sidecar: " << sidecar_path.string() << "\n";
  for (const auto& p : *parts) out << p.sha256 << "  " << p.path.string() << "\n";
  out << std::flush;
  return result == "complete" ? kExitComplete : kExitPartial;
}

int RunValidate(const std::filesystem::path& file, std::ostream& out, std::ostream& err) {
  auto r = profile::ValidateFile(file);
  if (!r) {
    err << r.error().message << "\n";
    return kExitUsage;
  }
  out << *r << "\n";
  return kExitComplete;
}

int RunListProfiles(std::ostream& out, std::ostream& err) {
  auto list = profile::ListProfiles();
  if (!list) {
    err << list.error().message << "\n";
    return kExitFatal;
  }
  for (const auto& p : *list) {
    out << fmt::format("{:<28} {:>3} artifacts  {}\n", p.name, p.artifact_count, p.description);
  }
  return kExitComplete;
}

int RunExplain(const CollectOptions& options, std::ostream& out, std::ostream& err) {
  auto resolved = profile::LoadProfile(options.profile);
  if (!resolved) {
    err << resolved.error().message << "\n";
    return kExitUsage;
  }
  profile::FsDirectoryLister lister;
  profile::TargetOs os = profile::TargetOs::kLinux;
#ifdef _WIN32
  os = profile::TargetOs::kWindows;
#endif
  const std::string root = options.root.empty() ? LiveRoot() : options.root;
  if (!options.target_os.empty()) {
    auto parsed = profile::ParseTargetOs(options.target_os);
    if (!parsed) {
      err << "--target-os: unknown OS '" << options.target_os << "'\n";
      return kExitUsage;
    }
    os = *parsed;
  } else if (!options.root.empty()) {
    os = profile::DetectTargetOs(root, lister);
  }
  auto ctx = profile::MakeExpansionContext(os, root);
  if (!ctx) {
    err << ctx.error().message << "\n";
    return kExitUsage;
  }
  out << profile::ExplainProfile(*resolved, *ctx);
  return kExitComplete;
}

core::Result<void> ApplyConfigFile(const std::filesystem::path& path, CollectOptions& o) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  auto text = core::ReadFileText(path, 1 << 20);
  if (!text) return std::unexpected(text.error());
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) return core::Fail(ErrorCode::kFormat, path.string() + ": expected a mapping");
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      // By value: the iterator yields a temporary pair, a reference would dangle
      // (found by ASan with CollectConfigTest).
      const YAML::Node v = it->second;
      const auto where = fmt::format("{}:{}:{}", path.string(), v.Mark().line + 1, v.Mark().column + 1);
      if (key == "recipients") {
        if (!v.IsSequence()) return core::Fail(ErrorCode::kFormat, where + ": 'recipients' must be a list");
        if (o.recipients.empty()) {
          for (const auto& r : v) o.recipients.push_back(r.as<std::string>());
        }
      } else if (key == "profile") {
        if (o.profile == "default") {
          // A profile file named relative to the stick, like `output`; a bare
          // name is a built-in profile.
          std::string name = v.as<std::string>();
          const std::filesystem::path p = name;
          if (!p.is_absolute() && (name.ends_with(".yaml") || name.ends_with(".yml"))) {
            name = (path.parent_path() / p).string();
          }
          o.profile = name;
        }
      } else if (key == "output") {
        if (o.output_dir.empty()) {
          std::filesystem::path p = v.as<std::string>();
          o.output_dir = p.is_absolute() ? p : path.parent_path() / p;
        }
      } else if (key == "time_limit") {
        if (o.time_limit == 0) o.time_limit = v.as<std::uint64_t>();
      } else if (key == "max_output") {
        if (o.max_output == 0) o.max_output = v.as<std::uint64_t>();
      } else if (key == "split_size") {
        if (o.split_size == 0) o.split_size = v.as<std::uint64_t>();
      } else {
        return core::Fail(ErrorCode::kFormat, fmt::format("{}: unknown key '{}' (recipients, profile, output, "
                                                          "time_limit, max_output, split_size)", where, key));
      }
    }
  } catch (const YAML::Exception& e) {
    return core::Fail(ErrorCode::kFormat, fmt::format("{}:{}:{}: {}", path.string(), e.mark.line + 1,
                                                      e.mark.column + 1, e.msg));
  }
  return {};
}

}  // namespace trawl::collector
