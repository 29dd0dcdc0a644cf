// SPDX-License-Identifier: Apache-2.0
#include "core/registry/hive_extract.h"

#include <set>

#include <fmt/format.h>

#include "core/formats/shimcache.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::core::hive {
namespace {

namespace regf = core::formats::regf;
using regf::Hive;
using regf::Key;
using regf::Value;

constexpr int kMaxTreeDepth = 32;  // TaskCache\Tree folders

// Lookups that record what could not be read and carry on.
class Reader {
 public:
  Reader(const Hive& hive, Extracted& out) : hive_(hive), out_(out) {}

  std::optional<Key> Find(const Key& from, std::string_view path, std::string_view where) {
    auto k = hive_.Find(from, path);
    if (!k) {
      Error(where, k.error().message);
      return std::nullopt;
    }
    return *k;
  }
  std::optional<Key> Find(std::string_view path) {
    auto root = hive_.Root();
    if (!root) {
      Error("(root)", root.error().message);
      return std::nullopt;
    }
    return Find(*root, path, path);
  }
  // The readable subkeys and values; what cannot be read is an error line.
  std::vector<Key> Subkeys(const Key& k, std::string_view where) {
    std::vector<std::string> bad;
    auto s = hive_.Subkeys(k, &bad);
    for (const auto& b : bad) Error(where, b);
    if (!s) {
      Error(where, s.error().message);
      return {};
    }
    return std::move(*s);
  }
  std::vector<Value> Values(const Key& k, std::string_view where) {
    std::vector<std::string> bad;
    auto v = hive_.Values(k, &bad);
    for (const auto& b : bad) Error(where, b);
    if (!v) {
      Error(where, v.error().message);
      return {};
    }
    return std::move(*v);
  }
  void Error(std::string_view where, std::string_view what) {
    if (out_.errors.size() < 1000) out_.errors.push_back(fmt::format("{}: {}", where, what));
  }
  const Hive& hive() const { return hive_; }
  Extracted& out() { return out_; }

 private:
  const Hive& hive_;
  Extracted& out_;
};

const Value* Find(const std::vector<Value>& values, std::string_view name) {
  for (const auto& v : values)
    if (core::EqualsIgnoreCaseAscii(v.name, name)) return &v;
  return nullptr;
}

// A value as text: strings as stored, integers in decimal, else "".
std::string Text(const std::vector<Value>& values, std::string_view name) {
  const Value* v = Find(values, name);
  if (v == nullptr) return {};
  if (auto n = regf::ValueInteger(*v)) return std::to_string(*n);
  if (v->type == regf::kRegMultiSz) {
    std::string joined;
    for (const auto& s : regf::ValueMultiString(*v)) joined += (joined.empty() ? "" : "|") + s;
    return joined;
  }
  return regf::ValueString(*v);
}

std::optional<std::uint64_t> Integer(const std::vector<Value>& values, std::string_view name) {
  const Value* v = Find(values, name);
  if (v == nullptr) return std::nullopt;
  if (auto n = regf::ValueInteger(*v)) return n;
  // Amcache writes some numbers as strings, decimal or "0x7fac0".
  const std::string s = core::ToLowerAscii(regf::ValueString(*v));
  if (s.size() > 2 && s.starts_with("0x") && s.size() <= 18 &&
      s.find_first_not_of("0123456789abcdef", 2) == std::string::npos)
    return std::stoull(s.substr(2), nullptr, 16);
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s);
}

std::string StripSha1Prefix(std::string s) {
  s = core::ToLowerAscii(s);
  if (s.size() == 44 && s.starts_with("0000")) s.erase(0, 4);
  return s;
}

std::string Join(std::string_view a, std::string_view b) {
  return a.empty() ? std::string(b) : fmt::format("{}\\{}", a, b);
}

