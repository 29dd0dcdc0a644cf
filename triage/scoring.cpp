// SPDX-License-Identifier: Apache-2.0
#include "triage/scoring.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/hash/multi_hasher.h"
#include "core/util/byte_reader.h"
#include "core/util/text.h"
#include "triage/ingest.h"
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

namespace {

// Bumped when what scoring writes changes for the same rules: a case scored
// by an older trawl is then scored again in full.
constexpr std::string_view kScoringVersion = "trawl scoring 2";

std::string RulesFingerprint(const std::vector<Rule>& rules, const std::vector<IocEntry>& iocs,
                             const sigma::Engine* sigma) {
  core::Sha256 h;
  auto add = [&](std::string_view v) {
    const std::string len = fmt::format("{}:", v.size());  // length-prefixed: no two inputs run together
    h.Update(core::AsBytes(len));
    h.Update(core::AsBytes(v));
  };
  add(kScoringVersion);
  for (const Rule& r : rules) {
    for (std::string_view v :
         {std::string_view(r.id), std::string_view(r.file), std::string_view(r.title), std::string_view(r.description),
          std::string_view(r.rationale), std::string_view(r.author), std::string_view(r.entity),
          std::string_view(r.scope), std::string_view(r.query)}) {
      add(v);
    }
    add(std::to_string(r.score));
    add(RefsJson(r).dump());
  }
  add("iocs");
  for (const IocEntry& e : iocs) {
    for (std::string_view v : {std::string_view(e.hash), std::string_view(e.hash_type), std::string_view(e.comment),
                               std::string_view(e.file)}) {
      add(v);
    }
    add(fmt::format("{} {}", e.score, e.line));
  }
  add("sigma");
  if (sigma != nullptr) add(sigma->fingerprint());
  return h.Hex();
}

Result<std::string> CaseMeta(Db& db, std::string_view key) {
  auto s = db.Prepare("SELECT value FROM case_meta WHERE key = ?1");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, key);
  auto row = s->Step();
  if (!row) return std::unexpected(row.error());
  return *row ? s->Text(0) : std::string();
}

std::string IdList(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (std::int64_t id : ids) out += fmt::format("{}{}", out.empty() ? "" : ", ", id);
  return out;
}

// What the host rules of an incremental run read: the changed hosts, their
// collections, and the id ranges of those collections in each table.
struct HostSlice {
  std::vector<std::int64_t> hosts;
  std::vector<std::int64_t> collections;
  std::map<std::string, std::vector<std::pair<std::int64_t, std::int64_t>>> ranges;  // merged, ascending
  std::vector<std::int64_t> unranged;  // collections ingested before ranges were recorded
};

Result<HostSlice> SliceOf(Db& db, const std::vector<std::int64_t>& hosts) {
  HostSlice slice;
  slice.hosts = hosts;
  auto cs = db.Prepare("SELECT id FROM collections WHERE host_id = ?1 ORDER BY id");
  auto rs = db.Prepare("SELECT table_name, first_id, last_id FROM collection_rows WHERE collection_id = ?1");
  if (!cs) return std::unexpected(cs.error());
  if (!rs) return std::unexpected(rs.error());
  std::map<std::string, std::vector<std::pair<std::int64_t, std::int64_t>>> raw;
  for (std::int64_t host : hosts) {
    cs->Bind(1, host);
    while (true) {
      auto row = cs->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      const std::int64_t c = cs->Int(0);
      slice.collections.push_back(c);
      rs->Bind(1, c);
      bool any = false;
      while (true) {
        auto r = rs->Step();
        if (!r) return std::unexpected(r.error());
        if (!*r) break;
        any = true;
        if (rs->Int(1) <= rs->Int(2)) raw[rs->Text(0)].emplace_back(rs->Int(1), rs->Int(2));
      }
      rs->Reset();
      if (!any) slice.unranged.push_back(c);
    }
    cs->Reset();
  }
  // Collections ingested one after another hold adjacent ranges: a batch of
  // archives usually becomes one range per table.
  for (auto& [table, v] : raw) {
    std::sort(v.begin(), v.end());
    auto& out = slice.ranges[table];
    for (const auto& r : v) {
      if (!out.empty() && r.first <= out.back().second + 1)
        out.back().second = std::max(out.back().second, r.second);
      else
        out.push_back(r);
    }
  }
  return slice;
}

