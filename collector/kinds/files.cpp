// SPDX-License-Identifier: Apache-2.0
#include "collector/kinds/kinds.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/archive/archive_paths.h"
#include "core/archive/layout.h"
#include "collector/file_workers.h"
#include "core/util/text.h"

namespace trawl::collector {

using nlohmann::json;

FilesParams FilesParams::From(const profile::ResolvedArtifact& art) {
  FilesParams p;
  p.hash = art.parameters.GetBool("hash");
  p.pe_analysis = art.parameters.GetBool("pe_analysis");
  p.copy = art.parameters.GetBool("copy");
  p.copy_max_size = std::min(art.limits.copy_max_size, art.parameters.GetSize("copy_max_size"));
  return p;
}

void RunFiles(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  const FilesParams params = FilesParams::From(art);
  FileWorkers workers(s, art);
  auto on_match = [&](const profile::PathMatch& m) {
    if (!m.is_regular) {
      if (!m.is_dir) RecordNonFile(s, art, m, nullptr);
      return !s.stop.ShouldStop();
    }
    FileRequest req = BaseRequest(s, art, m);
    req.hash = params.hash;
    req.pe_analysis = params.pe_analysis;
    req.copy.copy = params.copy;
    req.copy.copy_max_size = params.copy_max_size;
    return workers.Submit(std::move(req));
  };
  auto expansions = profile::ExpandArtifactPaths(art, s.ctx, s.lister, on_match);
  workers.Summarise(summary);
  if (!expansions) {
    summary["error"] = expansions.error().message;
    ++s.errors;
    return;
  }
  for (const auto& pe : *expansions) {
    RecordIssues(s, art, pe.expansion);
    // Without this a walk cut short by max_depth looked complete.
    if (pe.expansion.depth_limited) {
      s.pipeline->Log("info", "depth_limited", {{"artifact", art.name}, {"pattern", core::RepairUtf8(pe.pattern)}});
    }
  }
}

}  // namespace trawl::collector
