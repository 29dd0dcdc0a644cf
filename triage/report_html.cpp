// SPDX-License-Identifier: Apache-2.0
// The HTML report (trawl-triage report --format html): one self-contained
// page an analyst works from. First screen: hosts by verdict and what was
// collected from each, then the key findings with their evidence (path,
// hashes, signature, PE version and compile time, the rules that fired and
// why, where else in the fleet the same hash or name is). Then a timeline
// picture (inline SVG) around the key findings, the rarest files, modules
// and prefetch entries across hosts, every scored entity (searchable and
// filterable by level), the collections and the rules.
//
// Every string from a case is hostile: all of it goes through HtmlEscape,
// nothing from data is ever placed in a script, a URL, a style or an event
// attribute. The only script is kScript below, a constant; the page's CSP
// allows it by its SHA-256 and nothing else (no other script, no network,
// no images, no forms), so a missed escape still could not run.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/util/text.h"
#include "triage/report.h"

namespace trawl::triage {

using core::Result;
using nlohmann::json;

namespace {

// Search (text of a row) and level filter over every row of class "row";
// the count of shown findings goes to #shown. Reads textContent only.
constexpr std::string_view kScript = R"JS(
(function () {
  var q = document.getElementById('q');
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[data-level]'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.row'));
  var shown = document.getElementById('shown');
  function apply() {
    var needle = q.value.trim().toLowerCase();
    var on = {};
    boxes.forEach(function (b) { on[b.getAttribute('data-level')] = b.checked; });
    var n = 0;
    rows.forEach(function (r) {
      var ok = on[r.getAttribute('data-level')] !== false &&
               (needle === '' || r.textContent.toLowerCase().indexOf(needle) >= 0);
      r.hidden = !ok;
      if (ok && r.getAttribute('data-kind') === 'entity') n++;
    });
    shown.textContent = String(n);
    // Hosts with nothing found are folded away; a search that matches one opens them.
    var quiet = document.getElementById('quiet');
    if (quiet && needle !== '' && quiet.querySelector('tr.row:not([hidden])')) quiet.open = true;
  }
  q.addEventListener('input', apply);
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  apply();
})();
)JS";

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#eee}.alert{background:#f8d0d0}.warning{background:#fbe6c2}.notice{background:#fff7c0}"
    ".mono{font-family:monospace;white-space:pre-wrap;word-break:break-all}small{color:#555}"
    "[hidden]{display:none!important}article{border:1px solid #bbb;border-radius:4px;padding:.5em 1em;margin:1em 0}"
    "article h3{margin:.2em 0}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}"
    "dd{margin:0}#controls{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ccc}"
    "svg text{font-size:11px;font-family:sans-serif}.pt{fill:#4a78b5}.pt.key{fill:#c0392b}"
    "nav a{margin-right:1em}";

std::string E(std::string_view s) { return HtmlEscape(s); }

std::string LevelOf(const std::string& level) {
  if (level == "alert" || level == "warning" || level == "notice") return level;
  return "info";
}

// A statement's rows, each a column-name -> text map (NULL: absent).
using Row = std::map<std::string, std::string>;
Result<std::vector<Row>> Query(Db& db, std::string_view sql, const std::vector<std::string>& binds = {}) {
  auto s = db.Prepare(sql);
  if (!s) return std::unexpected(s.error());
  for (std::size_t i = 0; i < binds.size(); ++i) s->Bind(static_cast<int>(i + 1), std::string_view(binds[i]));
  std::vector<Row> rows;
  while (true) {
    auto r = s->Step();
    if (!r) return std::unexpected(r.error());
    if (!*r) break;
    Row row;
    for (int i = 0; i < s->ColumnCount(); ++i) {
      if (!s->IsNull(i)) row[s->ColumnName(i)] = s->Text(i);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Get(const Row& r, const char* key) {
  auto it = r.find(key);
  return it == r.end() ? std::string() : it->second;
}

std::string CspHash(std::string_view script) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(script.data(), script.size(), digest.data(), &len, EVP_sha256(), nullptr);
  std::array<unsigned char, 48> b64{};
  const int n = EVP_EncodeBlock(b64.data(), digest.data(), static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n));
}

// "YYYY-MM-DDTHH:MM:SS..." (UTC) -> seconds since 1970; nullopt otherwise.
std::optional<std::int64_t> IsoSeconds(std::string_view s) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *y < 1970) {
    return std::nullopt;
  }
  // Days from the civil date (H. Hinnant's algorithm).
  const int yy = *y - (*mo <= 2 ? 1 : 0);
  const int era = yy / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (*mo + (*mo > 2 ? -3 : 9)) + 2) / 5 + *d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return days * 86400 + *h * 3600 + *mi * 60 + *se;
}

