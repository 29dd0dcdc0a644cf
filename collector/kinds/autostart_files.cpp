// SPDX-License-Identifier: Apache-2.0
// Kind autostart_files: what starts by itself, resolved to files and read.
// The target's own SYSTEM hive (every ControlSet's services and drivers:
// ImagePath, ServiceDll), SOFTWARE (Run/RunOnce and their Wow6432Node and
// Policies twins, Winlogon Shell/Userinit, AppInit_DLLs, IFEO Debugger,
// Active Setup StubPath), each user's NTUSER.DAT (Run/RunOnce, Load, Shell)
// and the task store's Exec actions name programs and DLLs; each is
// resolved to an absolute path (core/registry/autostart_targets.h), found on
// the volume (one listing per folder, whatever the number of entries in it)
// and handed to the file pipeline: hashes, PE facts, Authenticode. Triage
// joins these records to its services/autoruns/scheduled_tasks rows. A
// program that is named but absent is logged (autostart_target_missing):
// a service whose binary was deleted is evidence too.
#include "collector/kinds/kinds.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "collector/file_workers.h"
#include "collector/hive_read.h"
#include "core/formats/task_xml.h"
#include "core/registry/autostart_targets.h"
#include "core/registry/hive_extract.h"
#include "core/util/text.h"

namespace trawl::collector {

using nlohmann::json;
namespace hive = core::hive;

namespace {

constexpr std::size_t kMaxLoggedPerEvent = 200;
constexpr std::uint64_t kMaxTaskFileBytes = 1 << 20;

struct Want {
  std::vector<std::string> candidates;  // lower case, in search order
  std::string via;                      // service | service DLL | autorun | task
  std::string what;                     // the service, value or task
};

// A folder of the target as the volume has it: its names, folded.
struct Folder {
  std::string target, host;
  std::map<std::string, profile::DirEntry> entries;  // lower-case name -> entry
};

// '*', '?' and '[' in a literal path, as one-character classes.
std::string EscapeGlob(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '*' || c == '?' || c == '[') {
      out += '[';
      out += c;
      out += ']';
    } else {
      out += c;
    }
  }
  return out;
}

class Resolver {
 public:
  explicit Resolver(RunState& s) : s_(s) {}

  // The folder `dir_lc` (lower case, absolute); nullptr when absent.
  const Folder* Lookup(const std::string& dir_lc) {
    auto [it, inserted] = cache_.try_emplace(dir_lc);
    if (!inserted) return it->second ? &*it->second : nullptr;
    profile::GlobOptions options;
    options.max_depth = 0;
    options.max_matches = 4;
    auto e = profile::ExpandGlob(EscapeGlob(dir_lc), s_.ctx, s_.lister, options);
    if (!e || e->matches.empty()) return nullptr;
    const profile::PathMatch& m = e->matches.front();
    if (!m.is_dir || m.is_symlink) return nullptr;
    auto listing = s_.lister.List(m.host_path);
    if (!listing) return nullptr;
    Folder f{m.target_path, m.host_path, {}};
    for (profile::DirEntry& entry : *listing) {
      std::string key = core::ToLowerAscii(entry.name);
      f.entries.try_emplace(std::move(key), std::move(entry));
    }
    it->second = std::move(f);
    return &*it->second;
  }

  // The first candidate that exists as a regular file.
  std::optional<profile::PathMatch> Find(const std::vector<std::string>& candidates) {
    for (const std::string& c : candidates) {
      const std::size_t slash = c.find_last_of('\\');
      if (slash == std::string::npos || slash + 1 == c.size()) continue;
      const Folder* f = Lookup(c.substr(0, slash));
      if (f == nullptr) continue;
      auto it = f->entries.find(c.substr(slash + 1));
      if (it == f->entries.end() || !it->second.is_regular) continue;
      profile::PathMatch m;
      m.target_path = f->target + "\\" + it->second.name;
      m.host_path = profile::JoinHost(f->host, it->second.name);
      m.is_regular = true;
      return m;
    }
    return std::nullopt;
  }

 private:
  RunState& s_;
  std::map<std::string, std::optional<Folder>> cache_;
};

