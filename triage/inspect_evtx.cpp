// SPDX-License-Identifier: Apache-2.0
// trawl-triage inspect evtx FILE... [--json]: every record of Windows event
// logs, read with core/formats/evtx (chunk slack and damaged chunks
// recovered, flagged). trawl-triage sigma --rules PATH... FILE.evtx...: Sigma
// rules (triage/sigma.h) over those records, one line per match; rules the
// engine cannot evaluate are listed by id with the reason, never dropped.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/formats/evtx.h"
#include "core/util/exit_codes.h"
#include "core/util/file.h"
#include "core/util/read_at.h"
#include "core/util/text.h"
#include "triage/archive_commands.h"
#include "triage/sigma.h"
#include "triage/sigma_case.h"

namespace trawl::triage {

namespace evtx = core::formats::evtx;
using nlohmann::json;

namespace {

json RecordJson(const std::string& file, const evtx::Record& r) {
  json fields = json::array();
  for (const evtx::Field& f : r.fields) fields.push_back({{"name", f.name}, {"value", f.value}});
  json j = {{"file", file},
            {"record_id", r.record_id},
            {"time_created", r.time_created},
            {"event_id", r.event_id},
            {"level", r.level},
            {"channel", r.channel},
            {"provider", r.provider},
            {"computer", r.computer},
            {"user_sid", r.user_sid},
            {"process_id", r.process_id},
            {"thread_id", r.thread_id},
            {"fields", std::move(fields)}};
  if (r.recovered) j["recovered"] = true;
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

// Reads one file, calling fn per record; the file's problems go to err.
// False when the file could not be read as an event log at all.
bool ForFile(const std::string& file, std::ostream& err, const std::function<void(const evtx::Record&)>& fn) {
  auto src = core::OpenFileSource(file);
  if (!src) {
    err << "trawl-triage: " << src.error().message << "\n";
    return false;
  }
  auto stats = evtx::ForEachRecord(**src, fn);
  if (!stats) {
    err << "trawl-triage: " << file << ": " << stats.error().message << "\n";
    return false;
  }
  for (const std::string& p : stats->problems) err << file << ": " << p << "\n";
  if (stats->problems_dropped > 0) err << file << ": " << stats->problems_dropped << " more problems\n";
  if (stats->records_bad > 0) err << file << ": " << stats->records_bad << " records could not be read\n";
  return true;
}

}  // namespace

int RunInspectEvtx(const std::vector<std::string>& files, bool as_json, std::ostream& out, std::ostream& err) {
  int rc = core::kExitOk;
  for (const std::string& file : files) {
    std::uint64_t n = 0;
    const bool ok = ForFile(file, err, [&](const evtx::Record& r) {
      ++n;
      if (as_json) {
        out << RecordJson(file, r).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        return;
      }
      out << fmt::format("{} #{} {} {} {}{}", r.time_created, r.record_id, r.channel, r.event_id, r.provider,
                         r.recovered ? " (recovered)" : "");
      for (const evtx::Field& f : r.fields) out << " " << f.name << "=" << core::RepairUtf8(f.value);
      out << "\n";
    });
    if (!ok) rc = core::kExitProblems;
    if (!as_json) out << file << ": " << n << " records\n";
  }
  return rc;
}

int RunSigma(const SigmaOptions& o, std::ostream& out, std::ostream& err) {
  SigmaSources sources;
  sources.rules.assign(o.rules.begin(), o.rules.end());
  sources.mapping = o.mapping;
  sources.builtin = false;  // the rules asked for, only
  auto loaded = LoadSigmaEngine(sources);
  if (!loaded) {
    err << "trawl-triage: " << loaded.error().message << "\n";
    return core::kExitUsage;
  }
  const sigma::Engine& engine = *loaded;
  for (const sigma::Refusal& r : engine.refusals()) {
    err << fmt::format("refused {} ({}): {}: {}\n", r.id.empty() ? "-" : r.id, r.file, sigma::RefusalKindName(r.kind),
                       r.reason);
  }
  err << fmt::format("{} rules loaded, {} refused\n", engine.size(), engine.refusals().size());
  sigma::Evaluator evaluator(engine);
  std::uint64_t matches = 0;
  int rc = core::kExitOk;
  for (const std::string& file : o.files) {
    const bool ok = ForFile(file, err, [&](const evtx::Record& r) {
      sigma::Event e;
      e.channel = r.channel;
      e.provider = r.provider;
      e.computer = r.computer;
      e.event_id = r.event_id;
      for (const evtx::Field& f : r.fields) e.fields.push_back({f.name, f.value});
      for (std::size_t i : evaluator.Match(e)) {
        ++matches;
        const sigma::RuleInfo& rule = engine.rule(i);
        if (o.json) {
          json j = {{"rule_id", rule.id},     {"title", rule.title},  {"level", rule.level},
                    {"author", rule.author},  {"file", file},         {"record_id", r.record_id},
                    {"event_id", r.event_id}, {"channel", r.channel}, {"time", r.time_created}};
          out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        } else {
          out << fmt::format("{} {} [{}] {} ({}; {}) {} #{} {}\n", r.time_created, rule.level, rule.id, rule.title,
                             rule.author, rule.file, file, r.record_id, r.event_id);
        }
      }
    });
    if (!ok) rc = core::kExitProblems;
  }
  err << fmt::format("{} matches\n", matches);
  return rc;
}

}  // namespace trawl::triage
