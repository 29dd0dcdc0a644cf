// SPDX-License-Identifier: Apache-2.0
#include "triage/scoring.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/util/text.h"
#include "triage/tabular.h"

namespace trawl::triage {

using core::ErrorCode;
using core::Fail;
using core::Result;
using nlohmann::json;

namespace {
// A runaway rule (a cross join) must not exhaust memory.
constexpr std::size_t kMaxHitsPerRule = 200000;
}  // namespace

double CombineScores(std::span<const double> sub_scores) {
  std::vector<double> pos;
  double negative = 0;
  for (double s : sub_scores) {
    if (s > 0)
      pos.push_back(s);
    else
      negative += s;
  }
  std::sort(pos.begin(), pos.end(), std::greater<>());
  double product = 1.0;
  double weight = 1.0;
  for (double s : pos) {
    product *= 1.0 - s / 100.0 / weight;
    weight *= 2.0;
  }
  double total = std::min(100.0, 100.0 * (1.0 - product));
  total += negative;
  return std::max(0.0, total);
}

std::string LevelFor(double total, double max_sub_score) {
  const double rounded = std::round(total);
  if (rounded >= 80 && max_sub_score > 75) return "alert";
  if (rounded >= 60) return "warning";
  if (rounded >= 40) return "notice";
  return "info";
}

namespace {

struct Hit {
  std::int64_t host_id = 0;
  std::string entity_key;
  std::string record_table;
  std::int64_t record_id = 0;
  bool has_record = false;
  int score = 0;
  std::string message;
  std::string evidence;  // JSON object text
  std::string entity;    // when not the rule's (Sigma: event, process or module)
};

Result<Stmt> PrepareRule(Db& ro, const Rule& rule) {
  auto s = ro.Prepare(rule.query);
  if (!s) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{}:{}: rule {}: query refused or invalid: {}", rule.file,
                                                         rule.query_line, rule.id, s.error().message));
  }
  if (!s->ReadOnly()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{}:{}: rule {}: query is not read-only", rule.file, rule.query_line, rule.id));
  }
  bool host = false, key = false;
  for (int i = 0; i < s->ColumnCount(); ++i) {
    host = host || s->ColumnName(i) == "host_id";
    key = key || s->ColumnName(i) == "entity_key";
  }
  if (!host || !key) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{}:{}: rule {}: the query must return columns host_id and entity_key", rule.file,
                            rule.query_line, rule.id));
  }
  return s;
}

// As json(text).dump() with error_handler replace.
std::string JsonString(const std::string& text) {
  std::string out;
  if (AppendPlainJsonString(text, out)) return out;
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

// What each result column of a rule is for, worked out once per query.
enum class ColumnRole { kHostId, kEntityKey, kRecordTable, kRecordId, kScore, kMessage, kEvidence };

Result<std::vector<Hit>> RunRule(Db& ro, const Rule& rule) {
  auto s = PrepareRule(ro, rule);
  if (!s) return std::unexpected(s.error());
  std::vector<Hit> hits;
  const int n = s->ColumnCount();
  std::vector<ColumnRole> roles(static_cast<std::size_t>(n), ColumnRole::kEvidence);
  // Evidence is a JSON object written as nlohmann would dump it: keys in
  // std::map order, a repeated name keeps its last column.
  std::map<std::string, int> evidence_columns;
  for (int i = 0; i < n; ++i) {
    const std::string name = s->ColumnName(i);
    auto& role = roles[static_cast<std::size_t>(i)];
    if (name == "host_id")
      role = ColumnRole::kHostId;
    else if (name == "entity_key")
      role = ColumnRole::kEntityKey;
    else if (name == "record_table")
      role = ColumnRole::kRecordTable;
    else if (name == "record_id")
      role = ColumnRole::kRecordId;
    else if (name == "score")
      role = ColumnRole::kScore;
    else if (name == "message")
      role = ColumnRole::kMessage;
    else
      evidence_columns[name] = i;
  }
  std::vector<std::pair<std::string, int>> evidence;  // '"key":' and its column
  for (const auto& [name, i] : evidence_columns) evidence.emplace_back(JsonString(name) + ":", i);
  while (true) {
    auto row = s->Step();
    if (!row) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}:{}: rule {}: {}", rule.file, rule.query_line, rule.id, row.error().message));
    }
    if (!*row) break;
    if (hits.size() >= kMaxHitsPerRule) {
      return Fail(ErrorCode::kLimit, fmt::format("{}: rule {}: more than {} results; make the query more specific",
                                                 rule.file, rule.id, kMaxHitsPerRule));
    }
    Hit h;
    h.record_table = std::string(EntityTable(rule.entity));
    h.score = rule.score;
    for (int i = 0; i < n; ++i) {
      switch (roles[static_cast<std::size_t>(i)]) {
        case ColumnRole::kHostId: h.host_id = s->Int(i); break;
        case ColumnRole::kEntityKey: h.entity_key = core::RepairUtf8(s->Text(i)); break;
        case ColumnRole::kRecordTable: h.record_table = s->Text(i); break;
        case ColumnRole::kRecordId:
          h.has_record = !s->IsNull(i);
          h.record_id = s->Int(i);
          break;
        case ColumnRole::kScore:
          if (!s->IsNull(i)) h.score = static_cast<int>(std::clamp<std::int64_t>(s->Int(i), -100, 100));
          break;
        case ColumnRole::kMessage: h.message = core::RepairUtf8(s->Text(i)); break;
        case ColumnRole::kEvidence: break;
      }
    }
    if (h.message.empty()) h.message = rule.title;
    if (h.score == 0) continue;  // a zero sub-score carries no weight (formula ignores it)
    std::string ev(1, '{');
    for (const auto& [key, i] : evidence) {
      if (ev.size() > 1) ev.push_back(',');
      ev.append(key).append(CellJsonText(*s, i));
    }
    ev.push_back('}');
    h.evidence = std::move(ev);
    hits.push_back(std::move(h));
  }
  return hits;
}

