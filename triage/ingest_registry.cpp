// SPDX-License-Identifier: Apache-2.0
#include "triage/ingest_registry.h"

#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/regf.h"
#include "core/formats/task_xml.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "core/registry/hive_extract.h"
#include "triage/record_writer.h"

namespace trawl::triage {

namespace hive = core::hive;
namespace {

namespace regf = core::formats::regf;
using core::Result;
using nlohmann::json;

constexpr std::uint64_t kMaxHive = 1ull << 31;    // regf offsets are 32-bit
constexpr std::uint64_t kMaxHeld = 6ull << 30;    // all hives of one archive
constexpr std::uint64_t kMaxTaskFile = 4u << 20;  // as the task parser's own cap
constexpr std::string_view kTasksDir = "/windows/system32/tasks/";

std::string Clean(std::string_view s) { return WithoutNul(core::RepairUtf8(s)); }

std::string BaseName(std::string_view member) {
  const auto slash = member.find_last_of('/');
  return std::string(slash == std::string_view::npos ? member : member.substr(slash + 1));
}

bool IsTaskMember(std::string_view member) { return core::ToLowerAscii(member).find(kTasksDir) != std::string::npos; }

// Lower-cased path and its folder and name, for joins ("\??\" removed).
struct PathParts {
  std::string lc, dir_lc, name_lc;
};
PathParts Split(std::string_view path) {
  if (path.starts_with("\\??\\")) path.remove_prefix(4);
  PathParts p;
  p.lc = core::ToLowerAscii(Clean(path));
  // The split the files table's dir_lc/name_lc come from, so the two join.
  const auto [dir, name] = SplitTargetPathView(p.lc);
  p.dir_lc = std::string(dir);
  p.name_lc = std::string(name);
  return p;
}

std::string Iso(std::uint64_t filetime) { return filetime == 0 ? std::string() : core::FiletimeToIso(filetime); }

void BindText(Stmt& s, int i, std::string_view v) {
  if (v.empty())
    s.BindNull(i);
  else
    s.Bind(i, std::string_view(Clean(v)));
}

// The user a profile hive belongs to: the folder above NTUSER.DAT, or the
// profile folder above AppData\Local\Microsoft\Windows\UsrClass.dat.
std::string UserOf(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto sep = path.find_first_of("\\/", start);
    parts.push_back(path.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start));
    if (sep == std::string_view::npos) break;
    start = sep + 1;
  }
  for (std::size_t i = 0; i + 1 < parts.size(); ++i)
    if (core::EqualsIgnoreCaseAscii(parts[i], "Users") ||
        core::EqualsIgnoreCaseAscii(parts[i], "Documents and Settings"))
      return Clean(parts[i + 1]);
  // A profile elsewhere (ProfileList: C:\Profiles\dave, ...\config\systemprofile):
  // the folder holding AppData, else the one holding the hive.
  for (std::size_t i = parts.size(); i-- > 1;)
    if (core::EqualsIgnoreCaseAscii(parts[i], "AppData")) return Clean(parts[i - 1]);
  return parts.size() >= 2 ? Clean(parts[parts.size() - 2]) : std::string();
}

class Writer {
 public:
  Writer(Db& db, std::int64_t host_id, const RegistryIngest::RowCounter& count)
      : db_(db), host_(host_id), count_(count) {}

  // INSERT INTO table (hive_id, host_id, cols...) VALUES (...), bound by `bind` from index 3.
  template <typename F>
  Result<void> Insert(const std::string& table, std::string_view cols, int ncols, std::int64_t hive_id, F&& bind) {
    auto it = stmts_.find(table);
    if (it == stmts_.end()) {
      std::string params = "?1, ?2";
      for (int i = 0; i < ncols; ++i) params += fmt::format(", ?{}", i + 3);
      auto s = db_.Prepare(fmt::format("INSERT INTO {} (hive_id, host_id, {}) VALUES ({})", table, cols, params));
      if (!s) return std::unexpected(s.error());
      it = stmts_.emplace(table, std::move(*s)).first;
    }
    TRAWL_TRY_VOID(count_(table));
    Stmt& s = it->second;
    s.Bind(1, hive_id);
    s.Bind(2, host_);
    bind(s);
    return s.Run();
  }

