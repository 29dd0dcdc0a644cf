// SPDX-License-Identifier: Apache-2.0
#include "triage/ingest_prefetch.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/prefetch.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "triage/record_writer.h"

namespace trawl::triage {
namespace {

using core::Result;

constexpr std::uint64_t kMaxPrefetch = 64u << 20;  // as the parser's own cap

// "\VOLUME{01d...}\WINDOWS\X.DLL" or "\DEVICE\HARDDISKVOLUME2\WINDOWS\X.DLL" -> "\windows\x.dll".
std::string StripVolume(std::string_view nt) {
  if (nt.starts_with("\\VOLUME{") || nt.starts_with("\\volume{")) {
    const auto close = nt.find('}');
    if (close != std::string_view::npos) nt.remove_prefix(close + 1);
  } else if (core::ToUpperAscii(nt.substr(0, 8)) == "\\DEVICE\\") {
    const auto third = nt.find('\\', 8);
    nt = third == std::string_view::npos ? std::string_view() : nt.substr(third);
  }
  return core::ToLowerAscii(nt);
}

}  // namespace

Result<PrefetchIngest> PrefetchIngest::Create(Db& db) {
  PrefetchIngest p(db);
  auto pf = db.Prepare(
      "INSERT INTO prefetch (collection_id, archive_path, executable, executable_lc, prefetch_hash, version, "
      "compressed, run_count, last_run, run_times, exe_path, exe_dir_lc, error, host_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (!pf) return std::unexpected(pf.error());
  p.prefetch_ = std::move(*pf);
  auto runs = db.Prepare("INSERT INTO prefetch_runs (prefetch_id, run_time, host_id) VALUES (?1, ?2, ?3)");
  if (!runs) return std::unexpected(runs.error());
  p.runs_ = std::move(*runs);
  auto files = db.Prepare(
      "INSERT INTO prefetch_files (prefetch_id, idx, path, rel_path_lc, dir_lc, name_lc, host_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!files) return std::unexpected(files.error());
  p.files_ = std::move(*files);
  return p;
}

void PrefetchIngest::NoteCopied(std::string copied_as, std::string path) {
  copied_paths_[std::move(copied_as)] = std::move(path);
}

Result<bool> PrefetchIngest::Add(std::int64_t collection_id, std::int64_t host_id, const std::string& member,
                                 core::archive::MemberStream& stream, const RowCounter& count_row) {
  TRAWL_TRY_VOID(count_row("prefetch"));
  auto data = stream.ReadAll(kMaxPrefetch);
  prefetch_.Bind(1, collection_id);
  prefetch_.Bind(2, std::string_view(member));
  prefetch_.Bind(14, host_id);
  if (!data) {
    prefetch_.Bind(13, std::string_view(data.error().ToString()));
    TRAWL_TRY_VOID(prefetch_.Run());
    rows_[member] = db_->LastInsertRowId();
    return false;
  }
  auto pf = core::formats::ParsePrefetch(core::AsBytes(*data));
  if (!pf) {
    prefetch_.Bind(13, std::string_view(pf.error().ToString()));
    TRAWL_TRY_VOID(prefetch_.Run());
    rows_[member] = db_->LastInsertRowId();
    return false;
  }
  const std::string exe = WithoutNul(core::RepairUtf8(pf->executable));
  const std::string exe_lc = core::ToLowerAscii(exe);
  std::string exe_path;
  std::string exe_dir_lc;
  for (const auto& m : pf->file_metrics) {
    const std::string rel = StripVolume(m.filename);
    const auto [dir, name] = SplitTargetPath(rel);
    if (!exe_lc.empty() && name.starts_with(exe_lc) && core::EndsWithIgnoreCaseAscii(name, ".exe")) {
      exe_path = m.filename;
      exe_dir_lc = dir;
      break;
    }
  }
  nlohmann::json runs = nlohmann::json::array();
  for (auto t : pf->last_run_times) runs.push_back(core::FiletimeToIso(t));
  prefetch_.Bind(3, std::string_view(exe));
  prefetch_.Bind(4, std::string_view(exe_lc));
  prefetch_.Bind(5, std::string_view(fmt::format("{:08X}", pf->prefetch_hash)));
  prefetch_.Bind(6, static_cast<std::int64_t>(pf->version));
  prefetch_.Bind(7, static_cast<std::int64_t>(pf->compressed ? 1 : 0));
  prefetch_.Bind(8, static_cast<std::int64_t>(pf->run_count));
  if (!runs.empty()) prefetch_.Bind(9, std::string_view(runs[0].get_ref<const std::string&>()));
  prefetch_.Bind(10, std::string_view(runs.dump()));
  prefetch_.Bind(11, std::string_view(WithoutNul(core::RepairUtf8(exe_path))));
  prefetch_.Bind(12, std::string_view(exe_dir_lc));
  TRAWL_TRY_VOID(prefetch_.Run());
  const std::int64_t id = db_->LastInsertRowId();
  rows_[member] = id;
  for (const auto& t : runs) {
    TRAWL_TRY_VOID(count_row("prefetch_runs"));
    runs_.Bind(1, id);
    runs_.Bind(3, host_id);
    runs_.Bind(2, std::string_view(t.get_ref<const std::string&>()));
    TRAWL_TRY_VOID(runs_.Run());
  }
  std::int64_t idx = 0;
  for (const auto& m : pf->file_metrics) {
    const std::string rel = StripVolume(m.filename);
    const auto [dir, name] = SplitTargetPath(rel);
    TRAWL_TRY_VOID(count_row("prefetch_files"));
    files_.Bind(1, id);
    files_.Bind(7, host_id);
    files_.Bind(2, idx++);
    files_.Bind(3, std::string_view(WithoutNul(core::RepairUtf8(m.filename))));
    files_.Bind(4, std::string_view(WithoutNul(core::RepairUtf8(rel))));
    files_.Bind(5, std::string_view(WithoutNul(core::RepairUtf8(dir))));
    files_.Bind(6, std::string_view(WithoutNul(core::RepairUtf8(name))));
    TRAWL_TRY_VOID(files_.Run());
  }
  return true;
}

Result<void> PrefetchIngest::FillPaths() {
  auto pp = db_->Prepare("UPDATE prefetch SET path = ?1 WHERE id = ?2");
  if (!pp) return std::unexpected(pp.error());
  for (const auto& [apath, row] : rows_) {
    if (auto it = copied_paths_.find(apath); it != copied_paths_.end()) {
      pp->Bind(1, std::string_view(WithoutNul(it->second)));
      pp->Bind(2, row);
      TRAWL_TRY_VOID(pp->Run());
    }
  }
  return {};
}

}  // namespace trawl::triage
