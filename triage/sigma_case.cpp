// SPDX-License-Identifier: Apache-2.0
#include "triage/sigma_case.h"

#include <algorithm>
#include <map>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/util/file.h"
#include "core/util/text.h"
#include "triage/embedded.h"

namespace trawl::triage {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Result;
using nlohmann::json;

constexpr std::string_view kShippedPrefix = "rules/sigma/trawl/";
constexpr std::uint64_t kMaxRuleFile = 4u << 20;

// The owned strings of one event and the views the engine reads.
struct EventBuilder {
  std::vector<std::pair<std::string, std::string>> owned;
  sigma::Event event;

  void Clear() {
    owned.clear();
    event = sigma::Event{};
  }
  void Add(std::string name, std::string value) { owned.emplace_back(std::move(name), std::move(value)); }
  // Adds the value unless it is empty (an absent fact is no field: `|exists` and
  // `null` then mean what they say).
  void AddIf(std::string name, std::string value) {
    if (!value.empty()) Add(std::move(name), std::move(value));
  }
  const sigma::Event& Finish() {
    event.fields.clear();
    event.fields.reserve(owned.size());
    for (const auto& [n, v] : owned) event.fields.push_back({n, v});
    return event;
  }
};

std::string Hashes(const std::string& md5, const std::string& sha1, const std::string& sha256,
                   const std::string& imphash) {
  std::string out;
  auto add = [&](std::string_view name, const std::string& v) {
    if (v.empty()) return;
    if (!out.empty()) out += ',';
    out += name;
    out += '=';
    out += core::ToUpperAscii(v);
  };
  add("MD5", md5);
  add("SHA1", sha1);
  add("SHA256", sha256);
  add("IMPHASH", imphash);
  return out;
}

std::string Os(const std::string& target_os) {
  return core::EqualsIgnoreCaseAscii(target_os, "windows") ? "windows" : core::ToLowerAscii(target_os);
}

// Evaluates one event, appending a hit per matching rule.
class Runner {
 public:
  Runner(const sigma::Engine& engine, std::size_t max_hits) : engine_(engine), eval_(engine), max_hits_(max_hits) {}

  template <typename MakeHit>
  Result<void> Match(const sigma::Event& e, MakeHit&& make) {
    for (std::size_t rule : eval_.Match(e)) {
      if (hits_.size() >= max_hits_) {
        std::size_t top = 0, n = 0;
        for (const auto& [r, c] : per_rule_)
          if (c > n) std::tie(top, n) = std::pair{r, c};
        return Fail(ErrorCode::kLimit,
                    fmt::format("sigma: more than {} matches in the case; rule {} ({}) alone matched {}: refine it or "
                                "leave it out",
                                max_hits_, engine_.rule(top).id, engine_.rule(top).file, n));
      }
      SigmaHit h = make(engine_.rule(rule));
      h.rule = rule;
      ++per_rule_[rule];
      hits_.push_back(std::move(h));
    }
    return {};
  }
  std::vector<SigmaHit>& hits() { return hits_; }

 private:
  const sigma::Engine& engine_;
  sigma::Evaluator eval_;
  std::size_t max_hits_;
  std::vector<SigmaHit> hits_;
  std::map<std::size_t, std::size_t> per_rule_;
};

std::string Head(const sigma::RuleInfo& r) {
  return fmt::format("Sigma '{}' ({})", r.title, r.level.empty() ? "no level" : r.level);
}

json RuleEvidence(const sigma::RuleInfo& r) {
  return {{"sigma_id", r.id}, {"sigma_level", r.level}, {"sigma_status", r.status}, {"sigma_file", r.file}};
}

Result<void> Events(Db& ro, Runner& run, SigmaCaseStats& st) {
  auto s = ro.Prepare(
      "SELECT id, host_id, channel, provider, computer, event_id, record_id, time_created, summary, fields "
      "FROM event_records ORDER BY id");
  if (!s) return std::unexpected(s.error());
  EventBuilder b;
  while (true) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    ++st.events;
    b.Clear();
    const std::string channel = s->Text(2), provider = s->Text(3), computer = s->Text(4);
    b.event.channel = channel;
    b.event.provider = provider;
    b.event.computer = computer;
    if (!s->IsNull(5)) b.event.event_id = static_cast<std::uint32_t>(s->Int(5));
    const json fields = json::parse(s->Text(9), nullptr, false);
    if (fields.is_object()) {
      for (const auto& [name, value] : fields.items()) {
        if (value.is_string()) {
          b.Add(name, value.get<std::string>());
        } else if (value.is_array()) {
          for (const auto& v : value)
            if (v.is_string()) b.Add(name, v.get<std::string>());
        }
      }
    }
    const std::int64_t id = s->Int(0), host = s->Int(1), record_id = s->Int(6);
    const std::string time = s->Text(7), summary = s->Text(8);
    TRAWL_TRY_VOID(run.Match(b.Finish(), [&](const sigma::RuleInfo& r) {
      SigmaHit h;
      h.host_id = host;
      h.entity = "event";
      h.entity_key = fmt::format("{} {} #{}", channel, b.event.event_id.value_or(0), record_id);
      h.record_table = "event_records";
      h.record_id = id;
      h.message = fmt::format("{}: {} event {} (record {}, {}): {}", Head(r), channel, b.event.event_id.value_or(0),
                              record_id, time, summary);
      json ev = RuleEvidence(r);
      ev["channel"] = channel;
      ev["event_id"] = b.event.event_id.value_or(0);
      ev["record_id"] = record_id;
      ev["time"] = time;
      ev["summary"] = summary;
      h.evidence = ev.dump(-1, ' ', false, json::error_handler_t::replace);
      return h;
    }));
  }
  return {};
}