// Splits the lists Windows keeps in one value: Winlogon's Shell/Userinit
// (comma-separated commands) and AppInit_DLLs (commas or spaces).
std::vector<std::string> CommandsOf(const hive::AutorunRow& a) {
  std::vector<std::string> out;
  const bool appinit = core::EqualsIgnoreCaseAscii(a.name, "AppInit_DLLs");
  const bool winlogon = a.location.ends_with("\\Winlogon");
  if (!appinit && !winlogon) {
    out.push_back(a.value);
    return out;
  }
  std::string cur;
  for (char c : a.value) {
    if (c == ',' || (appinit && c == ' ')) {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  std::erase_if(out, [](const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; });
  return out;
}

}  // namespace

void RunAutostartFiles(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  if (!s.windows_target) {
    summary["skipped"] = "not a Windows target";
    return;
  }
  const bool user_hives = art.parameters.GetBool("include_user_hives");
  const bool tasks = art.parameters.GetBool("include_tasks");
  const auto max_files = static_cast<std::uint64_t>(art.parameters.GetInt("max_files"));
  const bool copy = art.parameters.GetBool("copy");
  const FileAccess access = ParseFileAccess(art.parameters.GetString("access"));
  const std::uint64_t copy_max_size = std::min(art.limits.copy_max_size, art.parameters.GetSize("copy_max_size"));
  std::string system_root = "C:\\Windows";
  if (auto e = profile::ExpandVariables("%SystemRoot%", s.ctx); e && e->size() == 1) system_root = (*e)[0].pattern;

  // event (and for the per-reference ones, what named it) -> count, to cap
  // each: hundreds of absent legacy drivers must not hide one Run value.
  std::map<std::string, std::size_t> logged;
  auto log = [&](std::string_view level, const std::string& event, json fields) {
    const std::string key = fields.contains("via") ? event + "/" + fields["via"].get<std::string>() : event;
    if (logged[key]++ >= kMaxLoggedPerEvent) return;
    fields["artifact"] = art.name;
    s.pipeline->Log(level, event, std::move(fields));
  };
  std::vector<Want> wants;
  std::set<std::string> wanted;  // first candidates
  std::uint64_t unresolved = 0;
  auto add = [&](std::string_view command, std::string_view arguments, std::string_view home, const std::string& via,
                 const std::string& what) {
    for (hive::AutostartTarget& t : hive::CommandTargets(command, arguments, home, system_root)) {
      if (t.candidates.empty()) {
        ++unresolved;
        log("info", "autostart_unresolved",
            {{"via", via}, {"what", core::RepairUtf8(what)}, {"message", core::RepairUtf8(t.unresolved)}});
        continue;
      }
      // Every ControlSet names the same services: each path once.
      if (!wanted.insert(t.candidates.front()).second) continue;
      wants.push_back({std::move(t.candidates), via, what});
    }
  };
  auto read_hive = [&](const std::string& target, hive::HiveType type, std::string_view user) -> hive::Extracted {
    hive::Extracted ex;
    TargetHive info;
    auto h = ReadTargetHive(s, target, info);
    for (const std::string& p : info.log_problems)
      log("warning", "hive_log_unread", {{"path", target}, {"message", p}});
    if (!h) {
      // An absent NTUSER.DAT (a profile never logged on) is not news.
      if (h.error().code != core::ErrorCode::kNotFound || type != hive::HiveType::kNtuser) {
        log(h.error().code == core::ErrorCode::kNotFound ? "info" : "warning", "hive_unread",
            {{"path", core::RepairUtf8(target)}, {"message", core::RepairUtf8(h.error().message)}});
      }
      return ex;
    }
    hive::Extract(*h, type, user, ex);
    for (const std::string& e : ex.errors) {
      log("warning", "hive_damaged", {{"path", core::RepairUtf8(target)}, {"message", core::RepairUtf8(e)}});
    }
    return ex;
  };

  const std::string config = system_root + "\\System32\\config\\";
  std::uint64_t services = 0, autoruns = 0, task_actions = 0;
  {
    const hive::Extracted ex = read_hive(config + "SYSTEM", hive::HiveType::kSystem, "");
    for (const hive::ServiceRow& svc : ex.services) {
      ++services;
      const std::string what = svc.control_set + "\\Services\\" + svc.name;
      if (!svc.image_path.empty()) add(svc.image_path, "", "", "service", what);
      if (!svc.service_dll.empty()) add(svc.service_dll, "", "", "service DLL", what);
    }
  }
  {
    const hive::Extracted ex = read_hive(config + "SOFTWARE", hive::HiveType::kSoftware, "");
    for (const hive::AutorunRow& a : ex.autoruns) {
      ++autoruns;
      for (const std::string& c : CommandsOf(a)) add(c, "", "", "autorun", a.location + "\\" + a.name);
    }
  }
  if (user_hives) {
    for (const profile::UserProfile& u : s.ctx.users) {
      if (s.stop.ShouldStop()) break;
      const hive::Extracted ex = read_hive(u.home + "\\NTUSER.DAT", hive::HiveType::kNtuser, u.name);
      for (const hive::AutorunRow& a : ex.autoruns) {
        ++autoruns;
        for (const std::string& c : CommandsOf(a)) add(c, "", u.home, "autorun", a.location + "\\" + a.name);
      }
    }
  }
  if (tasks && !s.stop.ShouldStop()) {
    profile::GlobOptions options;
    options.max_depth = 8;
    options.max_matches = 10000;
    auto store = profile::ExpandGlob(EscapeGlob(system_root) + "\\System32\\Tasks\\**", s.ctx, s.lister, options);
    if (store) {
      if (store->truncated) log("warning", "max_files_reached", {{"path", system_root + "\\System32\\Tasks"}});
      for (const profile::PathMatch& m : store->matches) {
        if (!m.is_regular || s.stop.ShouldStop()) continue;
        // Not a file this artifact can read whole (too large for a task
        // definition, unreadable): the scheduled_tasks artifact copies it raw.
        auto data = ReadHostFile(s, m.host_path, kMaxTaskFileBytes, access);
        if (!data) continue;
        auto task = core::formats::ParseTaskXml(*data);
        if (!task) continue;  // not a task definition; the scheduled_tasks artifact copies it raw anyway
        for (const core::formats::TaskAction& a : task->actions) {
          if (a.type != "exec" || a.command.empty()) continue;
          ++task_actions;
          // A task's command is the program alone; quote it so that a path
          // with spaces stays whole.
          const std::string quoted = a.command.starts_with('"') ? a.command : "\"" + a.command + "\"";
          add(quoted, a.arguments, "", "task", m.target_path);
        }
      }
    }
  }

  // Resolve and read, each file once.
  Resolver resolver(s);
  FileWorkers workers(s, art);
  std::set<std::string> submitted;
  std::uint64_t missing = 0, found = 0;
  bool capped = false;
  for (const Want& w : wants) {
    if (s.stop.ShouldStop()) break;
    auto m = resolver.Find(w.candidates);
    if (!m) {
      ++missing;
      log("info", "autostart_target_missing",
          {{"via", w.via}, {"what", core::RepairUtf8(w.what)}, {"path", core::RepairUtf8(w.candidates.front())}});
      continue;
    }
    ++found;
    if (!submitted.insert(core::ToLowerAscii(m->target_path)).second) continue;
    if (submitted.size() > max_files) {
      capped = true;
      break;
    }
    FileRequest req = BaseRequest(s, art, *m);
    req.hash = true;
    req.pe_analysis = true;
    req.copy.copy = copy;
    req.copy.copy_max_size = copy_max_size;
    if (!workers.Submit(std::move(req))) break;
  }
  workers.Summarise(summary);
  if (capped) {
    summary["limit"] = "max_files";
    s.pipeline->Log("warning", "max_files_reached", {{"artifact", art.name}, {"max_files", max_files}});
  }
  for (const auto& [key, n] : logged) {
    if (n > kMaxLoggedPerEvent) {
      s.pipeline->Log("info", "events_capped",
                      {{"artifact", art.name}, {"event", key}, {"not_logged", n - kMaxLoggedPerEvent}});
    }
  }
  summary["services"] = services;
  summary["autoruns"] = autoruns;
  summary["task_actions"] = task_actions;
  summary["distinct_targets"] = wants.size();
  summary["found"] = found;
  summary["missing"] = missing;
  summary["unresolved"] = unresolved;
  summary["distinct_files"] = std::min<std::uint64_t>(submitted.size(), max_files);
}

}  // namespace trawl::collector