void System(Reader& r) {
  auto root = r.hive().Root();
  if (!root) return;
  for (const Key& cs : r.Subkeys(*root, "(root)")) {
    if (!core::ToLowerAscii(cs.name).starts_with("controlset")) continue;
    // ShimCache: Windows Vista and later, then XP's location.
    for (const char* where :
         {"Control\\Session Manager\\AppCompatCache", "Control\\Session Manager\\AppCompatibility"}) {
      const std::string path = Join(cs.name, where);
      auto k = r.Find(cs, where, path);
      if (!k) continue;
      const auto values = r.Values(*k, path);
      const Value* v = Find(values, "AppCompatCache");
      if (v == nullptr) continue;
      auto parsed = core::formats::ParseShimCache({v->data.data(), v->data.size()});
      if (!parsed) {
        r.Error(path + "\\AppCompatCache", parsed.error().message);
        continue;
      }
      for (const auto& w : parsed->warnings) r.Error(path + "\\AppCompatCache", w);
      for (const auto& e : parsed->entries)
        r.out().shimcache.push_back({cs.name, parsed->format, e.position, e.path, e.last_modified, e.executed});
    }
    const std::string services_path = Join(cs.name, "Services");
    auto services = r.Find(cs, "Services", services_path);
    if (!services) continue;
    for (const Key& svc : r.Subkeys(*services, services_path)) {
      const std::string path = Join(services_path, svc.name);
      const auto values = r.Values(svc, path);
      ServiceRow row{cs.name,
                     svc.name,
                     Text(values, "DisplayName"),
                     Text(values, "ImagePath"),
                     Text(values, "ServiceDll"),
                     Text(values, "ObjectName"),
                     std::nullopt,
                     std::nullopt,
                     svc.last_written};
      if (auto n = Integer(values, "Start")) row.start = static_cast<std::uint32_t>(*n);
      if (auto n = Integer(values, "Type")) row.type = static_cast<std::uint32_t>(*n);
      if (auto params = r.Find(svc, "Parameters", path + "\\Parameters")) {
        const std::string dll = Text(r.Values(*params, path + "\\Parameters"), "ServiceDll");
        if (!dll.empty()) row.service_dll = dll;
      }
      r.out().services.push_back(std::move(row));
      // BAM / DAM: per SID, a value per program whose data starts with the FILETIME of its last run.
      const std::string lc = core::ToLowerAscii(svc.name);
      if (lc != "bam" && lc != "dam") continue;
      for (const char* settings : {"State\\UserSettings", "UserSettings"}) {
        const std::string us_path = path + "\\" + settings;
        auto us = r.Find(svc, settings, us_path);
        if (!us) continue;
        for (const Key& sid : r.Subkeys(*us, us_path)) {
          for (const Value& v : r.Values(sid, Join(us_path, sid.name))) {
            if (v.type != regf::kRegBinary || v.data.size() < 8) continue;  // Version, SequenceNumber
            const std::uint64_t ft = core::ByteReader({v.data.data(), v.data.size()}).U64Unchecked(0);
            r.out().bam.push_back({lc, cs.name, sid.name, v.name, ft});
          }
        }
      }
    }
  }
}

// Every value of a Run-style key as an autorun row.
void RunKey(Reader& r, const Key& root, std::string_view rel, std::string_view shown_prefix) {
  auto k = r.Find(root, rel, rel);
  if (!k) return;
  const std::string location = fmt::format("{}\\{}", shown_prefix, rel);
  for (const Value& v : r.Values(*k, rel)) {
    const std::string text = v.type == regf::kRegMultiSz ? Text({v}, v.name) : regf::ValueString(v);
    if (text.empty()) continue;  // an empty default value starts nothing
    r.out().autoruns.push_back({location, v.name, text, k->last_written});
  }
}

// Named values of one key, where set (Winlogon Shell, AppInit_DLLs, ...).
void NamedValues(Reader& r, const Key& root, std::string_view rel, std::string_view shown_prefix,
                 std::initializer_list<std::string_view> names) {
  auto k = r.Find(root, rel, rel);
  if (!k) return;
  const auto values = r.Values(*k, rel);
  for (std::string_view name : names) {
    const Value* v = Find(values, name);
    if (v == nullptr) continue;
    const std::string text = Text(values, name);
    if (text.empty()) continue;
    r.out().autoruns.push_back({fmt::format("{}\\{}", shown_prefix, rel), v->name, text, k->last_written});
  }
}

void Uninstall(Reader& r, const Key& root, std::string_view rel, std::string_view shown_prefix) {
  auto k = r.Find(root, rel, rel);
  if (!k) return;
  for (const Key& app : r.Subkeys(*k, rel)) {
    const std::string p = fmt::format("{}\\{}", rel, app.name);
    const auto v = r.Values(app, p);
    InstalledRow row{fmt::format("{}\\{}", shown_prefix, rel),
                     app.name,
                     Text(v, "DisplayName"),
                     Text(v, "DisplayVersion"),
                     Text(v, "Publisher"),
                     Text(v, "InstallLocation"),
                     Text(v, "InstallDate"),
                     Text(v, "UninstallString"),
                     app.last_written};
    if (row.name.empty() && row.version.empty()) continue;  // component keys without a display entry
    r.out().installed.push_back(std::move(row));
  }
}