Result<void> Processes(Db& ro, Runner& run, SigmaCaseStats& st) {
  // The parent is the process of the same collection with the parent's pid
  // (a pid reused since is the risk every snapshot tool shares).
  auto s = ro.Prepare(R"SQL(
    SELECT p.id, p.host_id, coalesce(c.target_os, ''), p.pid, p.ppid, coalesce(p.exe, ''), coalesce(p.cmdline, ''),
           coalesce(p.user, ''), coalesce(p.cwd, ''), coalesce(p.integrity, ''), coalesce(p.exe_md5, ''),
           coalesce(p.exe_sha1, ''), coalesce(p.exe_sha256, ''), coalesce(p.exe_imphash, ''),
           coalesce(p.exe_original_filename, ''), coalesce(p.exe_product, ''), coalesce(p.exe_company, ''),
           coalesce(p.exe_description, ''), coalesce(p.exe_file_version, ''),
           coalesce(pp.exe, ''), coalesce(pp.cmdline, ''), coalesce(p.name, '')
      FROM processes p JOIN collections c ON c.id = p.collection_id
      LEFT JOIN processes pp ON pp.collection_id = p.collection_id AND pp.pid = p.ppid AND p.ppid <> p.pid
     ORDER BY p.id)SQL");
  if (!s) return std::unexpected(s.error());
  EventBuilder b;
  while (true) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    ++st.processes;
    b.Clear();
    const std::string channel = "trawl:processes:" + Os(s->Text(2));
    b.event.channel = channel;
    const std::int64_t pid = s->Int(3);
    const std::string exe = s->Text(5), cmdline = s->Text(6), user = s->Text(7);
    b.Add("ProcessId", std::to_string(pid));
    b.Add("ParentProcessId", std::to_string(s->Int(4)));
    b.AddIf("Image", exe);
    b.AddIf("CommandLine", cmdline);
    b.AddIf("User", user);
    b.AddIf("CurrentDirectory", s->Text(8));
    b.AddIf("IntegrityLevel", s->Text(9));
    b.AddIf("Hashes", Hashes(s->Text(10), s->Text(11), s->Text(12), s->Text(13)));
    b.AddIf("OriginalFileName", s->Text(14));
    b.AddIf("Product", s->Text(15));
    b.AddIf("Company", s->Text(16));
    b.AddIf("Description", s->Text(17));
    b.AddIf("FileVersion", s->Text(18));
    b.AddIf("ParentImage", s->Text(19));
    b.AddIf("ParentCommandLine", s->Text(20));
    const std::int64_t id = s->Int(0), host = s->Int(1);
    const std::string shown = exe.empty() ? s->Text(21) : exe;
    TRAWL_TRY_VOID(run.Match(b.Finish(), [&](const sigma::RuleInfo& r) {
      SigmaHit h;
      h.host_id = host;
      h.entity = "process";
      h.entity_key = fmt::format("{} {}", pid, shown);  // as the SQL process rules key it
      h.record_table = "processes";
      h.record_id = id;
      h.message = fmt::format("{}: process {} {}: {}", Head(r), pid, shown, cmdline);
      json ev = RuleEvidence(r);
      ev["pid"] = pid;
      ev["exe"] = exe;
      ev["cmdline"] = cmdline;
      ev["user"] = user;
      h.evidence = ev.dump(-1, ' ', false, json::error_handler_t::replace);
      return h;
    }));
  }
  return {};
}