std::string DateOf(std::int64_t t) {
  const std::int64_t z = t / 86400 + 719468;
  const std::int64_t era = z / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp + (mp < 10 ? 3 : -9);
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
}

struct KeyFinding {
  Row entity;    // entity_scores row with hostname
  json reasons;  // array
  Row finding;   // the top reason's findings row
  Row record;    // the evidence record (files / modules / prefetch), when there is one
  std::string record_table;
};

struct TimePoint {
  std::int64_t t = 0;
  std::string lane;
  std::string text;
  bool key = false;  // the key finding's own record
};

constexpr std::string_view kHostsSql = R"SQL(
  SELECT h.id, h.hostname, h.os, coalesce(s.score, 0) AS score, coalesce(s.level, 'info') AS level,
         coalesce(s.findings, 0) AS findings,
         (SELECT count(*) FROM collections x WHERE x.host_id = h.id) AS collections,
         c.profile_name, c.result, c.limits_hit, c.started, c.target_os, c.live
  FROM hosts h LEFT JOIN host_scores s ON s.host_id = h.id
  LEFT JOIN collections c ON c.id = (SELECT max(y.id) FROM collections y WHERE y.host_id = h.id)
  ORDER BY coalesce(s.findings, 0) = 0, coalesce(s.score, 0) DESC, h.hostname)SQL";

// The evidence record of a key finding and what the case knows of its content.
Result<void> LoadEvidence(Db& db, KeyFinding& k) {
  if (!k.reasons.is_array() || k.reasons.empty()) return {};
  const std::string fid = std::to_string(k.reasons[0].value("finding_id", std::int64_t{0}));
  auto f = Query(db, "SELECT host_id, record_table, record_id, evidence FROM findings WHERE id = ?1", {fid});
  if (!f) return std::unexpected(f.error());
  if (f->empty()) return {};
  k.finding = f->front();
  k.record_table = Get(k.finding, "record_table");
  const std::string rid = Get(k.finding, "record_id");
  if (rid.empty()) return {};
  std::string sql;
  if (k.record_table == "files") {
    sql =
        "SELECT f.path, f.size, f.sha256, f.sha1, f.md5, f.btime, f.mtime, f.is_pe, f.name_lc, f.dir_lc, "
        "coalesce(p.signed, f.pe_signed) AS signed, coalesce(p.signer, f.pe_signer) AS signer, "
        "coalesce(p.digest_matches, f.pe_digest_matches) AS digest_matches, "
        "coalesce(p.timestamp, f.pe_timestamp) AS pe_timestamp, coalesce(p.file_version, f.pe_file_version) AS "
        "file_version, p.product_version, coalesce(p.company_name, f.pe_company) AS company, "
        "coalesce(p.product_name, f.pe_product) AS product, p.padding_anomaly "
        "FROM files f LEFT JOIN pe p ON p.sha256 = f.sha256 WHERE f.id = ?1";
  } else if (k.record_table == "modules") {
    sql =
        "SELECT m.path, m.size, m.sha256, m.sha1, m.md5, m.pid, m.kind, m.perms, m.name_lc, m.dir_lc, "
        "m.pe_signed AS signed, m.pe_signer AS signer, m.pe_digest_matches AS digest_matches, m.pe_timestamp, "
        "m.pe_file_version AS file_version, m.pe_company AS company, m.pe_product AS product, m.region_sha256, "
        "m.region_header FROM modules m WHERE m.id = ?1";
  } else if (k.record_table == "prefetch") {
    sql =
        "SELECT coalesce(path, archive_path) AS path, executable, run_count, last_run, run_times, exe_path "
        "FROM prefetch WHERE id = ?1";
  } else {
    return {};
  }
  auto r = Query(db, sql, {rid});
  if (!r) return std::unexpected(r.error());
  if (!r->empty()) k.record = r->front();
  return {};
}

