// SPDX-License-Identifier: Apache-2.0
// `trawl-triage inspect hive FILE`: a Windows registry hive read with trawl's
// own reader (core/formats/regf.h), after replaying the transaction logs found
// beside it (FILE.LOG, FILE.LOG1, FILE.LOG2, any case) and any given with
// --log. Prints a header (base block, recovery: which log entries were
// applied and why others were not), then every key below --key (default: the
// root), depth-first in subkey-list order, each key followed by its values:
//
//   \ControlSet001\Services\Tcpip  [2019-03-29T12:34:56.1234567Z]
//     ImagePath (REG_EXPAND_SZ) = System32\\drivers\\tcpip.sys
//
// or with --json a header object ({"hive": {...}}) and then one object per
// key ({"path", "last_written", "class", "values": [{"name", "type", "size",
// "data"}]}). Every name and string in a hive is attacker-controlled: text
// output goes through core::EscapeForTerminal (which doubles backslashes, so
// paths are escaped per name and joined with single ones). A key whose
// subkeys, values or class cannot be read prints the error there (the
// readable ones are still listed) and the walk goes on; a key cell reached a second time (a cycle, or two lists sharing
// a key) is not entered again, and the walk stops descending at depth 512.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/regf.h"
#include "core/util/file.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "triage/archive_commands.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
namespace regf = core::formats::regf;
using json = nlohmann::ordered_json;

constexpr std::uint64_t kMaxHiveFile = std::uint64_t{1} << 31;  // regf offsets are 32-bit
constexpr std::size_t kMaxDepth = 512;
constexpr std::size_t kTextDataBytes = 64;  // binary data shown in text output

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string TypeLabel(std::uint32_t type) {
  const std::string_view name = regf::TypeName(type);
  return name.empty() ? fmt::format("0x{:x}", type) : std::string(name);
}

bool IsText(std::uint32_t type) { return type == regf::kRegSz || type == regf::kRegExpandSz || type == regf::kRegLink; }
bool IsInteger(std::uint32_t type) {
  return type == regf::kRegDword || type == regf::kRegDwordBigEndian || type == regf::kRegQword;
}

// A string inside a quoted, JSON-like list: escaped for the terminal (which
// doubles backslashes), then quotes escaped, so the list reads back unambiguously.
std::string QuotedItem(std::string_view s) {
  std::string out = "\"";
  for (char c : core::EscapeForTerminal(s)) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string TextData(const regf::Value& v) {
  if (IsText(v.type)) return core::EscapeForTerminal(regf::ValueString(v));
  if (v.type == regf::kRegMultiSz) {
    std::string out = "[";
    for (const auto& s : regf::ValueMultiString(v)) out += (out.size() > 1 ? ", " : "") + QuotedItem(s);
    return out + "]";
  }
  if (IsInteger(v.type)) {
    if (auto n = regf::ValueInteger(v)) {
      return v.type == regf::kRegQword ? fmt::format("{} (0x{:016x})", *n, *n) : fmt::format("{} (0x{:08x})", *n, *n);
    }
  }
  if (v.data.empty()) return "(0 bytes)";
  const std::size_t shown = std::min(v.data.size(), kTextDataBytes);
  std::string out = core::ToHex({v.data.data(), shown});
  if (shown < v.data.size()) out += fmt::format(" ... ({} bytes)", v.data.size());
  return out;
}

json JsonValue(const regf::Value& v) {
  json j = {{"name", v.name}, {"type", TypeLabel(v.type)}, {"size", v.declared_size}};
  if (IsText(v.type)) {
    j["data"] = regf::ValueString(v);
  } else if (v.type == regf::kRegMultiSz) {
    j["data"] = regf::ValueMultiString(v);
  } else if (auto n = IsInteger(v.type) ? regf::ValueInteger(v) : std::nullopt) {
    j["data"] = *n;
  } else {
    j["data"] = core::ToHex({v.data.data(), v.data.size()});
  }
  if (!v.error.empty()) j["error"] = v.error;
  return j;
}

// The logs to offer: FILE.LOG, .LOG1, .LOG2 in FILE's folder (names compared
// without regard to ASCII case, as on Windows), then the explicit ones.
std::vector<fs::path> FindLogs(const fs::path& file, const HiveInspectOptions& o) {
  std::vector<fs::path> out;
  if (!o.no_logs) {
    const std::string base = file.filename().string();
    const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
    std::error_code ec;
    std::vector<fs::path> found;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      for (const char* suffix : {".LOG", ".LOG1", ".LOG2"}) {
        if (core::EqualsIgnoreCaseAscii(name, base + suffix) && it->is_regular_file(ec)) found.push_back(it->path());
      }
    }
    std::sort(found.begin(), found.end());
    out = std::move(found);
  }
  for (const auto& l : o.logs) {
    std::error_code ec;
    const bool dup = std::any_of(out.begin(), out.end(), [&](const fs::path& p) { return fs::equivalent(p, l, ec); });
    if (!dup) out.emplace_back(l);
  }
  return out;
}