json RefsJson(const Rule& r) {
  json refs = json::array();
  for (const auto& ref : r.references) {
    json j = {{"title", ref.title}};
    if (!ref.url.empty()) j["url"] = ref.url;
    if (!ref.source.empty()) j["source"] = ref.source;
    refs.push_back(j);
  }
  return refs;
}

}  // namespace

// The rules rows of a Sigma engine's rules (id "sigma.<id>", or of the file
// when the rule has none; a repeated id keeps its first rule).
std::vector<Rule> SigmaRules(const sigma::Engine& engine, std::vector<std::size_t>* index_of) {
  std::vector<Rule> out;
  std::map<std::string, std::size_t> seen;
  index_of->assign(engine.size(), 0);
  for (std::size_t i = 0; i < engine.size(); ++i) {
    const sigma::RuleInfo& info = engine.rule(i);
    std::string id = "sigma." + (info.id.empty() ? std::filesystem::path(info.file).stem().string() : info.id);
    if (auto it = seen.find(id); it != seen.end()) {
      (*index_of)[i] = it->second;
      continue;
    }
    Rule r;
    r.id = id;
    r.file = info.file;
    r.title = info.title;
    r.description = info.description;
    r.author = info.author.empty() ? "unknown (Sigma rule without author)" : info.author;
    r.license = "Sigma rule: see its file";
    for (const auto& ref : info.references) r.references.push_back({ref, ref, ""});
    r.score = SigmaLevelScore(info.level);
    r.entity = "event";
    r.query = fmt::format("(Sigma rule, level {}, log source {})", info.level, info.logsource.ToString());
    seen.emplace(id, out.size());
    (*index_of)[i] = out.size();
    out.push_back(std::move(r));
  }
  return out;
}

Result<void> CheckRuleSql(Db& ro, const Rule& rule) {
  auto s = PrepareRule(ro, rule);
  if (!s) return std::unexpected(s.error());
  return {};
}