std::string PeTime(const std::string& v) {
  if (v.empty()) return {};
  std::int64_t t = 0;
  try {
    t = std::stoll(v);
  } catch (...) {
    return v;
  }
  if (t <= 0) return v;
  const std::int64_t s = t % 86400;
  return fmt::format("{}T{:02d}:{:02d}:{:02d}Z ({})", DateOf(t), s / 3600, s % 3600 / 60, s % 60, t);
}

Result<void> WriteKeyFinding(Db& db, const KeyFinding& k, int index, std::ostream& out) {
  const std::string level = LevelOf(Get(k.entity, "level"));
  out << "<article class=\"" << level << "\" id=\"key" << index << "\"><h3>[" << E(level) << " "
      << E(Get(k.entity, "score")) << "] <span class=\"mono\">" << E(Get(k.entity, "hostname")) << "</span> &mdash; "
      << E(Get(k.entity, "entity_type")) << " <span class=\"mono\">" << E(Get(k.entity, "entity_key"))
      << "</span></h3>\n<dl>";
  out << "<dt>Rules fired</dt><dd><ul>";
  if (k.reasons.is_array()) {
    for (const auto& r : k.reasons) {
      out << "<li>" << r.value("score", 0) << " &mdash; <span class=\"mono\">" << E(r.value("message", std::string()))
          << "</span> <small>(" << E(r.value("rule_id", std::string())) << ")</small></li>";
    }
  }
  out << "</ul></dd>";
  const Row& rec = k.record;
  auto field = [&](const char* label, const std::string& v) {
    if (!v.empty()) out << "<dt>" << label << "</dt><dd class=\"mono\">" << E(v) << "</dd>";
  };
  if (!rec.empty()) {
    field("Path", Get(rec, "path"));
    field("Size", Get(rec, "size"));
    field("SHA-256", Get(rec, "sha256"));
    field("SHA-1", Get(rec, "sha1"));
    field("MD5", Get(rec, "md5"));
    field("Created", Get(rec, "btime"));
    field("Modified", Get(rec, "mtime"));
    if (k.record_table != "prefetch") {
      const std::string signed_ = Get(rec, "signed");
      std::string sig = signed_ == "1"   ? "signed"
                        : signed_ == "0" ? "not signed"
                                         : (Get(rec, "is_pe") == "0" ? "not a PE file" : "unknown");
      if (signed_ == "1") {
        sig += Get(rec, "digest_matches") == "1"   ? ", digest matches the file"
               : Get(rec, "digest_matches") == "0" ? ", DIGEST DOES NOT MATCH the file"
                                                   : "";
        if (Get(rec, "padding_anomaly") == "1") sig += ", data after the signature (padding anomaly)";
      }
      field("Signature", sig);
      field("Signer", Get(rec, "signer"));
      field("Company / product",
            Get(rec, "company") + (Get(rec, "product").empty() ? "" : " / " + Get(rec, "product")));
      field("File version", Get(rec, "file_version"));
      field("Product version", Get(rec, "product_version"));
      field("Compile time", PeTime(Get(rec, "pe_timestamp")));
    }
    field("Process", Get(rec, "pid").empty() ? "" : "pid " + Get(rec, "pid"));
    field("Memory", Get(rec, "kind").empty()
                        ? ""
                        : Get(rec, "kind") + " " + Get(rec, "perms") +
                              (Get(rec, "region_header").empty() ? "" : ", " + Get(rec, "region_header") + " header"));
    field("Region SHA-256", Get(rec, "region_sha256"));
    field("Executable", Get(rec, "executable"));
    field("Run count", Get(rec, "run_count"));
    field("Last run", Get(rec, "last_run"));
  } else {
    const json ev = json::parse(Get(k.finding, "evidence"), nullptr, false);
    if (ev.is_object()) {
      for (const auto& [key, v] : ev.items()) {
        if (v.is_null()) continue;
        out << "<dt class=\"mono\">" << E(key) << "</dt><dd class=\"mono\">"
            << E(v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace))
            << "</dd>";
      }
    }
  }
  // Where else in the fleet.
  const std::string sha = Get(rec, "sha256");
  if (!sha.empty()) {
    auto hosts = Query(db,
                       "SELECT h.hostname FROM hosts h WHERE h.id IN (SELECT host_id FROM v_hashes WHERE hash = ?1) "
                       "ORDER BY h.hostname",
                       {sha});
    if (!hosts) return std::unexpected(hosts.error());
    std::string names;
    for (std::size_t i = 0; i < hosts->size() && i < 10; ++i) names += (i ? ", " : "") + Get((*hosts)[i], "hostname");
    if (hosts->size() > 10) names += fmt::format(", and {} more", hosts->size() - 10);
    out << "<dt>Same SHA-256 in the fleet</dt><dd>" << hosts->size() << " host(s): <span class=\"mono\">" << E(names)
        << "</span></dd>";
  }
  const std::string name = Get(rec, "name_lc");
  if (!name.empty()) {
    auto n = Query(db, "SELECT count(DISTINCT host_id) AS n, count(DISTINCT sha256) AS h FROM files WHERE name_lc = ?1",
                   {name});
    if (!n) return std::unexpected(n.error());
    out << "<dt>Same file name in the fleet</dt><dd>on " << E(Get(n->front(), "n")) << " host(s), "
        << E(Get(n->front(), "h")) << " distinct SHA-256</dd>";
  }
  out << "</dl></article>\n";
  return {};
}