struct Walker {
  const regf::Hive& hive;
  bool as_json;
  std::ostream& out;
  std::size_t keys = 0, values = 0, errors = 0;

  // Escaped for text, as stored for JSON.
  std::string Join(const std::string& parent, const std::string& name) const {
    return (parent == "\\" ? parent : parent + "\\") + (as_json ? name : core::EscapeForTerminal(name));
  }

  void Walk(const regf::Key& start, const std::string& start_path) {
    struct Item {
      regf::Key key;
      std::string path;
      std::size_t depth;
    };
    std::vector<Item> stack;
    stack.push_back({start, start_path, 0});
    std::unordered_set<std::uint32_t> entered;
    while (!stack.empty()) {
      Item item = std::move(stack.back());
      stack.pop_back();
      const regf::Key& key = item.key;
      std::vector<std::string> problems;
      if (!entered.insert(key.cell).second) {
        problems.push_back(fmt::format(
            "key cell 0x{:x} was reached before (a cycle or a shared subkey); not entered again", key.cell));
        Emit(item.path, key, nullptr, {}, problems);
        continue;
      }
      ++keys;
      auto class_name = hive.ClassName(key);
      if (!class_name) problems.push_back("class name: " + class_name.error().message);
      std::vector<std::string> bad_values, bad_subkeys;
      auto vals = hive.Values(key, &bad_values);
      if (!vals) problems.push_back("values: " + vals.error().message);
      for (const auto& b : bad_values) problems.push_back("value: " + b);
      auto subkeys = hive.Subkeys(key, &bad_subkeys);
      for (const auto& b : bad_subkeys) problems.push_back("subkey: " + b);
      if (!subkeys) {
        problems.push_back("subkeys: " + subkeys.error().message);
      } else if (!subkeys->empty() && item.depth >= kMaxDepth) {
        problems.push_back(
            fmt::format("deeper than {} keys: its {} subkeys are not listed", kMaxDepth, subkeys->size()));
      } else {
        for (auto it = subkeys->rbegin(); it != subkeys->rend(); ++it) {
          std::string child = Join(item.path, it->name);
          stack.push_back({std::move(*it), std::move(child), item.depth + 1});
        }
      }
      static const std::vector<regf::Value> kNone;
      Emit(item.path, key, class_name ? &*class_name : nullptr, vals ? *vals : kNone, problems);
    }
  }

