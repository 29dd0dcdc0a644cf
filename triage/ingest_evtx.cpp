// SPDX-License-Identifier: Apache-2.0
#include "triage/ingest_evtx.h"

#include <cstddef>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/layout.h"
#include "core/formats/evtx.h"
#include "core/util/read_at.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "triage/record_writer.h"

namespace trawl::triage {
namespace {

using core::Result;
using nlohmann::json;
namespace evtx = core::formats::evtx;

constexpr std::size_t kSummaryFields = 8;
constexpr std::size_t kSummaryBytes = 400;

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void CutUtf8(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  s += "...";
}

std::string FieldsJson(const evtx::Record& r) {
  json o = json::object();
  for (const auto& f : r.fields) {
    auto it = o.find(f.name);
    if (it == o.end()) {
      o[f.name] = f.value;
    } else if (it->is_array()) {
      it->push_back(f.value);
    } else {
      json a = json::array({*it, f.value});
      *it = std::move(a);
    }
  }
  return o.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Summary(const evtx::Record& r) {
  std::string s;
  for (std::size_t i = 0; i < r.fields.size() && i < kSummaryFields; ++i) {
    if (!s.empty()) s += "; ";
    s += r.fields[i].name;
    s += '=';
    s += r.fields[i].value;
    if (s.size() > kSummaryBytes) break;
  }
  CutUtf8(s, kSummaryBytes);
  return core::RepairUtf8(s);
}

}  // namespace

Result<EvtxIngest> EvtxIngest::Create(Db& db) {
  EvtxIngest e(db);
  auto log = db.Prepare(
      "INSERT INTO event_logs (collection_id, host_id, archive_path, size, error) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!log) return std::unexpected(log.error());
  e.log_ = std::move(*log);
  auto upd = db.Prepare(
      "UPDATE event_logs SET records = ?2, recovered = ?3, with_errors = ?4, chunks = ?5, chunks_bad = ?6, "
      "error = ?7 WHERE id = ?1");
  if (!upd) return std::unexpected(upd.error());
  e.update_log_ = std::move(*upd);
  auto rec = db.Prepare(
      "INSERT INTO event_records (log_id, collection_id, host_id, record_id, time_created, written, channel, "
      "provider, event_id, level, computer, user_sid, process_id, recovered, error, summary, fields) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
  if (!rec) return std::unexpected(rec.error());
  e.record_ = std::move(*rec);
  return e;
}

bool EvtxIngest::Wants(std::string_view member) {
  return member.starts_with(core::archive::kFilesPrefix) && core::EndsWithIgnoreCaseAscii(member, ".evtx");
}

void EvtxIngest::NoteCopied(std::string copied_as, std::string path) {
  copied_paths_[std::move(copied_as)] = std::move(path);
}

Result<void> EvtxIngest::Add(std::int64_t collection_id, std::int64_t host_id, const std::string& member,
                             core::archive::MemberStream& stream, const RowCounter& count_row) {
  TRAWL_TRY_VOID(count_row("event_logs"));
  auto data = stream.ReadAll(kMaxLogBytes);
  log_.Bind(1, collection_id);
  log_.Bind(2, host_id);
  log_.Bind(3, std::string_view(WithoutNul(member)));
  if (data) {
    log_.Bind(4, static_cast<std::int64_t>(data->size()));
  } else {
    log_.BindNull(4);
  }
  if (!data) {
    // Not held (over the cap): the log stays in the archive, named here.
    log_.Bind(5, std::string_view(data.error().message));
  }
  TRAWL_TRY_VOID(log_.Run());
  const std::int64_t log_id = db_->LastInsertRowId();
  rows_[member] = log_id;
  ++logs_;
  if (!data) return {};

  const auto bytes = std::as_bytes(std::span<const char>(data->data(), data->size()));
  core::MemorySource src(bytes, member);
  Result<void> failed;  // the first failure to write a row stops the writing
  evtx::Options options;
  options.recover = true;
  options.max_problems = 8;
  auto stats = evtx::ForEachRecord(
      src,
      [&](const evtx::Record& r) {
        if (!failed) return;
        if (auto c = count_row("event_records"); !c) {
          failed = std::unexpected(c.error());
          return;
        }
        const std::string created = core::RepairUtf8(r.time_created);
        const std::string written = core::FiletimeToIso(r.written);
        const std::string summary = Summary(r);
        const std::string fields = FieldsJson(r);
        record_.Bind(1, log_id);
        record_.Bind(2, collection_id);
        record_.Bind(3, host_id);
        record_.Bind(4, static_cast<std::int64_t>(r.record_id));
        record_.Bind(5, std::string_view(created));
        record_.Bind(6, std::string_view(written));
        record_.Bind(7, std::string_view(r.channel));
        record_.Bind(8, std::string_view(r.provider));
        record_.Bind(9, static_cast<std::int64_t>(r.event_id));
        record_.Bind(10, static_cast<std::int64_t>(r.level));
        record_.Bind(11, std::string_view(r.computer));
        record_.Bind(12, std::string_view(r.user_sid));
        record_.Bind(13, static_cast<std::int64_t>(r.process_id));
        record_.Bind(14, static_cast<std::int64_t>(r.recovered ? 1 : 0));
        if (r.error.empty()) {
          record_.BindNull(15);
        } else {
          record_.Bind(15, std::string_view(r.error));
        }
        record_.Bind(16, std::string_view(summary));
        record_.Bind(17, std::string_view(fields));
        if (auto run = record_.Run(); !run) {
          failed = std::unexpected(run.error());
          return;
        }
        ++records_;
      },
      options);
  if (!failed) return std::unexpected(failed.error().WithContext(member));
  update_log_.Bind(1, log_id);
  if (!stats) {
    for (int i = 2; i <= 6; ++i) update_log_.BindNull(i);
    update_log_.Bind(7, std::string_view(stats.error().message));
    return update_log_.Run();
  }
  update_log_.Bind(2, static_cast<std::int64_t>(stats->records));
  update_log_.Bind(3, static_cast<std::int64_t>(stats->records_recovered));
  update_log_.Bind(4, static_cast<std::int64_t>(stats->records_with_errors));
  update_log_.Bind(5, static_cast<std::int64_t>(stats->chunks));
  update_log_.Bind(6, static_cast<std::int64_t>(stats->chunks_bad));
  std::string problems;
  for (const auto& p : stats->problems) {
    if (!problems.empty()) problems += "; ";
    problems += p;
  }
  if (stats->problems_dropped > 0) problems += fmt::format("; ... {} more", stats->problems_dropped);
  if (problems.empty()) {
    update_log_.BindNull(7);
  } else {
    update_log_.Bind(7, std::string_view(problems));
  }
  return update_log_.Run();
}

Result<void> EvtxIngest::FillPaths() {
  auto s = db_->Prepare("UPDATE event_logs SET path = ?1 WHERE id = ?2");
  if (!s) return std::unexpected(s.error());
  for (const auto& [member, row] : rows_) {
    if (auto it = copied_paths_.find(member); it != copied_paths_.end()) {
      s->Bind(1, std::string_view(WithoutNul(it->second)));
      s->Bind(2, row);
      TRAWL_TRY_VOID(s->Run());
    }
  }
  return {};
}

}  // namespace trawl::triage