// Events of the key findings' hosts around the key findings: prefetch runs,
// the birth and modification of files in the key files' folders, process
// starts, Amcache entries and the event records that findings name.
Result<std::vector<TimePoint>> TimelinePoints(Db& db, const std::vector<KeyFinding>& keys) {
  std::vector<TimePoint> points;
  std::set<std::string> hosts;
  std::set<std::pair<std::string, std::string>> dirs;  // host, dir_lc
  auto add = [&](const std::string& when, std::string lane, const std::string& text, bool key) {
    if (auto t = IsoSeconds(when)) points.push_back({*t, std::move(lane), when.substr(0, 19) + "Z " + text, key});
  };
  for (const KeyFinding& k : keys) {
    const std::string host = Get(k.finding, "host_id");
    if (host.empty() || hosts.size() >= 3) continue;
    hosts.insert(host);
    const Row& rec = k.record;
    if (k.record_table == "files") {
      add(Get(rec, "btime"), "file created", Get(rec, "path"), true);
      add(Get(rec, "mtime"), "file modified", Get(rec, "path"), true);
      if (!Get(rec, "dir_lc").empty()) dirs.insert({host, Get(rec, "dir_lc")});
    } else if (k.record_table == "prefetch") {
      add(Get(rec, "last_run"), "prefetch run", Get(rec, "executable"), true);
    }
  }
  for (const auto& [host, dir] : dirs) {
    auto r =
        Query(db, "SELECT path, btime, mtime FROM files WHERE dir_lc = ?1 AND host_id = ?2 LIMIT 200", {dir, host});
    if (!r) return std::unexpected(r.error());
    for (const Row& f : *r) {
      add(Get(f, "btime"), "file created", Get(f, "path"), false);
      add(Get(f, "mtime"), "file modified", Get(f, "path"), false);
    }
  }
  for (const std::string& host : hosts) {
    auto pf = Query(db,
                    "SELECT r.run_time, p.executable FROM prefetch_runs r JOIN prefetch p ON p.id = r.prefetch_id "
                    "WHERE r.host_id = ?1 LIMIT 2000",
                    {host});
    if (!pf) return std::unexpected(pf.error());
    for (const Row& r : *pf) add(Get(r, "run_time"), "prefetch run", Get(r, "executable"), false);
    auto pr = Query(db, "SELECT start_time, pid, exe FROM processes WHERE host_id = ?1 LIMIT 2000", {host});
    if (!pr) return std::unexpected(pr.error());
    for (const Row& r : *pr) add(Get(r, "start_time"), "process start", Get(r, "pid") + " " + Get(r, "exe"), false);
    auto am = Query(db, "SELECT key_last_written, path FROM amcache_files WHERE host_id = ?1 LIMIT 2000", {host});
    if (!am) return std::unexpected(am.error());
    for (const Row& r : *am) add(Get(r, "key_last_written"), "Amcache", Get(r, "path"), false);
    auto ev = Query(db,
                    "SELECT e.time_created, e.channel, e.event_id, e.summary FROM findings f JOIN event_records e "
                    "ON e.id = f.record_id WHERE f.record_table = 'event_records' AND f.host_id = ?1 LIMIT 500",
                    {host});
    if (!ev) return std::unexpected(ev.error());
    for (const Row& r : *ev) {
      add(Get(r, "time_created"), "event",
          Get(r, "channel") + " " + Get(r, "event_id") + ": " + Get(r, "summary").substr(0, 200), true);
    }
  }
  return points;
}