Result<ScoreSummary> ScoreCase(Db& db, const std::vector<Rule>& rules, const std::vector<IocEntry>& iocs,
                               const sigma::Engine* sigma) {
  const auto t0 = std::chrono::steady_clock::now();
  ScoreSummary summary;
  summary.rules = rules.size();
  // 1. IOC lists, so rules can read them (committed before the read-only pass).
  TRAWL_TRY_VOID(db.Exec("BEGIN IMMEDIATE"));
  auto fail = [&](const core::Error& e) -> Result<ScoreSummary> {
    (void)db.Exec("ROLLBACK");
    return std::unexpected(e);
  };
  if (auto r = db.Exec("DELETE FROM user_iocs"); !r) return fail(r.error());
  {
    auto s = db.Prepare(
        "INSERT INTO user_iocs (hash, hash_type, score, comment, source_file, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!s) return fail(s.error());
    for (const auto& e : iocs) {
      s->Bind(1, std::string_view(e.hash));
      s->Bind(2, std::string_view(e.hash_type));
      s->Bind(3, static_cast<std::int64_t>(e.score));
      s->Bind(4, std::string_view(e.comment));
      s->Bind(5, std::string_view(e.file));
      s->Bind(6, static_cast<std::int64_t>(e.line));
      if (auto r = s->Run(); !r) return fail(r.error());
    }
  }
  if (auto r = db.Exec("COMMIT"); !r) return fail(r.error());
  // 2. Rules, read-only.
  std::vector<std::pair<const Rule*, std::vector<Hit>>> results;
  std::vector<Rule> sigma_rules;  // outlives `results`' pointers into it
  std::vector<std::size_t> sigma_index;
  {
    auto ro = Db::Open(db.path(), Db::Mode::kReadOnly);
    if (!ro) return std::unexpected(ro.error());
    (*ro)->SetReadOnlyAuthorizer(true);
    for (const auto& rule : rules) {
      auto hits = RunRule(**ro, rule);
      if (!hits) return std::unexpected(hits.error());
      results.emplace_back(&rule, std::move(*hits));
    }
    if (sigma != nullptr) {
      const auto s0 = std::chrono::steady_clock::now();
      sigma_rules = SigmaRules(*sigma, &sigma_index);
      auto hits = RunSigmaOverCase(**ro, *sigma, &summary.sigma);
      if (!hits) return std::unexpected(hits.error());
      std::vector<std::vector<Hit>> per_rule(sigma_rules.size());
      for (SigmaHit& sh : *hits) {
        Hit h;
        h.host_id = sh.host_id;
        h.entity = std::move(sh.entity);
        h.entity_key = std::move(sh.entity_key);
        h.record_table = std::move(sh.record_table);
        h.record_id = sh.record_id;
        h.has_record = true;
        h.score = SigmaLevelScore(sigma->rule(sh.rule).level);
        h.message = std::move(sh.message);
        h.evidence = std::move(sh.evidence);
        per_rule[sigma_index[sh.rule]].push_back(std::move(h));
      }
      for (std::size_t i = 0; i < sigma_rules.size(); ++i) {
        summary.sigma_findings += per_rule[i].size();
        results.emplace_back(&sigma_rules[i], std::move(per_rule[i]));
      }
      summary.sigma_rules = sigma->size();
      summary.sigma_refused = sigma->refusals().size();
      summary.rules += sigma_rules.size();
      summary.sigma_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    }
  }
  // 3. Findings and scores, one transaction.
  TRAWL_TRY_VOID(db.Exec("BEGIN IMMEDIATE"));
  for (const char* t : {"findings", "entity_scores", "host_scores", "rules", "sigma_refusals"}) {
    if (auto r = db.Exec(fmt::format("DELETE FROM {}", t)); !r) return fail(r.error());
  }
  // findings is rewritten whole: its index is built once, after the rows.
  auto deferred = DropFullIndexes(db, "findings");
  if (!deferred) return fail(deferred.error());
  auto rs = db.Prepare(
      "INSERT INTO rules (id, file, title, description, rationale, author, refs, score, entity, query) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  auto fs = db.Prepare(
      "INSERT INTO findings (host_id, rule_id, rule_file, entity_type, entity_key, record_table, "
      "record_id, score, message, author, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  auto es = db.Prepare(
      "INSERT INTO entity_scores (host_id, entity_type, entity_key, score, score_int, level, reasons) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  auto hs =
      db.Prepare("INSERT INTO host_scores (host_id, score, level, entities, findings) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!rs) return fail(rs.error());
  if (!fs) return fail(fs.error());
  if (!es) return fail(es.error());
  if (!hs) return fail(hs.error());
  // Per entity: per rule, the strongest hit (one reason per rule, as THOR).
  struct Reason {
    const Rule* rule;
    int score;
    std::string message;
    std::int64_t finding_id;
  };
  std::map<std::tuple<std::int64_t, std::string, std::string>, std::map<std::string, Reason>> entities;
  std::map<std::int64_t, std::uint64_t> findings_per_host;
  for (const auto& [rule, hits] : results) {
    rs->Bind(1, std::string_view(rule->id));
    rs->Bind(2, std::string_view(rule->file));
    rs->Bind(3, std::string_view(rule->title));
    rs->Bind(4, std::string_view(rule->description));
    rs->Bind(5, std::string_view(rule->rationale));
    rs->Bind(6, std::string_view(rule->author));
    rs->Bind(7, std::string_view(RefsJson(*rule).dump()));
    rs->Bind(8, static_cast<std::int64_t>(rule->score));
    rs->Bind(9, std::string_view(rule->entity));
    rs->Bind(10, std::string_view(rule->query));
    if (auto r = rs->Run(); !r) return fail(r.error());
    for (const auto& h : hits) {
      const std::string& entity = h.entity.empty() ? rule->entity : h.entity;
      // Attribution travels with every message (DRL 1.1 for signature-base derived rules).
      const std::string message = fmt::format("{} [rule {} by {}]", h.message, rule->id, rule->author);
      fs->Bind(1, h.host_id);
      fs->Bind(2, std::string_view(rule->id));
      fs->Bind(3, std::string_view(rule->file));
      fs->Bind(4, std::string_view(entity));
      fs->Bind(5, std::string_view(h.entity_key));
      fs->Bind(6, std::string_view(h.record_table));
      if (h.has_record) fs->Bind(7, h.record_id);
      fs->Bind(8, static_cast<std::int64_t>(h.score));
      fs->Bind(9, std::string_view(message));
      fs->Bind(10, std::string_view(rule->author));
      fs->Bind(11, std::string_view(h.evidence));
      if (auto r = fs->Run(); !r) return fail(r.error());
      ++summary.findings;
      ++findings_per_host[h.host_id];
      auto& reasons = entities[{h.host_id, entity, h.entity_key}];
      auto it = reasons.find(rule->id);
      if (it == reasons.end() || std::abs(h.score) > std::abs(it->second.score)) {
        reasons[rule->id] = Reason{rule, h.score, message, db.LastInsertRowId()};
      }
    }
  }
  if (sigma != nullptr) {
    auto rf = db.Prepare(
        "INSERT INTO sigma_refusals (file, rule_id, title, kind, code, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!rf) return fail(rf.error());
    for (const sigma::Refusal& r : sigma->refusals()) {
      rf->Bind(1, std::string_view(r.file));
      rf->Bind(2, std::string_view(r.id));
      rf->Bind(3, std::string_view(r.title));
      rf->Bind(4, sigma::RefusalKindName(r.kind));
      rf->Bind(5, std::string_view(r.code));
      rf->Bind(6, std::string_view(r.reason));
      if (auto run = rf->Run(); !run) return fail(run.error());
    }
  }
  struct HostAgg {
    double score = 0;
    std::string level = "info";
    std::uint64_t entities = 0;
  };
  std::map<std::int64_t, HostAgg> hosts;
  auto rank = [](const std::string& l) { return l == "alert" ? 3 : l == "warning" ? 2 : l == "notice" ? 1 : 0; };
  for (const auto& [key, reasons] : entities) {
    const auto& [host_id, type, entity_key] = key;
    std::vector<const Reason*> ordered;
    std::vector<double> subs;
    double max_sub = 0;
    for (const auto& [id, r] : reasons) {
      ordered.push_back(&r);
      subs.push_back(r.score);
      max_sub = std::max(max_sub, static_cast<double>(r.score));
    }
    std::sort(ordered.begin(), ordered.end(), [](const Reason* a, const Reason* b) { return a->score > b->score; });
    const double total = CombineScores(subs);
    const std::string level = LevelFor(total, max_sub);
    // As nlohmann would dump [{rule_id, score, message, author, finding_id}]:
    // keys in std::map order, strings escaped by its serializer.
    std::string reasons_json = "[";
    for (const Reason* r : ordered) {
      if (reasons_json.size() > 1) reasons_json += ',';
      reasons_json += fmt::format(R"({{"author":{},"finding_id":{},"message":{},"rule_id":{},"score":{}}})",
                                  JsonString(r->rule->author), r->finding_id, JsonString(r->message),
                                  JsonString(r->rule->id), r->score);
    }
    reasons_json += ']';
    es->Bind(1, host_id);
    es->Bind(2, std::string_view(type));
    es->Bind(3, std::string_view(entity_key));
    es->Bind(4, total);
    es->Bind(5, static_cast<std::int64_t>(std::llround(total)));
    es->Bind(6, std::string_view(level));
    es->Bind(7, std::string_view(reasons_json));
    if (auto r = es->Run(); !r) return fail(r.error());
    ++summary.entities;
    auto& agg = hosts[host_id];
    ++agg.entities;
    // The host scores its highest entity; its level is the most severe entity level.
    agg.score = std::max(agg.score, total);
    if (rank(level) > rank(agg.level)) agg.level = level;
  }
  for (const auto& [host_id, agg] : hosts) {
    hs->Bind(1, host_id);
    hs->Bind(2, static_cast<std::int64_t>(std::llround(agg.score)));
    hs->Bind(3, std::string_view(agg.level));
    hs->Bind(4, static_cast<std::int64_t>(agg.entities));
    hs->Bind(5, static_cast<std::int64_t>(findings_per_host[host_id]));
    if (auto r = hs->Run(); !r) return fail(r.error());
  }
  for (const auto& sql : *deferred) {
    if (auto r = db.Exec(sql); !r) return fail(r.error());
  }
  // Hosts without findings still appear, with score 0.
  if (auto r = db.Exec("INSERT OR IGNORE INTO host_scores (host_id, score, level, entities, findings) "
                       "SELECT id, 0, 'info', 0, 0 FROM hosts");
      !r) {
    return fail(r.error());
  }
  if (auto r = db.Exec("COMMIT"); !r) return fail(r.error());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace trawl::triage