Result<void> Modules(Db& ro, Runner& run, SigmaCaseStats& st) {
  auto s = ro.Prepare(R"SQL(
    SELECT m.id, m.host_id, m.pid, m.path, coalesce(p.exe, ''), coalesce(m.md5, ''), coalesce(m.sha1, ''),
           coalesce(m.sha256, ''), coalesce(m.pe_imphash, ''), m.pe_signed, coalesce(m.pe_signer, ''),
           m.pe_digest_matches, coalesce(m.pe_original_filename, ''), coalesce(m.pe_product, ''),
           coalesce(m.pe_company, ''), coalesce(m.pe_description, ''), coalesce(m.pe_file_version, ''),
           coalesce(p.user, ''), p.exe_signed, coalesce(p.exe_signer, '')
      FROM modules m JOIN collections c ON c.id = m.collection_id
      LEFT JOIN processes p ON p.collection_id = m.collection_id AND p.pid = m.pid
     WHERE c.target_os = 'windows' AND coalesce(m.path, '') <> ''
     ORDER BY m.id)SQL");
  if (!s) return std::unexpected(s.error());
  EventBuilder b;
  const std::string channel = "trawl:modules:windows";
  while (true) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    ++st.modules;
    b.Clear();
    b.event.channel = channel;
    const std::int64_t pid = s->Int(2);
    const std::string path = s->Text(3), exe = s->Text(4);
    b.Add("ProcessId", std::to_string(pid));
    b.AddIf("Image", exe);
    b.Add("ImageLoaded", path);
    b.AddIf("Hashes", Hashes(s->Text(5), s->Text(6), s->Text(7), s->Text(8)));
    if (!s->IsNull(9)) {
      const bool is_signed = s->Int(9) != 0;
      b.Add("Signed", is_signed ? "true" : "false");
      b.AddIf("Signature", s->Text(10));
      b.Add("SignatureStatus", !is_signed ? "Unavailable" : (!s->IsNull(11) && s->Int(11) != 0) ? "Valid" : "Invalid");
    }
    b.AddIf("OriginalFileName", s->Text(12));
    b.AddIf("Product", s->Text(13));
    b.AddIf("Company", s->Text(14));
    b.AddIf("Description", s->Text(15));
    b.AddIf("FileVersion", s->Text(16));
    b.AddIf("User", s->Text(17));
    // trawl's own fields (not Sysmon's): whether the process's program is signed, and by whom.
    if (!s->IsNull(18)) b.Add("ImageSigned", s->Int(18) != 0 ? "true" : "false");
    b.AddIf("ImageSignature", s->Text(19));
    const std::int64_t id = s->Int(0), host = s->Int(1);
    TRAWL_TRY_VOID(run.Match(b.Finish(), [&](const sigma::RuleInfo& r) {
      SigmaHit h;
      h.host_id = host;
      h.entity = "module";
      h.entity_key = path;  // as the SQL module rules key it
      h.record_table = "modules";
      h.record_id = id;
      h.message = fmt::format("{}: {} loaded {}", Head(r), exe.empty() ? fmt::format("pid {}", pid) : exe, path);
      json ev = RuleEvidence(r);
      ev["pid"] = pid;
      ev["process_exe"] = exe;
      ev["path"] = path;
      h.evidence = ev.dump(-1, ' ', false, json::error_handler_t::replace);
      return h;
    }));
  }
  return {};
}

}  // namespace

int SigmaLevelScore(std::string_view level) {
  const std::string l = core::ToLowerAscii(level);
  if (l == "informational") return 10;
  if (l == "low") return 30;
  if (l == "medium") return 50;
  if (l == "high") return 70;
  if (l == "critical") return 90;
  return 50;
}

Result<sigma::Engine> LoadSigmaEngine(const SigmaSources& sources) {
  auto map = sources.mapping.empty() ? sigma::LogSourceMap::Builtin() : sigma::LogSourceMap::Load(sources.mapping);
  if (!map) return std::unexpected(map.error().WithContext("Sigma log-source mapping"));
  sigma::Engine engine(std::move(*map));
  if (!sources.mapping.empty()) {
    // Matches depend on the mapping too (the fingerprint of a scoring run).
    auto text = core::ReadFileText(sources.mapping, kMaxRuleFile);
    if (!text) return std::unexpected(text.error());
    engine.AddFingerprint(*text);
  }
  if (sources.builtin) {
    for (const auto& f : EmbeddedTriageFiles()) {
      if (!f.path.starts_with(kShippedPrefix)) continue;
      (void)engine.AddRule(f.text, fmt::format("builtin:{}", f.path));  // a refusal is kept in the engine
    }
  }
  for (const auto& path : sources.rules) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      TRAWL_TRY_VOID(engine.AddRuleDir(path));
      continue;
    }
    auto text = core::ReadFileText(path, kMaxRuleFile);
    if (!text) return std::unexpected(text.error());
    (void)engine.AddRule(*text, path.string());
  }
  return engine;
}

Result<std::vector<SigmaHit>> RunSigmaOverCase(Db& ro, const sigma::Engine& engine, SigmaCaseStats* stats,
                                               std::size_t max_hits) {
  SigmaCaseStats st;
  Runner run(engine, max_hits);
  if (engine.size() > 0) {
    TRAWL_TRY_VOID(Events(ro, run, st));
    TRAWL_TRY_VOID(Processes(ro, run, st));
    TRAWL_TRY_VOID(Modules(ro, run, st));
  }
  st.matches = run.hits().size();
  if (stats != nullptr) *stats = st;
  return std::move(run.hits());
}

}  // namespace trawl::triage