void WriteTimeline(std::vector<TimePoint> points, std::ostream& out) {
  // The window: 30 days either side of the key records (all points when none has a time).
  std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
  for (const auto& p : points) {
    if (!p.key) continue;
    lo = std::min(lo, p.t - 30 * 86400);
    hi = std::max(hi, p.t + 30 * 86400);
  }
  if (lo == std::numeric_limits<std::int64_t>::max()) {
    for (const auto& p : points) {
      lo = std::min(lo, p.t);
      hi = std::max(hi, p.t);
    }
  }
  std::erase_if(points, [&](const TimePoint& p) { return p.t < lo || p.t > hi; });
  if (points.empty()) {
    out << "<p>No dated events around the key findings.</p>\n";
    return;
  }
  std::sort(points.begin(), points.end(), [](const TimePoint& a, const TimePoint& b) { return a.t < b.t; });
  if (points.size() > 800) points.resize(800);
  if (hi <= lo) hi = lo + 1;
  const std::vector<std::string> lanes = {"prefetch run",  "process start", "file created",
                                          "file modified", "Amcache",       "event"};
  const int left = 110, width = 1100, lane_h = 26, top = 10;
  const int height = top + lane_h * static_cast<int>(lanes.size()) + 30;
  auto x = [&](std::int64_t t) {
    return left + static_cast<double>(t - lo) / static_cast<double>(hi - lo) * (width - left - 20);
  };
  out << "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" role=\"img\" aria-label=\"timeline of the events around the key findings\">\n";
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    const int y = top + lane_h * static_cast<int>(i) + lane_h / 2;
    out << "<text x=\"4\" y=\"" << y + 4 << "\">" << E(lanes[i]) << "</text><line x1=\"" << left << "\" y1=\"" << y
        << "\" x2=\"" << width - 20 << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n";
  }
  const int axis_y = top + lane_h * static_cast<int>(lanes.size()) + 14;
  for (int i = 0; i <= 5; ++i) {
    const std::int64_t t = lo + (hi - lo) * i / 5;
    out << fmt::format("<text x=\"{:.0f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x(t), axis_y, DateOf(t));
  }
  for (const auto& p : points) {
    const auto it = std::find(lanes.begin(), lanes.end(), p.lane);
    const int y = top + lane_h * static_cast<int>(it - lanes.begin()) + lane_h / 2;
    out << fmt::format("<circle class=\"pt{}\" cx=\"{:.1f}\" cy=\"{}\" r=\"{}\"><title>", p.key ? " key" : "", x(p.t),
                       y, p.key ? 6 : 4)
        << E(p.lane + ": " + p.text) << "</title></circle>\n";
  }
  out << "</svg>\n<p><small>" << points.size()
      << " event(s); red: the key findings' own records. Hover a point for its time and text.</small></p>\n";
}