  void Emit(const std::string& path, const regf::Key& key, const std::string* class_name,
            const std::vector<regf::Value>& vals, const std::vector<std::string>& problems) {
    errors += problems.size();
    values += vals.size();
    for (const auto& v : vals) errors += v.error.empty() ? 0 : 1;
    if (as_json) {
      json j = {{"path", path},
                {"last_written", core::FiletimeToIso(key.last_written)},
                {"class", class_name && !class_name->empty() ? json(*class_name) : json(nullptr)}};
      json jv = json::array();
      for (const auto& v : vals) jv.push_back(JsonValue(v));
      j["values"] = std::move(jv);
      if (!problems.empty()) j["errors"] = problems;
      out << Dump(j) << "\n";
      return;
    }
    std::string text = fmt::format("{}  [{}]", path, core::FiletimeToIso(key.last_written));
    if (class_name && !class_name->empty()) text += "  class " + QuotedItem(*class_name);
    text += "\n";
    for (const auto& v : vals) {
      text += fmt::format("  {} ({}) = {}", v.name.empty() ? "(default)" : core::EscapeForTerminal(v.name),
                          TypeLabel(v.type), TextData(v));
      if (!v.error.empty()) text += "  [error: " + core::EscapeForTerminal(v.error) + "]";
      text += "\n";
    }
    for (const auto& p : problems) text += "  error: " + core::EscapeForTerminal(p) + "\n";
    out << text;
  }
};

}  // namespace