// "CREATE VIEW [IF NOT EXISTS] name AS <select>" -> "<select>".
std::optional<std::string> ViewSelect(const std::string& sql) {
  static const std::regex kHead(R"(^\s*CREATE\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?[A-Za-z_][A-Za-z_0-9]*\s+AS\s)",
                                std::regex::icase);
  std::smatch m;
  if (!std::regex_search(sql, m, kHead)) return std::nullopt;
  return sql.substr(static_cast<std::size_t>(m.length(0)));
}

// On a read-only connection: TEMP views named as the host tables (they come
// first in name lookup) that hold only the slice's rows, and TEMP copies of
// the case's views so that those read the slice too. Rules and Sigma then
// read one slice of the case with their SQL unchanged, at a cost that
// follows the slice, not the case.
Result<void> NarrowToSlice(Db& ro, const HostSlice& slice) {
  const std::string hosts = IdList(slice.hosts);
  const std::string collections = IdList(slice.collections);
  std::vector<std::string> sql;
  sql.push_back(fmt::format("CREATE TEMP VIEW hosts AS SELECT * FROM main.hosts WHERE id IN ({})", hosts));
  sql.push_back(
      fmt::format("CREATE TEMP VIEW collections AS SELECT * FROM main.collections WHERE host_id IN ({})", hosts));
  for (const char* t : {"archive_entries", "collection_log"}) {
    sql.push_back(
        fmt::format("CREATE TEMP VIEW {0} AS SELECT * FROM main.{0} WHERE collection_id IN ({1})", t, collections));
  }
  for (const std::string& t : RangedTables()) {
    std::string where;
    if (auto it = slice.ranges.find(t); it != slice.ranges.end()) {
      // Each range's share of the table, given to the planner (likelihood):
      // without it SQLite guesses a rowid range keeps 1/64 of the rows, and
      // from about 64 hosts on preferred a host_id index scan with a lookup
      // per row over the range scan (ioc.3cx_xtrader_filenames: 0.016 s ->
      // 0.20 s at 100 hosts).
      auto max_id = MaxRowId(ro, t);
      if (!max_id) return std::unexpected(max_id.error());
      const double rows = static_cast<double>(std::max<std::int64_t>(*max_id, 1));
      for (const auto& [first, last] : it->second) {
        const double share = std::clamp(static_cast<double>(last - first + 1) / rows, 1e-6, 1.0);
        where += fmt::format("{}(likelihood(id >= {}, {:.8f}) AND id <= {})", where.empty() ? "" : " OR ", first, share,
                             last);
      }
    }
    // The host ids too: indexes that lead with host_id (files) serve the slice.
    sql.push_back(fmt::format("CREATE TEMP VIEW {0} AS SELECT * FROM main.{0} WHERE ({1}) AND host_id IN ({2})", t,
                              where.empty() ? "0" : where, hosts));
  }
  const auto ranged = RangedTables();
  auto views = ro.Prepare("SELECT name, sql FROM main.sqlite_schema WHERE type = 'view' ORDER BY rowid");
  if (!views) return std::unexpected(views.error());
  while (true) {
    auto row = views->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const std::string name = views->Text(0);
    if (std::find(ranged.begin(), ranged.end(), name) != ranged.end()) continue;  // files: narrowed above
    auto select = ViewSelect(views->Text(1));
    if (!select) {
      return Fail(ErrorCode::kFormat, fmt::format("case view {}: its definition is not CREATE VIEW ... AS", name));
    }
    sql.push_back(fmt::format("CREATE TEMP VIEW \"{}\" AS {}", name, *select));
  }
  for (const std::string& q : sql) {
    if (auto r = ro.Exec(q); !r) return std::unexpected(r.error().WithContext("narrowing the case to the new hosts"));
  }
  return {};
}

