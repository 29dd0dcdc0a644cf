// SPDX-License-Identifier: Apache-2.0
#include "triage/ingest_manifest.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

#include "triage/record_writer.h"

namespace trawl::triage {
namespace {

using core::Result;
using nlohmann::json;

Result<std::int64_t> UpsertHost(Db& db, const std::string& hostname, const core::archive::Manifest& m,
                                const std::string& started) {
  auto h = db.Prepare(
      "INSERT INTO hosts (hostname, os, os_version, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4) "
      "ON CONFLICT (hostname) DO UPDATE SET os = coalesce(excluded.os, os), "
      "os_version = coalesce(excluded.os_version, os_version), first_seen = min(first_seen, excluded.first_seen), "
      "last_seen = max(last_seen, excluded.last_seen)");
  if (!h) return std::unexpected(h.error());
  h->Bind(1, std::string_view(hostname));
  h->Bind(2, std::string_view(WithoutNul(m.host.os)));
  h->Bind(3, std::string_view(WithoutNul(m.host.os_version)));
  h->Bind(4, std::string_view(started));
  TRAWL_TRY_VOID(h->Run());
  auto id = db.Prepare("SELECT id FROM hosts WHERE hostname = ?1");
  if (!id) return std::unexpected(id.error());
  id->Bind(1, std::string_view(hostname));
  TRAWL_TRY_VOID(id->Step());
  return id->Int(0);
}

// Another archive claiming this host, start and part with other content:
// anyone with the public recipient can copy those from the sidecar. Both
// stay in the case, each flagged with the other. Returns this one's flag.
Result<std::string> FlagConflicts(Db& db, const CollectionRow& row, std::int64_t host_id, const std::string& started,
                                  std::int64_t part) {
  auto claim = db.Prepare(
      "SELECT id, archive_name, archive_sha256 FROM collections WHERE host_id = ?1 AND started = ?2 AND part = ?3 "
      "AND id <> ?4 ORDER BY id");
  if (!claim) return std::unexpected(claim.error());
  claim->Bind(1, host_id);
  claim->Bind(2, std::string_view(started));
  claim->Bind(3, part);
  claim->Bind(4, row.id);
  std::vector<std::pair<std::int64_t, std::string>> others;
  while (true) {
    auto r = claim->Step();
    if (!r) return std::unexpected(r.error());
    if (!*r) break;
    others.emplace_back(claim->Int(0), claim->Text(1) + " (SHA-256 " + claim->Text(2) + ")");
  }
  claim->Reset();
  std::string conflict;
  for (const auto& [other_id, other_name] : others) {
    conflict += (conflict.empty() ? "" : "; ") + other_name;
    auto u = db.Prepare("UPDATE collections SET conflict = coalesce(conflict || '; ', '') || ?1 WHERE id = ?2");
    if (!u) return std::unexpected(u.error());
    u->Bind(1, std::string_view(fmt::format("{} (SHA-256 {})", row.archive_name, row.archive_sha256)));
    u->Bind(2, other_id);
    TRAWL_TRY_VOID(u->Run());
  }
  return conflict;
}

}  // namespace

Result<CollectionOutcome> WriteCollection(Db& db, const CollectionRow& row, const core::archive::Manifest& m) {
  CollectionOutcome out;
  out.hostname = WithoutNul(m.host.hostname);
  if (out.hostname.empty()) out.hostname = "(unnamed host)";
  const std::string started = WithoutNul(m.started);
  const std::int64_t part = m.part;
  auto host_id = UpsertHost(db, out.hostname, m, started);
  if (!host_id) return std::unexpected(host_id.error());
  out.host_id = *host_id;
  // The same collection under another archive file (re-encrypted, copied):
  // the same plaintext. Only someone holding it can make such a file.
  {
    auto dup = db.Prepare("SELECT archive_name FROM collections WHERE content_sha256 = ?1 AND id <> ?2");
    if (!dup) return std::unexpected(dup.error());
    dup->Bind(1, row.content_sha256);
    dup->Bind(2, row.id);
    if (auto r = dup->Step(); r && *r) {
      out.duplicate_of = dup->Text(0);
      return out;
    }
  }
  auto conflict = FlagConflicts(db, row, out.host_id, started, part);
  if (!conflict) return std::unexpected(conflict.error());
  out.conflict = *conflict;
  auto c = db.Prepare(
      "UPDATE collections SET host_id = ?1, started = ?2, ended = ?3, part = ?4, result = ?5, tool_version = ?6, "
      "profile_name = ?7, profile_sha256 = ?8, target_os = ?9, live = ?10, root = ?11, limits_hit = ?12, "
      "counts = ?13, content_sha256 = ?15, conflict = ?16 WHERE id = ?14");
  if (!c) return std::unexpected(c.error());
  c->Bind(1, out.host_id);
  c->Bind(2, std::string_view(started));
  c->Bind(3, std::string_view(WithoutNul(m.ended)));
  c->Bind(4, part);
  c->Bind(5, std::string_view(m.result));
  c->Bind(6, std::string_view(WithoutNul(m.tool_version)));
  c->Bind(7, std::string_view(WithoutNul(m.profile_name)));
  c->Bind(8, std::string_view(WithoutNul(m.profile_sha256)));
  c->Bind(9, std::string_view(WithoutNul(m.target_os)));
  c->Bind(10, static_cast<std::int64_t>(m.host.live ? 1 : 0));
  c->Bind(11, std::string_view(WithoutNul(m.host.root)));
  c->Bind(12, std::string_view(json(m.limits_hit).dump(-1, ' ', false, json::error_handler_t::replace)));
  c->Bind(13,
          std::string_view(
              (m.counts.is_null() ? json::object() : m.counts).dump(-1, ' ', false, json::error_handler_t::replace)));
  c->Bind(14, row.id);
  c->Bind(15, row.content_sha256);
  if (out.conflict.empty())
    c->BindNull(16);
  else
    c->Bind(16, std::string_view(out.conflict));
  TRAWL_TRY_VOID(c->Run());
  return out;
}

}  // namespace trawl::triage