void TaskTree(Reader& r, const Key& k, const std::string& path, const Key& tasks, int depth,
              std::set<std::uint32_t>& visited) {
  if (!visited.insert(k.cell).second) {
    r.Error(path, "TaskCache tree key listed twice (a cycle or a shared subtree); not followed again");
    return;
  }
  if (depth > kMaxTreeDepth) {
    r.Error(path, "TaskCache tree deeper than 32 levels; not followed");
    return;
  }
  for (const Key& sub : r.Subkeys(k, path)) {
    const std::string sub_path = path + "\\" + sub.name;
    const auto values = r.Values(sub, sub_path);
    const std::string id = Text(values, "Id");
    if (!id.empty()) {
      TaskCacheRow row;
      row.path = sub_path;
      row.id = id;
      row.has_sd = Find(values, "SD") != nullptr;
      row.last_written = sub.last_written;
      if (auto t = r.Find(tasks, id, "Tasks\\" + id)) {
        row.has_task = true;
        const auto tv = r.Values(*t, "Tasks\\" + id);
        row.uri = Text(tv, "URI");
        row.author = Text(tv, "Author");
        row.date = Text(tv, "Date");
        row.description = Text(tv, "Description");
      }
      r.out().task_cache.push_back(std::move(row));
    }
    TaskTree(r, sub, sub_path, tasks, depth + 1, visited);
  }
}

void Software(Reader& r) {
  auto root = r.hive().Root();
  if (!root) return;
  constexpr std::string_view kHklm = "HKLM\\SOFTWARE";
  for (const char* rel :
       {"Microsoft\\Windows\\CurrentVersion\\Run", "Microsoft\\Windows\\CurrentVersion\\RunOnce",
        "Microsoft\\Windows\\CurrentVersion\\RunServices", "Microsoft\\Windows\\CurrentVersion\\RunServicesOnce",
        "Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run",
        "Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run",
        "Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
        "Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run"})
    RunKey(r, *root, rel, kHklm);
  constexpr std::string_view kTerminalServer = "Microsoft\\Windows NT\\CurrentVersion\\Terminal Server\\Install";
  for (const char* leaf : {"Run", "RunOnce"})
    RunKey(r, *root, fmt::format("{}\\Software\\Microsoft\\Windows\\CurrentVersion\\{}", kTerminalServer, leaf), kHklm);
  NamedValues(r, *root, "Microsoft\\Windows NT\\CurrentVersion\\Winlogon", kHklm, {"Shell", "Userinit"});
  for (const char* rel : {"Microsoft\\Windows NT\\CurrentVersion\\Windows",
                          "Wow6432Node\\Microsoft\\Windows NT\\CurrentVersion\\Windows"})
    NamedValues(r, *root, rel, kHklm, {"AppInit_DLLs"});
  const std::string ifeo = "Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options";
  if (auto k = r.Find(*root, ifeo, ifeo)) {
    for (const Key& exe : r.Subkeys(*k, ifeo)) {
      const std::string p = ifeo + "\\" + exe.name;
      const std::string dbg = Text(r.Values(exe, p), "Debugger");
      if (!dbg.empty())
        r.out().autoruns.push_back({fmt::format("{}\\{}", kHklm, p), "Debugger", dbg, exe.last_written});
    }
  }
  const std::string active = "Microsoft\\Active Setup\\Installed Components";
  if (auto k = r.Find(*root, active, active)) {
    for (const Key& c : r.Subkeys(*k, active)) {
      const std::string stub = Text(r.Values(c, active + "\\" + c.name), "StubPath");
      if (!stub.empty())
        r.out().autoruns.push_back(
            {fmt::format("{}\\{}\\{}", kHklm, active, c.name), "StubPath", stub, c.last_written});
    }
  }
  for (const char* rel :
       {"Microsoft\\Windows\\CurrentVersion\\Uninstall", "Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall"})
    Uninstall(r, *root, rel, kHklm);
  const std::string profiles = "Microsoft\\Windows NT\\CurrentVersion\\ProfileList";
  if (auto k = r.Find(*root, profiles, profiles)) {
    for (const Key& sid : r.Subkeys(*k, profiles))
      r.out().profiles.push_back(
          {sid.name, Text(r.Values(sid, profiles + "\\" + sid.name), "ProfileImagePath"), sid.last_written});
  }
  const std::string cache = "Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache";
  auto tree = r.Find(*root, cache + "\\Tree", cache + "\\Tree");
  auto tasks = r.Find(*root, cache + "\\Tasks", cache + "\\Tasks");
  std::set<std::uint32_t> visited;
  if (tree && tasks) TaskTree(r, *tree, "", *tasks, 0, visited);
}

