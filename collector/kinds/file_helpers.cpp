// SPDX-License-Identifier: Apache-2.0
#include "collector/kinds/kinds.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/archive/archive_paths.h"
#include "core/archive/layout.h"
#include "core/util/text.h"

namespace trawl::collector {

using nlohmann::json;

FileRequest ImageRequest(const RunState& s, const profile::ResolvedArtifact& art, const std::string& target,
                         const std::string& open_path) {
  FileRequest req;
  req.target_path = target;
  req.host_path = open_path;
  req.artifact = art.name;
  req.windows_target = s.windows_target;
  req.max_file_size = s.global_max_file_size;
  return req;
}

FileRequest BaseRequest(RunState& s, const profile::ResolvedArtifact& art, const profile::PathMatch& m) {
  FileRequest req = ImageRequest(s, art, m.target_path, m.host_path);
  req.max_file_size = std::min(art.limits.max_file_size, s.global_max_file_size);
  req.copy.copy_max_size = art.limits.copy_max_size;
  req.access = ParseFileAccess(art.parameters.GetString("access"));  // both path kinds declare `access`
  return req;
}

void RecordNonFile(RunState& s, const profile::ResolvedArtifact& art, const profile::PathMatch& m,
                   const ProductColumns* product) {
  Record r("files");
  r.SetText("path", m.target_path);
  r.SetText("source_path", m.host_path);
  r.SetText("artifact", art.name);
  r.SetText("status", "ok");
  if (auto st = s.platform.Stat(m.host_path); st) {
    AddMetaFields(*st, r);
    // FIFOs, sockets and devices are listed but never opened (a read could
    // block or have side effects): say so rather than claim "ok".
    if (st->type == "fifo" || st->type == "socket" || st->type == "char" || st->type == "block") {
      r.SetText("status", "skipped");
      r.SetText("error", "not a regular file (" + st->type + "): content not read");
    }
  } else {
    // Gone since the listing, or not stat-able (e.g. a path longer than
    // PATH_MAX): a record without metadata must not say "ok".
    r.SetText("status", st.error().code == core::ErrorCode::kNotFound ? "vanished" : "error");
    r.SetText("error", st.error().message);
    ++s.errors;  // as FilePipeline::Process counts a failed open
  }
  if (product != nullptr) product->ApplyTo(r);
  s.Emit(r);
}

void RecordIssues(RunState& s, const profile::ResolvedArtifact& art, const profile::Expansion& e) {
  for (const auto& issue : e.issues) {
    s.pipeline->Log(
        "warning", "path_issue",
        {{"artifact", art.name}, {"path", core::RepairUtf8(issue.path)}, {"message", core::RepairUtf8(issue.message)}});
  }
  if (e.truncated) s.pipeline->Log("warning", "max_files_reached", {{"artifact", art.name}});
}

}  // namespace trawl::collector