// entity_scores and host_scores of `hosts`, from their findings rows.
Result<void> WriteScores(Db& db, const std::set<std::int64_t>& hosts, ScoreSummary* summary) {
  auto fq = db.Prepare(
      "SELECT id, entity_type, entity_key, rule_id, score, message, author FROM findings WHERE host_id = ?1 "
      "ORDER BY id");
  auto es = db.Prepare(
      "INSERT INTO entity_scores (host_id, entity_type, entity_key, score, score_int, level, reasons) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  auto hs =
      db.Prepare("INSERT INTO host_scores (host_id, score, level, entities, findings) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!fq) return std::unexpected(fq.error());
  if (!es) return std::unexpected(es.error());
  if (!hs) return std::unexpected(hs.error());
  // Per entity: per rule, the strongest hit (one reason per rule, as THOR).
  struct Reason {
    std::string rule_id, author, message;
    int score = 0;
    std::int64_t finding_id = 0;
  };
  auto rank = [](const std::string& l) { return l == "alert" ? 3 : l == "warning" ? 2 : l == "notice" ? 1 : 0; };
  for (std::int64_t host_id : hosts) {
    std::map<std::pair<std::string, std::string>, std::map<std::string, Reason>> entities;
    std::uint64_t findings = 0;
    fq->Bind(1, host_id);
    while (true) {
      auto row = fq->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      ++findings;
      auto& reasons = entities[{fq->Text(1), fq->Text(2)}];
      const std::string rule_id = fq->Text(3);
      const int score = static_cast<int>(fq->Int(4));
      auto it = reasons.find(rule_id);
      if (it == reasons.end() || std::abs(score) > std::abs(it->second.score)) {
        reasons[rule_id] = Reason{rule_id, fq->Text(6), fq->Text(5), score, fq->Int(0)};
      }
    }
    fq->Reset();
    if (findings == 0) continue;
    double host_score = 0;
    std::string host_level = "info";
    for (const auto& [key, reasons] : entities) {
      const auto& [type, entity_key] = key;
      std::vector<const Reason*> ordered;
      std::vector<double> subs;
      double max_sub = 0;
      for (const auto& [id, r] : reasons) {
        ordered.push_back(&r);
        subs.push_back(r.score);
        max_sub = std::max(max_sub, static_cast<double>(r.score));
      }
      std::stable_sort(ordered.begin(), ordered.end(),
                       [](const Reason* a, const Reason* b) { return a->score > b->score; });
      const double total = CombineScores(subs);
      const std::string level = LevelFor(total, max_sub);
      // As nlohmann would dump [{rule_id, score, message, author, finding_id}]:
      // keys in std::map order, strings escaped by its serializer.
      std::string reasons_json = "[";
      for (const Reason* r : ordered) {
        if (reasons_json.size() > 1) reasons_json += ',';
        reasons_json +=
            fmt::format(R"({{"author":{},"finding_id":{},"message":{},"rule_id":{},"score":{}}})",
                        JsonString(r->author), r->finding_id, JsonString(r->message), JsonString(r->rule_id), r->score);
      }
      reasons_json += ']';
      es->Bind(1, host_id);
      es->Bind(2, std::string_view(type));
      es->Bind(3, std::string_view(entity_key));
      es->Bind(4, total);
      es->Bind(5, static_cast<std::int64_t>(std::llround(total)));
      es->Bind(6, std::string_view(level));
      es->Bind(7, std::string_view(reasons_json));
      TRAWL_TRY_VOID(es->Run());
      ++summary->entities;
      // The host scores its highest entity; its level is the most severe entity level.
      host_score = std::max(host_score, total);
      if (rank(level) > rank(host_level)) host_level = level;
    }
    hs->Bind(1, host_id);
    hs->Bind(2, static_cast<std::int64_t>(std::llround(host_score)));
    hs->Bind(3, std::string_view(host_level));
    hs->Bind(4, static_cast<std::int64_t>(entities.size()));
    hs->Bind(5, static_cast<std::int64_t>(findings));
    TRAWL_TRY_VOID(hs->Run());
  }
  return {};
}

Result<std::vector<std::int64_t>> Ints(Db& db, const std::string& sql, std::optional<std::string_view> bind = {}) {
  auto s = db.Prepare(sql);
  if (!s) return std::unexpected(s.error());
  if (bind) s->Bind(1, *bind);
  std::vector<std::int64_t> out;
  while (true) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(s->Int(0));
  }
  return out;
}

}  // namespace

Result<void> NarrowToHosts(Db& ro, const std::vector<std::int64_t>& hosts) {
  auto slice = SliceOf(ro, hosts);
  if (!slice) return std::unexpected(slice.error());
  return NarrowToSlice(ro, *slice);
}