void Ntuser(Reader& r, std::string_view user) {
  auto root = r.hive().Root();
  if (!root) return;
  const std::string shown = fmt::format("HKU\\{}", user.empty() ? "?" : user);
  for (const char* rel :
       {"Software\\Microsoft\\Windows\\CurrentVersion\\Run", "Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
        "Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run"})
    RunKey(r, *root, rel, shown);
  NamedValues(r, *root, "Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows", shown, {"Load", "Run"});
  NamedValues(r, *root, "Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon", shown, {"Shell"});
  Uninstall(r, *root, "Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall", shown);
}

void Amcache(Reader& r) {
  const std::string files = "Root\\InventoryApplicationFile";
  if (auto k = r.Find(files)) {
    for (const Key& e : r.Subkeys(*k, files)) {
      const std::string p = files + "\\" + e.name;
      const auto v = r.Values(e, p);
      AmcacheFile f;
      f.source = "InventoryApplicationFile";
      f.key = p;
      f.path = Text(v, "LowerCaseLongPath");
      f.name = Text(v, "Name");
      f.sha1 = StripSha1Prefix(Text(v, "FileId"));
      f.publisher = Text(v, "Publisher");
      f.product = Text(v, "ProductName");
      f.version = Text(v, "Version");
      if (f.version.empty()) f.version = Text(v, "BinFileVersion");
      f.program_id = Text(v, "ProgramId");
      f.link_date = AmcacheDateToIso(Text(v, "LinkDate"));
      if (auto n = Integer(v, "Size")) f.size = static_cast<std::int64_t>(*n);
      f.os_component = Integer(v, "IsOsComponent").value_or(0) != 0;
      f.last_written = e.last_written;
      r.out().amcache_files.push_back(std::move(f));
    }
  }
  const std::string apps = "Root\\InventoryApplication";
  if (auto k = r.Find(apps)) {
    for (const Key& e : r.Subkeys(*k, apps)) {
      const std::string p = apps + "\\" + e.name;
      const auto v = r.Values(e, p);
      r.out().amcache_apps.push_back({"InventoryApplication", p, e.name, Text(v, "Name"), Text(v, "Version"),
                                      Text(v, "Publisher"), AmcacheDateToIso(Text(v, "InstallDate")),
                                      Text(v, "RootDirPath"), Text(v, "UninstallString"), e.last_written});
    }
  }
  // Windows 7/8 and early 10: Root\File\{volume}\{id} with numbered values.
  const std::string old_files = "Root\\File";
  if (auto k = r.Find(old_files)) {
    for (const Key& vol : r.Subkeys(*k, old_files)) {
      const std::string vp = old_files + "\\" + vol.name;
      for (const Key& e : r.Subkeys(vol, vp)) {
        const std::string p = vp + "\\" + e.name;
        const auto v = r.Values(e, p);
        AmcacheFile f;
        f.source = "File";
        f.key = p;
        f.path = Text(v, "15");
        const auto slash = f.path.find_last_of('\\');
        f.name = slash == std::string::npos ? f.path : f.path.substr(slash + 1);
        f.sha1 = StripSha1Prefix(Text(v, "101"));
        f.product = Text(v, "0");
        f.publisher = Text(v, "1");
        f.version = Text(v, "5");
        f.program_id = Text(v, "100");
        if (auto n = Integer(v, "6")) f.size = static_cast<std::int64_t>(*n);
        if (auto t = Integer(v, "f"); t && *t > 0) f.link_date = core::UnixToIso(static_cast<std::int64_t>(*t));
        f.last_written = e.last_written;
        r.out().amcache_files.push_back(std::move(f));
      }
    }
  }
  const std::string programs = "Root\\Programs";
  if (auto k = r.Find(programs)) {
    for (const Key& e : r.Subkeys(*k, programs)) {
      const std::string p = programs + "\\" + e.name;
      const auto v = r.Values(e, p);
      r.out().amcache_apps.push_back(
          {"Programs", p, e.name, Text(v, "0"), Text(v, "1"), Text(v, "2"), "", "", Text(v, "7"), e.last_written});
    }
  }
}

}  // namespace