 private:
  Db& db_;
  std::int64_t host_;
  const RegistryIngest::RowCounter& count_;
  std::map<std::string, Stmt, std::less<>> stmts_;
};

Result<void> WriteExtracted(Writer& w, std::int64_t hive_id, const hive::Extracted& x) {
  for (const auto& f : x.amcache_files) {
    const PathParts p = Split(f.path);
    TRAWL_TRY_VOID(w.Insert("amcache_files",
                            "source, key_path, path, path_lc, dir_lc, name_lc, sha1, size, link_date, publisher, "
                            "product, version, program_id, os_component, key_last_written",
                            15, hive_id, [&](Stmt& s) {
                              BindText(s, 3, f.source);
                              BindText(s, 4, f.key);
                              BindText(s, 5, f.path);
                              BindText(s, 6, p.lc);
                              BindText(s, 7, p.dir_lc);
                              BindText(s, 8, f.name.empty() ? p.name_lc : core::ToLowerAscii(f.name));
                              BindText(s, 9, f.sha1);
                              if (f.size) s.Bind(10, *f.size);
                              BindText(s, 11, f.link_date);
                              BindText(s, 12, f.publisher);
                              BindText(s, 13, f.product);
                              BindText(s, 14, f.version);
                              BindText(s, 15, f.program_id);
                              s.Bind(16, static_cast<std::int64_t>(f.os_component));
                              BindText(s, 17, Iso(f.last_written));
                            }));
  }
  for (const auto& a : x.amcache_apps) {
    TRAWL_TRY_VOID(w.Insert("amcache_apps",
                            "source, key_path, program_id, name, name_lc, version, publisher, install_date, root_dir, "
                            "uninstall_string, key_last_written",
                            11, hive_id, [&](Stmt& s) {
                              BindText(s, 3, a.source);
                              BindText(s, 4, a.key);
                              BindText(s, 5, a.program_id);
                              BindText(s, 6, a.name);
                              BindText(s, 7, core::ToLowerAscii(a.name));
                              BindText(s, 8, a.version);
                              BindText(s, 9, a.publisher);
                              BindText(s, 10, a.install_date);
                              BindText(s, 11, a.root_dir);
                              BindText(s, 12, a.uninstall_string);
                              BindText(s, 13, Iso(a.last_written));
                            }));
  }
  for (const auto& e : x.shimcache) {
    const PathParts p = Split(e.path);
    TRAWL_TRY_VOID(w.Insert("shimcache",
                            "control_set, format, position, path, path_lc, dir_lc, name_lc, last_modified, executed", 9,
                            hive_id, [&](Stmt& s) {
                              BindText(s, 3, e.control_set);
                              BindText(s, 4, e.format);
                              s.Bind(5, static_cast<std::int64_t>(e.position));
                              BindText(s, 6, e.path);
                              BindText(s, 7, p.lc);
                              BindText(s, 8, p.dir_lc);
                              BindText(s, 9, p.name_lc);
                              if (e.last_modified_ns) BindText(s, 10, core::UnixNsToIso(*e.last_modified_ns));
                              if (e.executed) s.Bind(11, static_cast<std::int64_t>(*e.executed));
                            }));
  }
  for (const auto& b : x.bam) {
    const PathParts p = Split(b.path);
    TRAWL_TRY_VOID(
        w.Insert("bam", "source, control_set, sid, path, path_lc, dir_lc, name_lc, last_run", 8, hive_id, [&](Stmt& s) {
          BindText(s, 3, b.source);
          BindText(s, 4, b.control_set);
          BindText(s, 5, b.sid);
          BindText(s, 6, b.path);
          BindText(s, 7, p.lc);
          BindText(s, 8, p.dir_lc);
          BindText(s, 9, p.name_lc);
          BindText(s, 10, Iso(b.last_run));
        }));
  }
  for (const auto& v : x.services) {
    TRAWL_TRY_VOID(w.Insert("services",
                            "control_set, name, display_name, image_path, image_path_lc, service_dll, service_dll_lc, "
                            "start_type, type, account, last_written, image_file_lc",
                            12, hive_id, [&](Stmt& s) {
                              BindText(s, 3, v.control_set);
                              BindText(s, 4, v.name);
                              BindText(s, 5, v.display_name);
                              BindText(s, 6, v.image_path);
                              BindText(s, 7, core::ToLowerAscii(v.image_path));
                              BindText(s, 8, v.service_dll);
                              BindText(s, 9, hive::CommandFileLc(v.service_dll));
                              if (v.start) s.Bind(10, static_cast<std::int64_t>(*v.start));
                              if (v.type) s.Bind(11, static_cast<std::int64_t>(*v.type));
                              BindText(s, 12, v.account);
                              BindText(s, 13, Iso(v.last_written));
                              BindText(s, 14, hive::CommandFileLc(v.image_path));
                            }));
  }
  for (const auto& a : x.autoruns) {
    TRAWL_TRY_VOID(w.Insert("autoruns", "location, name, command, command_lc, last_written, command_file_lc", 6,
                            hive_id, [&](Stmt& s) {
                              BindText(s, 3, a.location);
                              s.Bind(4, std::string_view(Clean(a.name)));
                              BindText(s, 5, a.value);
                              BindText(s, 6, core::ToLowerAscii(a.value));
                              BindText(s, 7, Iso(a.last_written));
                              BindText(s, 8, hive::CommandFileLc(a.value));
                            }));
  }
  for (const auto& i : x.installed) {
    TRAWL_TRY_VOID(w.Insert("installed_programs",
                            "location, key_name, name, name_lc, version, publisher, install_location, install_date, "
                            "uninstall_string, last_written",
                            10, hive_id, [&](Stmt& s) {
                              BindText(s, 3, i.location);
                              BindText(s, 4, i.key);
                              BindText(s, 5, i.name);
                              BindText(s, 6, core::ToLowerAscii(i.name));
                              BindText(s, 7, i.version);
                              BindText(s, 8, i.publisher);
                              BindText(s, 9, i.install_location);
                              BindText(s, 10, i.install_date);
                              BindText(s, 11, i.uninstall_string);
                              BindText(s, 12, Iso(i.last_written));
                            }));
  }
  for (const auto& p : x.profiles) {
    TRAWL_TRY_VOID(w.Insert("user_profiles", "sid, profile_path, last_written", 3, hive_id, [&](Stmt& s) {
      BindText(s, 3, p.sid);
      BindText(s, 4, p.path);
      BindText(s, 5, Iso(p.last_written));
    }));
  }
  return {};
}

}  // namespace