Result<void> WriteStackTable(Db& db, std::string_view what, std::ostream& out) {
  std::ostringstream tsv;
  TRAWL_TRY_VOID(WriteStack(db, what, 15, tsv));
  std::istringstream in(tsv.str());
  std::string line;
  bool header = true;
  out << "<table class=\"stack\">";
  while (std::getline(in, line)) {
    out << "<tr>";
    std::size_t from = 0;
    while (true) {
      const auto tab = line.find('\t', from);
      const std::string cell = line.substr(from, tab == std::string::npos ? std::string::npos : tab - from);
      out << (header ? "<th>" : "<td class=\"mono\">") << E(cell) << (header ? "</th>" : "</td>");
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    out << "</tr>\n";
    header = false;
  }
  out << "</table>\n";
  return {};
}

}  // namespace

Result<void> WriteHtmlReport(Db& db, std::ostream& out) {
  auto hosts = Query(db, kHostsSql);
  if (!hosts) return std::unexpected(hosts.error());
  std::map<std::string, int> by_level;
  for (const Row& h : *hosts) ++by_level[LevelOf(Get(h, "level"))];
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "img-src 'none'; script-src 'sha256-"
      << CspHash(kScript)
      << "'; base-uri 'none'; form-action 'none'\">\n"
         "<meta name=\"referrer\" content=\"no-referrer\">\n<title>trawl triage report</title>\n<style>"
      << kStyle << "</style></head><body>\n<h1>trawl triage report</h1>\n";
  out << fmt::format("<p id=\"verdict\">{} host(s): {} alert, {} warning, {} notice, {} info.</p>\n", hosts->size(),
                     by_level["alert"], by_level["warning"], by_level["notice"], by_level["info"]);
  out << "<nav><a href=\"#hosts-h\">Hosts</a><a href=\"#key-h\">Key findings</a><a href=\"#timeline-h\">Timeline</a>"
         "<a href=\"#stack-h\">Stacking</a><a href=\"#all-h\">All findings</a><a href=\"#collections-h\">"
         "Collections</a><a href=\"#rules-h\">Rules</a></nav>\n";
  out << "<div id=\"controls\"><label>Search hosts and findings <input id=\"q\" type=\"search\" size=\"40\" "
         "autocomplete=\"off\"></label> Levels:";
  for (const char* l : {"alert", "warning", "notice", "info"}) {
    out << " <label><input type=\"checkbox\" checked data-level=\"" << l << "\">" << l << "</label>";
  }
  out << " &mdash; <span id=\"shown\">0</span> finding(s) shown</div>\n";

  // Hosts.
  // Hosts with findings first; the ones with none (most of a fleet) folded
  // into a <details> below, so the first screen stays short at 1,000 hosts.
  constexpr std::string_view kHostHead =
      "<thead><tr><th>Score</th><th>Level</th><th>Host</th><th>OS</th><th>Findings</th><th>Collections</th><th>Last "
      "collection: profile, result, started</th><th>Limits hit</th></tr></thead><tbody>\n";
  out << "<h2 id=\"hosts-h\">Hosts by verdict</h2>\n<table id=\"hosts\">" << kHostHead;
  std::size_t quiet = 0;
  for (const Row& h : *hosts) quiet += Get(h, "findings") == "0" ? 1 : 0;
  bool folded = false;
  for (const Row& h : *hosts) {
    if (!folded && Get(h, "findings") == "0") {
      folded = true;
      out << "</tbody></table>\n<details id=\"quiet\"><summary>" << quiet
          << " host(s) with no findings</summary>\n<table id=\"quiet-hosts\">" << kHostHead;
    }
    const std::string level = LevelOf(Get(h, "level"));
    std::string limits;
    const json lim = json::parse(Get(h, "limits_hit"), nullptr, false);
    if (lim.is_array()) {
      for (const auto& l : lim) {
        limits += (limits.empty() ? "" : ", ") +
                  (l.is_string() ? l.get<std::string>() : l.dump(-1, ' ', false, json::error_handler_t::replace));
      }
    }
    out << "<tr class=\"row " << level << "\" data-level=\"" << level << "\" data-kind=\"host\"><td>"
        << E(Get(h, "score")) << "</td><td>" << level << "</td><td class=\"mono\">" << E(Get(h, "hostname"))
        << "</td><td>" << E(Get(h, "os")) << "</td><td>" << E(Get(h, "findings")) << "</td><td>"
        << E(Get(h, "collections")) << "</td><td>" << E(Get(h, "profile_name")) << ", " << E(Get(h, "result")) << ", "
        << E(Get(h, "started")) << "</td><td class=\"mono\">" << E(limits.empty() ? "none" : limits) << "</td></tr>\n";
  }
  out << "</tbody></table>\n" << (folded ? "</details>\n" : "");

  // Key findings: the alerts and warnings (at most 25), else the top 5.
  auto top =
      Query(db,
            "SELECT e.host_id, h.hostname, e.entity_type, e.entity_key, e.score_int AS score, e.level, e.reasons "
            "FROM entity_scores e JOIN hosts h ON h.id = e.host_id ORDER BY e.score DESC, h.hostname, "
            "e.entity_key LIMIT 25");
  if (!top) return std::unexpected(top.error());
  std::vector<KeyFinding> keys;
  for (const Row& e : *top) {
    const std::string level = Get(e, "level");
    if (keys.size() >= 5 && level != "alert" && level != "warning") break;
    KeyFinding k;
    k.entity = e;
    k.reasons = json::parse(Get(e, "reasons"), nullptr, false);
    TRAWL_TRY_VOID(LoadEvidence(db, k));
    keys.push_back(std::move(k));
  }
  out << "<h2 id=\"key-h\">Key findings</h2>\n";
  if (keys.empty()) out << "<p>No findings.</p>\n";
  for (std::size_t i = 0; i < keys.size(); ++i) TRAWL_TRY_VOID(WriteKeyFinding(db, keys[i], static_cast<int>(i), out));

  out << "<h2 id=\"timeline-h\">Timeline around the key findings</h2>\n";
  auto points = TimelinePoints(db, keys);
  if (!points) return std::unexpected(points.error());
  WriteTimeline(std::move(*points), out);

  out << "<h2 id=\"stack-h\">Stacking: the rarest across hosts</h2>\n<h3>Files (path and SHA-256)</h3>\n";
  TRAWL_TRY_VOID(WriteStackTable(db, "files", out));
  out << "<h3>Modules (path and SHA-256)</h3>\n";
  TRAWL_TRY_VOID(WriteStackTable(db, "modules", out));
  out << "<h3>Prefetch (executable and hash)</h3>\n";
  TRAWL_TRY_VOID(WriteStackTable(db, "prefetch", out));

  // Every scored entity (capped), filterable.
  auto ents = Query(db,
                    "SELECT h.hostname, e.entity_type, e.entity_key, e.score_int AS score, e.level, e.reasons "
                    "FROM entity_scores e JOIN hosts h ON h.id = e.host_id ORDER BY e.score DESC, h.hostname, "
                    "e.entity_key LIMIT 5001");
  if (!ents) return std::unexpected(ents.error());
  out << "<h2 id=\"all-h\">All findings</h2>\n<table id=\"findings\"><thead><tr><th>Score</th><th>Level</th>"
         "<th>Host</th><th>Entity</th><th>Reasons (sub-score, message)</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < ents->size() && i < 5000; ++i) {
    const Row& e = (*ents)[i];
    const std::string level = LevelOf(Get(e, "level"));
    out << "<tr class=\"row " << level << "\" data-level=\"" << level << "\" data-kind=\"entity\"><td>"
        << E(Get(e, "score")) << "</td><td>" << level << "</td><td class=\"mono\">" << E(Get(e, "hostname"))
        << "</td><td class=\"mono\">" << E(Get(e, "entity_type")) << ": " << E(Get(e, "entity_key")) << "</td><td><ul>";
    const json reasons = json::parse(Get(e, "reasons"), nullptr, false);
    if (reasons.is_array()) {
      for (const auto& r : reasons) {
        out << "<li>" << r.value("score", 0) << " &mdash; <span class=\"mono\">" << E(r.value("message", std::string()))
            << "</span></li>";
      }
    }
    out << "</ul></td></tr>\n";
  }
  out << "</tbody></table>\n";
  if (ents->size() > 5000) out << "<p>Only the first 5,000 entities are listed; query the case for the rest.</p>\n";

  auto collections =
      Query(db,
            "SELECT h.hostname, c.archive_name, c.archive_sha256, c.started, c.ended, c.result, c.profile_name, "
            "c.target_os, c.conflict FROM collections c LEFT JOIN hosts h ON h.id = c.host_id ORDER BY c.id");
  if (!collections) return std::unexpected(collections.error());
  out << "<h2 id=\"collections-h\">Collections</h2>\n<table><tr><th>Host</th><th>Archive</th><th>SHA-256</th>"
         "<th>Started</th><th>Ended</th><th>Result</th><th>Profile</th><th>Target OS</th><th>Conflict</th></tr>\n";
  for (const Row& c : *collections) {
    out << "<tr><td class=\"mono\">" << E(Get(c, "hostname")) << "</td><td class=\"mono\">" << E(Get(c, "archive_name"))
        << "</td><td class=\"mono\">" << E(Get(c, "archive_sha256")) << "</td><td>" << E(Get(c, "started"))
        << "</td><td>" << E(Get(c, "ended")) << "</td><td>" << E(Get(c, "result")) << "</td><td>"
        << E(Get(c, "profile_name")) << "</td><td>" << E(Get(c, "target_os")) << "</td><td class=\"mono\">"
        << E(Get(c, "conflict")) << "</td></tr>\n";
  }
  out << "</table>\n";
  auto rules = Query(db, "SELECT id, title, author, score, refs FROM rules ORDER BY id");
  if (!rules) return std::unexpected(rules.error());
  out << "<h2 id=\"rules-h\">Rules</h2>\n<table><tr><th>Rule</th><th>Title</th><th>Score</th><th>Author</th>"
         "<th>References</th></tr>\n";
  for (const Row& r : *rules) {
    out << "<tr><td class=\"mono\">" << E(Get(r, "id")) << "</td><td>" << E(Get(r, "title")) << "</td><td>"
        << E(Get(r, "score")) << "</td><td>" << E(Get(r, "author")) << "</td><td><ul>";
    const json refs = json::parse(Get(r, "refs"), nullptr, false);
    if (refs.is_array()) {
      for (const auto& ref : refs) {
        // Links are shown as text: a report must not make the analyst's browser fetch anything.
        out << "<li>" << E(ref.value("title", std::string())) << ": <span class=\"mono\">"
            << E(ref.value("url", ref.value("source", std::string()))) << "</span></li>";
      }
    }
    out << "</ul></td></tr>\n";
  }
  out << "</table>\n<p><small>Scores combine per entity as THOR / Loki-RS do: "
         "100&middot;(1&minus;&prod;(1&minus;s<sub>i</sub>/100/2<sup>i</sup>)); "
         "alert &ge; 80 with a sub-score above 75, warning &ge; 60, notice &ge; 40.</small></p>\n<script>"
      << kScript << "</script>\n</body></html>\n";
  return {};
}

}  // namespace trawl::triage