HiveType TypeFromFileName(std::string_view name) {
  const std::string lc = core::ToLowerAscii(name);
  if (lc == "system") return HiveType::kSystem;
  if (lc == "software") return HiveType::kSoftware;
  if (lc == "sam") return HiveType::kSam;
  if (lc == "security") return HiveType::kSecurity;
  if (lc == "default") return HiveType::kDefault;
  if (lc == "ntuser.dat") return HiveType::kNtuser;
  if (lc == "usrclass.dat") return HiveType::kUsrClass;
  if (lc == "amcache.hve") return HiveType::kAmcache;
  return HiveType::kOther;
}

std::string_view TypeName(HiveType t) {
  switch (t) {
    case HiveType::kSystem: return "SYSTEM";
    case HiveType::kSoftware: return "SOFTWARE";
    case HiveType::kSam: return "SAM";
    case HiveType::kSecurity: return "SECURITY";
    case HiveType::kDefault: return "DEFAULT";
    case HiveType::kNtuser: return "NTUSER";
    case HiveType::kUsrClass: return "UsrClass";
    case HiveType::kAmcache: return "Amcache";
    case HiveType::kOther: break;
  }
  return "other";
}

bool IsHiveOrLogName(std::string_view name) {
  std::string lc = core::ToLowerAscii(name);
  for (std::string_view suffix : {".log1", ".log2", ".log"}) {
    if (lc.ends_with(suffix)) {
      lc.resize(lc.size() - suffix.size());
      break;
    }
  }
  return TypeFromFileName(lc) != HiveType::kOther;
}

void Extract(const Hive& hive, HiveType type, std::string_view user, Extracted& out) {
  Reader r(hive, out);
  switch (type) {
    case HiveType::kSystem: System(r); break;
    case HiveType::kSoftware: Software(r); break;
    case HiveType::kNtuser: Ntuser(r, user); break;
    case HiveType::kAmcache: Amcache(r); break;
    default: break;
  }
}

std::string CommandFileLc(std::string_view command) {
  std::string c = core::ToLowerAscii(command);
  std::size_t start = c.find_first_not_of(" \t");
  if (start == std::string::npos) return {};
  std::string file;
  if (c[start] == '"') {
    const auto close = c.find('"', start + 1);
    file = c.substr(start + 1, close == std::string::npos ? std::string::npos : close - start - 1);
  } else if (const std::string first = c.substr(start, c.find(' ', start) - start);
             first.find_first_of("\\/.") == std::string::npos && first.size() < c.size() - start) {
    file = first;  // "rundll32 c:\\x\\y.dll,Entry": a bare program name, found on the path
  } else {
    std::size_t end = std::string::npos;
    for (std::string_view ext :
         {".exe", ".dll", ".sys", ".com", ".bat", ".cmd", ".scr", ".ps1", ".vbs", ".js", ".cpl"}) {
      for (auto at = c.find(ext, start); at != std::string::npos; at = c.find(ext, at + 1)) {
        const std::size_t after = at + ext.size();
        if (after == c.size() || c[after] == ' ' || c[after] == ',' || c[after] == '\t') {
          end = std::min(end, after);
          break;
        }
      }
    }
    if (end == std::string::npos) end = c.find(' ', start);
    file = c.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  const std::pair<std::string_view, std::string_view> prefixes[] = {
      {"\\??\\unc\\", "\\\\"},
      {"\\??\\", ""},
      {"\\systemroot\\", "c:\\windows\\"},
      {"%systemroot%", "c:\\windows"},
      {"%windir%", "c:\\windows"},
      {"%programdata%", "c:\\programdata"},
      {"%allusersprofile%", "c:\\programdata"},
      {"%public%", "c:\\users\\public"},
      {"system32\\", "c:\\windows\\system32\\"},
  };
  for (const auto& [from, to] : prefixes) {
    if (file.starts_with(from)) {
      file = std::string(to) + file.substr(from.size());
      break;
    }
  }
  return file;
}

std::string AmcacheDateToIso(std::string_view s) {
  // MM/DD/YYYY HH:MM:SS
  if (s.size() != 19 || s[2] != '/' || s[5] != '/' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
    return std::string(s);
  for (std::size_t i : {0u, 1u, 3u, 4u, 6u, 7u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u})
    if (s[i] < '0' || s[i] > '9') return std::string(s);
  return fmt::format("{}-{}-{}T{}Z", s.substr(6, 4), s.substr(0, 2), s.substr(3, 2), s.substr(11, 8));
}

}  // namespace trawl::core::hive