const std::vector<std::string>& RegistryIngest::Tables() {
  static const std::vector<std::string> kTables = {
      "registry_hives", "amcache_files", "amcache_apps",  "shimcache",       "bam",
      "services",       "autoruns",      "user_profiles", "scheduled_tasks", "installed_programs"};
  return kTables;
}

Result<RegistryIngest> RegistryIngest::Create(Db& db) { return RegistryIngest(db); }

bool RegistryIngest::Wants(std::string_view member) {
  return hive::IsHiveOrLogName(BaseName(member)) || IsTaskMember(member);
}

void RegistryIngest::NoteCopied(std::string copied_as, std::string path) {
  copied_paths_[std::move(copied_as)] = std::move(path);
}

Result<void> RegistryIngest::Add(const std::string& member, core::archive::MemberStream& stream) {
  const bool task = IsTaskMember(member) && !hive::IsHiveOrLogName(BaseName(member));
  const std::uint64_t cap = task ? kMaxTaskFile : kMaxHive;
  if (held_bytes_ >= kMaxHeld) {
    errors_[member] = fmt::format("not parsed: this archive's hives and task files exceed {} bytes", kMaxHeld);
    return {};
  }
  auto data = stream.ReadAll(std::min(cap, kMaxHeld - held_bytes_));
  if (!data) {
    if (data.error().code == core::ErrorCode::kLimit) {
      errors_[member] = data.error().message;
      return {};  // the walk drains the rest
    }
    return std::unexpected(data.error());
  }
  held_bytes_ += data->size();
  std::vector<std::byte> bytes(data->size());
  std::memcpy(bytes.data(), data->data(), data->size());
  held_[member] = std::move(bytes);
  return {};
}