Result<ScoreSummary> ScoreCase(Db& db, const std::vector<Rule>& rules, const std::vector<IocEntry>& iocs,
                               const sigma::Engine* sigma, const ScoreScope& scope) {
  const auto t0 = std::chrono::steady_clock::now();
  ScoreSummary summary;
  summary.rules = rules.size();
  auto fail = [&](const core::Error& e) -> Result<ScoreSummary> {
    (void)db.Exec("ROLLBACK");
    return std::unexpected(e);
  };
  // 0. Whole case or the changed hosts: only when the rule set is the one the
  // case was last scored with, and every collection of those hosts has its
  // row ranges.
  const std::string fingerprint = RulesFingerprint(rules, iocs, sigma);
  bool full = scope.full;
  HostSlice slice;
  if (!full) {
    auto stored = CaseMeta(db, "rules_fingerprint");
    if (!stored) return std::unexpected(stored.error());
    std::vector<std::int64_t> hosts = scope.hosts;
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
    if (stored->empty()) {
      full = true;
      summary.full_reason = "the case was not scored before (or by an older trawl-triage)";
    } else if (*stored != fingerprint) {
      full = true;
      summary.full_reason = "the rules, IOC lists or Sigma rules differ from the last scoring run";
    } else if (hosts.empty()) {
      summary.unchanged = true;  // nothing new: the findings stand
      summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return summary;
    } else {
      auto sl = SliceOf(db, hosts);
      if (!sl) return std::unexpected(sl.error());
      slice = std::move(*sl);
      if (!slice.unranged.empty()) {
        full = true;
        summary.full_reason = fmt::format(
            "{} collection(s) of these hosts were ingested before trawl-triage "
            "recorded row ranges",
            slice.unranged.size());
      }
    }
  }
  summary.incremental = !full;
  // 1. IOC lists, so rules can read them (committed before the read-only
  // pass). An incremental run has the same lists (the fingerprint).
  if (full) {
    TRAWL_TRY_VOID(db.Exec("BEGIN IMMEDIATE"));
    if (auto r = db.Exec("DELETE FROM user_iocs"); !r) return fail(r.error());
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
    if (auto r = db.Exec("COMMIT"); !r) return fail(r.error());
  }
  // 2. Rules, read-only. Host rules (and Sigma, which matches one record at
  // a time) read the slice of the changed hosts; fleet rules the whole case.
  std::vector<std::pair<const Rule*, std::vector<Hit>>> results;
  std::vector<Rule> sigma_rules;  // outlives `results`' pointers into it
  std::vector<std::size_t> sigma_index;
  const std::set<std::int64_t> slice_hosts(slice.hosts.begin(), slice.hosts.end());
  auto in_slice = [&](std::int64_t host) { return full || slice_hosts.contains(host); };
  {
    auto ro = Db::Open(db.path(), Db::Mode::kReadOnly);
    if (!ro) return std::unexpected(ro.error());
    if (!full) {
      if (auto r = NarrowToSlice(**ro, slice); !r) return std::unexpected(r.error());
    }
    (*ro)->SetReadOnlyAuthorizer(true);
    std::unique_ptr<Db> whole;  // fleet rules of an incremental run
    // TRAWL_RULE_TIMING=1: each rule's time on stderr (for rule authors and benchmarks).
    const char* timing_env = std::getenv("TRAWL_RULE_TIMING");
    const bool rule_timing = timing_env != nullptr && std::string_view(timing_env) == "1";
    for (const auto& rule : rules) {
      Db* conn = ro->get();
      if (rule.scope == "fleet") {
        ++summary.fleet_rules;
        if (!full) {
          if (!whole) {
            auto w = Db::Open(db.path(), Db::Mode::kReadOnly);
            if (!w) return std::unexpected(w.error());
            whole = std::move(*w);
            whole->SetReadOnlyAuthorizer(true);
          }
          conn = whole.get();
        }
      }
      const auto r0 = std::chrono::steady_clock::now();
      auto hits = RunRule(*conn, rule);
      if (!hits) return std::unexpected(hits.error());
      if (rule_timing) {
        std::cerr << fmt::format("rule {}: {:.3f} s\n", rule.id,
                                 std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count());
      }
      if (rule.scope != "fleet") {
        // A host rule speaks for the hosts it read; anything else it returns is dropped.
        std::erase_if(*hits, [&](const Hit& h) { return !in_slice(h.host_id); });
      }
      results.emplace_back(&rule, std::move(*hits));
    }
    if (sigma != nullptr) {
      const auto s0 = std::chrono::steady_clock::now();
      sigma_rules = SigmaRules(*sigma, &sigma_index);
      auto hits = RunSigmaOverCase(**ro, *sigma, &summary.sigma);
      if (!hits) return std::unexpected(hits.error());
      std::vector<std::vector<Hit>> per_rule(sigma_rules.size());
      for (SigmaHit& sh : *hits) {
        if (!in_slice(sh.host_id)) continue;
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
  // 3. Findings and scores, one transaction. A full run rewrites them; an
  // incremental one replaces the changed hosts' findings and every fleet
  // rule's, then rebuilds the scores of the hosts either touched.
  TRAWL_TRY_VOID(db.Exec("BEGIN IMMEDIATE"));
  std::set<std::int64_t> rescored(slice.hosts.begin(), slice.hosts.end());
  std::vector<std::string> deferred;
  if (full) {
    for (const char* t : {"findings", "entity_scores", "host_scores"}) {
      if (auto r = db.Exec(fmt::format("DELETE FROM {}", t)); !r) return fail(r.error());
    }
    // findings is rewritten whole: its index is built once, after the rows.
    auto dropped = DropFullIndexes(db, "findings");
    if (!dropped) return fail(dropped.error());
    deferred = std::move(*dropped);
  } else {
    auto del_host = db.Prepare("DELETE FROM findings WHERE host_id = ?1");
    if (!del_host) return fail(del_host.error());
    for (std::int64_t h : slice.hosts) {
      del_host->Bind(1, h);
      if (auto r = del_host->Run(); !r) return fail(r.error());
    }
    auto del_rule = db.Prepare("DELETE FROM findings WHERE rule_id = ?1");
    if (!del_rule) return fail(del_rule.error());
    for (const Rule& rule : rules) {
      if (rule.scope != "fleet") continue;
      auto had = Ints(db, "SELECT DISTINCT host_id FROM findings WHERE rule_id = ?1", rule.id);
      if (!had) return fail(had.error());
      rescored.insert(had->begin(), had->end());
      del_rule->Bind(1, std::string_view(rule.id));
      if (auto r = del_rule->Run(); !r) return fail(r.error());
    }
  }
  for (const char* t : {"rules", "sigma_refusals"}) {
    if (auto r = db.Exec(fmt::format("DELETE FROM {}", t)); !r) return fail(r.error());
  }
  auto rs = db.Prepare(
      "INSERT INTO rules (id, file, title, description, rationale, author, refs, score, entity, query) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  auto fs = db.Prepare(
      "INSERT INTO findings (host_id, rule_id, rule_file, entity_type, entity_key, record_table, "
      "record_id, score, message, author, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!rs) return fail(rs.error());
  if (!fs) return fail(fs.error());
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
      rescored.insert(h.host_id);
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
  for (const auto& sql : deferred) {
    if (auto r = db.Exec(sql); !r) return fail(r.error());
  }
  if (!full) {
    for (const char* t : {"entity_scores", "host_scores"}) {
      auto del = db.Prepare(fmt::format("DELETE FROM {} WHERE host_id = ?1", t));
      if (!del) return fail(del.error());
      for (std::int64_t h : rescored) {
        del->Bind(1, h);
        if (auto r = del->Run(); !r) return fail(r.error());
      }
    }
  }
  if (auto w = WriteScores(db, rescored, &summary); !w) return fail(w.error());
  summary.hosts_scored = rescored.size();
  // Hosts without findings still appear, with score 0.
  if (auto r = db.Exec("INSERT OR IGNORE INTO host_scores (host_id, score, level, entities, findings) "
                       "SELECT id, 0, 'info', 0, 0 FROM hosts");
      !r) {
    return fail(r.error());
  }
  {
    auto m = db.Prepare("INSERT OR REPLACE INTO case_meta (key, value) VALUES ('rules_fingerprint', ?1)");
    if (!m) return fail(m.error());
    m->Bind(1, std::string_view(fingerprint));
    if (auto r = m->Run(); !r) return fail(r.error());
  }
  if (auto r = db.Exec("COMMIT"); !r) return fail(r.error());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace trawl::triage