int RunInspectHive(const HiveInspectOptions& o, std::ostream& out, std::ostream& err) {
  const fs::path file(o.file);
  auto primary = core::ReadFileBytes(file, kMaxHiveFile);
  if (!primary) {
    err << "inspect hive: " << core::EscapeForTerminal(o.file) << ": " << primary.error().message << "\n";
    return kExitUsage;
  }
  // The base block as the file holds it (Open shows the recovered one).
  auto on_disk = regf::ParseBaseBlock({primary->data(), primary->size()});
  if (!on_disk) {
    err << "inspect hive: " << core::EscapeForTerminal(o.file) << ": " << on_disk.error().message << "\n";
    return kExitProblems;
  }
  // Logs are read only when the primary needs them.
  const std::vector<fs::path> log_paths = FindLogs(file, o);
  std::vector<regf::LogFile> logs;
  std::vector<std::string> log_notes;
  if (on_disk->Dirty()) {
    for (const auto& p : log_paths) {
      auto bytes = core::ReadFileBytes(p, kMaxHiveFile);
      if (!bytes) {
        log_notes.push_back(fmt::format("{}: cannot read: {}", p.string(), bytes.error().message));
        continue;
      }
      logs.push_back({p.filename().string(), std::move(*bytes)});
    }
  }
  auto opened = regf::Hive::Open(std::move(*primary), logs);
  if (!opened) {
    err << "inspect hive: " << core::EscapeForTerminal(o.file) << ": " << opened.error().message << "\n";
    return kExitProblems;
  }
  const regf::Hive& hive = *opened;
  const regf::BaseBlock& h = hive.header();
  const regf::Recovery& rec = hive.recovery();
  auto root = hive.Root();
  if (!root) {
    err << "inspect hive: " << core::EscapeForTerminal(o.file) << ": " << root.error().message << "\n";
    return kExitProblems;
  }

  // --key: follow it name by name, to say which one is missing.
  regf::Key start = *root;
  std::string path = "\\";      // escaped for text, as stored for JSON
  std::string path_raw = "\\";  // as stored, for messages
  std::string_view rest = o.key;
  while (!rest.empty()) {
    const auto sep = rest.find('\\');
    const std::string_view part = rest.substr(0, sep);
    rest = sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 1);
    if (part.empty()) continue;
    // As Hive::Subkey (first name equal but for ASCII case), past unreadable siblings.
    std::vector<std::string> bad;
    auto subkeys = hive.Subkeys(start, &bad);
    if (!subkeys) {
      err << "inspect hive: --key " << core::EscapeForTerminal(o.key) << ": " << core::EscapeForTerminal(path_raw)
          << ": " << subkeys.error().message << "\n";
      return kExitProblems;
    }
    const auto next = std::find_if(subkeys->begin(), subkeys->end(),
                                   [&](const regf::Key& k) { return core::EqualsIgnoreCaseAscii(k.name, part); });
    if (next == subkeys->end()) {
      err << "inspect hive: --key " << core::EscapeForTerminal(o.key) << ": no subkey \""
          << core::EscapeForTerminal(part) << "\" under " << core::EscapeForTerminal(path_raw)
          << (bad.empty() ? "" : fmt::format(" ({} subkeys there cannot be read)", bad.size())) << "\n";
      return kExitUsage;
    }
    start = std::move(*next);
    if (path != "\\") path += '\\';
    path += o.json ? start.name : core::EscapeForTerminal(start.name);
    if (path_raw != "\\") path_raw += '\\';
    path_raw += start.name;
  }

  std::vector<std::string> offered;
  for (const auto& p : log_paths) offered.push_back(p.filename().string());
  std::vector<std::string> notes = log_notes;
  notes.insert(notes.end(), rec.notes.begin(), rec.notes.end());
  if (o.json) {
    json applied = json::array();
    for (const auto& a : rec.applied)
      applied.push_back({{"log", a.log}, {"sequence", a.sequence}, {"pages", a.pages}, {"bytes", a.bytes}});
    json head = {{"file", o.file},
                 {"name", h.file_name},
                 {"root", root->name},
                 {"primary_sequence", on_disk->primary_sequence},
                 {"secondary_sequence", on_disk->secondary_sequence},
                 {"last_written", core::FiletimeToIso(on_disk->last_written)},
                 {"version", fmt::format("{}.{}", h.major_version, h.minor_version)},
                 {"checksum_ok", on_disk->checksum_ok},
                 {"dirty", rec.dirty},
                 {"logs", offered},
                 {"recovery",
                  {{"format", rec.format},
                   {"header_from_log", rec.header_from_log},
                   {"applied", applied},
                   {"sequence_after", json::array({h.primary_sequence, h.secondary_sequence})},
                   {"notes", notes}}}};
    out << Dump({{"hive", head}}) << "\n";
  } else {
    std::string text;
    text += "file: " + core::EscapeForTerminal(o.file) + "\n";
    text += "hive name: " + core::EscapeForTerminal(h.file_name) + "\n";
    text += "root key: " + core::EscapeForTerminal(root->name) + "\n";
    text += fmt::format("sequence: primary {}, secondary {}\n", on_disk->primary_sequence, on_disk->secondary_sequence);
    text += "last written: " + core::FiletimeToIso(on_disk->last_written) + "\n";
    text += fmt::format("version: {}.{}\n", h.major_version, h.minor_version);
    if (!rec.dirty) {
      text += "state: clean\n";
    } else {
      std::string why = on_disk->primary_sequence != on_disk->secondary_sequence ? "sequence numbers differ" : "";
      if (!on_disk->checksum_ok) why += (why.empty() ? "" : ", ") + std::string("base block checksum is wrong");
      text += "state: dirty (" + why + ")\n";
    }
    std::string listed;
    for (const auto& n : offered) listed += (listed.empty() ? "" : ", ") + core::EscapeForTerminal(n);
    text += "logs: " + (listed.empty() ? std::string(o.no_logs ? "none (--no-logs)" : "none found") : listed) +
            (rec.dirty || offered.empty() ? "" : " (not needed: the hive is clean)") + "\n";
    if (rec.dirty) {
      text +=
          fmt::format("recovery: {} log entr{} applied{}", rec.applied.size(), rec.applied.size() == 1 ? "y" : "ies",
                      rec.format.empty() ? "" : " (" + rec.format + " format)");
      if (!rec.applied.empty()) text += fmt::format("; sequence now {}/{}", h.primary_sequence, h.secondary_sequence);
      text += "\n";
      if (rec.header_from_log) text += "  base block taken from a log\n";
      for (const auto& a : rec.applied) {
        text += fmt::format("  applied: {} sequence {}, {} pages, {} bytes\n", core::EscapeForTerminal(a.log),
                            a.sequence, a.pages, a.bytes);
      }
    }
    for (const auto& n : notes) text += "  note: " + core::EscapeForTerminal(n) + "\n";
    text += "\n";
    out << text;
  }

  Walker w{hive, o.json, out};
  w.Walk(start, path);
  if (!o.json) {
    err << fmt::format("{} keys, {} values, {} errors\n", w.keys, w.values, w.errors);
  }
  if (!out) return kExitFatal;
  return w.errors == 0 ? kExitOk : kExitProblems;
}

}  // namespace trawl::triage