Result<void> RegistryIngest::Finish(std::int64_t collection_id, std::int64_t host_id, const RowCounter& count_row) {
  auto hive_row = db_->Prepare(
      "INSERT INTO registry_hives (collection_id, host_id, archive_path, path, hive_type, user_name, last_written, "
      "dirty, logs_applied, recovery_notes, errors, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  if (!hive_row) return std::unexpected(hive_row.error());
  auto cache_row = db_->Prepare(
      "INSERT INTO scheduled_tasks (collection_id, host_id, hive_id, source, path, uri, task_id, author, description, "
      "registration_date, hidden, last_written) VALUES (?1, ?2, ?3, 'taskcache', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!cache_row) return std::unexpected(cache_row.error());
  Writer writer(*db_, host_id, count_row);
  auto path_of = [&](const std::string& member) {
    auto it = copied_paths_.find(member);
    return it == copied_paths_.end() ? std::string() : it->second;
  };
  auto write_hive = [&](const std::string& member, hive::HiveType type, const std::string& user, const regf::Hive* h,
                        const hive::Extracted* x, std::string_view error) -> Result<void> {
    TRAWL_TRY_VOID(count_row("registry_hives"));
    Stmt& s = *hive_row;
    s.Bind(1, collection_id);
    s.Bind(2, host_id);
    s.Bind(3, std::string_view(Clean(member)));
    BindText(s, 4, path_of(member));
    s.Bind(5, hive::TypeName(type));
    BindText(s, 6, user);
    if (h != nullptr) {
      BindText(s, 7, Iso(h->header().last_written));
      s.Bind(8, static_cast<std::int64_t>(h->recovery().dirty));
      json applied = json::array();
      for (const auto& a : h->recovery().applied)
        applied.push_back({{"log", Clean(a.log)}, {"sequence", a.sequence}, {"pages", a.pages}});
      s.Bind(9, std::string_view(applied.dump()));
      json notes = json::array();
      for (const auto& n : h->recovery().notes) notes.push_back(Clean(n));
      s.Bind(10, std::string_view(notes.dump()));
    }
    if (x != nullptr && !x->errors.empty()) {
      json errs = json::array();
      for (const auto& e : x->errors) errs.push_back(Clean(e));
      s.Bind(11, std::string_view(errs.dump()));
    }
    BindText(s, 12, error);
    return s.Run();
  };
  for (const auto& [member, why] : errors_) {
    if (hive::IsHiveOrLogName(BaseName(member)))
      TRAWL_TRY_VOID(write_hive(member, hive::TypeFromFileName(BaseName(member)), "", nullptr, nullptr, why));
  }
  for (auto& [member, bytes] : held_) {
    const std::string base = BaseName(member);
    const hive::HiveType type = hive::TypeFromFileName(base);
    if (type == hive::HiveType::kOther) continue;  // logs and task files
    std::vector<regf::LogFile> logs;
    for (const char* suffix : {".LOG", ".LOG1", ".LOG2"}) {
      for (auto& [other, other_bytes] : held_) {
        if (other.size() == member.size() + std::string_view(suffix).size() &&
            core::EqualsIgnoreCaseAscii(other, member + suffix))
          logs.push_back({BaseName(other), other_bytes});
      }
    }
    std::string path = path_of(member);
    const std::string user = type == hive::HiveType::kNtuser || type == hive::HiveType::kUsrClass
                                 ? UserOf(path.empty() ? member : path)
                                 : "";
    auto h = regf::Hive::Open(std::move(bytes), logs);
    if (!h) {
      TRAWL_TRY_VOID(write_hive(member, type, user, nullptr, nullptr, h.error().message));
      continue;
    }
    hive::Extracted x;
    hive::Extract(*h, type, user, x);
    TRAWL_TRY_VOID(write_hive(member, type, user, &*h, &x, ""));
    const std::int64_t hive_id = db_->LastInsertRowId();
    ++hives_;
    TRAWL_TRY_VOID(WriteExtracted(writer, hive_id, x));
    // TaskCache rows go with the task files.
    for (const auto& t : x.task_cache) {
      TRAWL_TRY_VOID(count_row("scheduled_tasks"));
      Stmt& c = *cache_row;
      c.Bind(1, collection_id);
      c.Bind(2, host_id);
      c.Bind(3, hive_id);
      BindText(c, 4, t.path);
      BindText(c, 5, t.uri);
      BindText(c, 6, t.id);
      BindText(c, 7, t.author);
      BindText(c, 8, t.description);
      BindText(c, 9, t.date);
      c.Bind(10, static_cast<std::int64_t>(!t.has_sd));
      BindText(c, 11, Iso(t.last_written));
      TRAWL_TRY_VOID(c.Run());
    }
  }
  return WriteTasks(collection_id, host_id, count_row);
}

Result<void> RegistryIngest::WriteTasks(std::int64_t collection_id, std::int64_t host_id, const RowCounter& count_row) {
  auto s = db_->Prepare(
      "INSERT INTO scheduled_tasks (collection_id, host_id, source, path, uri, author, description, "
      "registration_date, command, arguments, command_lc, actions, triggers, user_id, run_level, hidden, enabled, "
      "error) VALUES (?1, ?2, 'xml', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
  if (!s) return std::unexpected(s.error());
  auto write = [&](const std::string& member, const core::formats::TaskDefinition* t,
                   std::string_view error) -> Result<void> {
    TRAWL_TRY_VOID(count_row("scheduled_tasks"));
    s->Bind(1, collection_id);
    s->Bind(2, host_id);
    auto it = copied_paths_.find(member);
    s->Bind(3, std::string_view(Clean(it == copied_paths_.end() ? member : it->second)));
    if (t != nullptr) {
      BindText(*s, 4, t->uri);
      BindText(*s, 5, t->author);
      BindText(*s, 6, t->description);
      BindText(*s, 7, t->date);
      json actions = json::array();
      const core::formats::TaskAction* exec = nullptr;
      for (const auto& a : t->actions) {
        if (a.type == "exec" && exec == nullptr) exec = &a;
        actions.push_back({{"type", a.type},
                           {"command", Clean(a.command)},
                           {"arguments", Clean(a.arguments)},
                           {"working_directory", Clean(a.working_directory)},
                           {"class_id", Clean(a.class_id)}});
      }
      if (exec != nullptr) {
        BindText(*s, 8, exec->command);
        BindText(*s, 9, exec->arguments);
        BindText(*s, 10, hive::CommandFileLc(exec->command));
      }
      s->Bind(11, std::string_view(actions.dump(-1, ' ', false, json::error_handler_t::replace)));
      json triggers = json::array();
      for (const auto& tr : t->triggers)
        triggers.push_back({{"type", tr.type},
                            {"enabled", tr.enabled},
                            {"start", Clean(tr.start_boundary)},
                            {"repetition", Clean(tr.repetition_interval)},
                            {"user_id", Clean(tr.user_id)}});
      s->Bind(12, std::string_view(triggers.dump(-1, ' ', false, json::error_handler_t::replace)));
      BindText(*s, 13, t->user_id);
      BindText(*s, 14, t->run_level);
      s->Bind(15, static_cast<std::int64_t>(t->hidden));
      s->Bind(16, static_cast<std::int64_t>(t->enabled));
    }
    BindText(*s, 17, error);
    return s->Run();
  };
  for (const auto& [member, why] : errors_)
    if (IsTaskMember(member) && !hive::IsHiveOrLogName(BaseName(member))) TRAWL_TRY_VOID(write(member, nullptr, why));
  for (const auto& [member, bytes] : held_) {
    if (!IsTaskMember(member) || hive::IsHiveOrLogName(BaseName(member))) continue;
    auto t = core::formats::ParseTaskXml({bytes.data(), bytes.size()});
    if (!t) {
      TRAWL_TRY_VOID(write(member, nullptr, t.error().message));
      continue;
    }
    TRAWL_TRY_VOID(write(member, &*t, ""));
    ++tasks_;
  }
  return {};
}

}  // namespace trawl::triage
