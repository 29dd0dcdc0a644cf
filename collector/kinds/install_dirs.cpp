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

InstallDirsParams InstallDirsParams::From(const profile::ResolvedArtifact& art) {
  InstallDirsParams p;
  p.product = art.parameters.GetString("product");
  p.vendor = art.parameters.GetString("vendor");
  p.category = art.parameters.GetString("category");
  p.exclude = art.parameters.GetList("exclude");
  p.copy_executables = art.parameters.GetBool("copy_executables");
  p.copy_small_files_max = art.parameters.GetSize("copy_small_files_max");
  p.copy_max_total = art.parameters.GetSize("copy_max_total");
  return p;
}

void RunInstallDirs(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  auto roots = profile::ExpandArtifactPaths(art, s.ctx, s.lister);
  if (!roots) {
    summary["error"] = roots.error().message;
    ++s.errors;
    return;
  }
  const InstallDirsParams params = InstallDirsParams::From(art);
  const ProductColumns product{params.product, params.vendor, params.category};
  FileWorkers workers(s, art, params.copy_max_total);
  profile::GlobOptions walk;
  walk.max_depth = art.WalkDepth();
  walk.max_matches = art.limits.max_files;
  walk.exclude = params.exclude;
  walk.on_match = [&](const profile::PathMatch& m) {
    if (!m.is_regular) {
      RecordNonFile(s, art, m, &product);
      return !s.stop.ShouldStop();
    }
    FileRequest req = BaseRequest(s, art, m);
    req.copy.copy_executables = params.copy_executables;
    req.copy.small_files_max = params.copy_small_files_max;
    req.product = product;
    return workers.Submit(std::move(req));
  };
  json found = json::array();
  for (const auto& pe : *roots) {
    RecordIssues(s, art, pe.expansion);
    for (const auto& root : pe.expansion.matches) {
      if (!root.is_dir || s.stop.ShouldStop()) continue;
      found.push_back(core::RepairUtf8(root.target_path));
      RecordNonFile(s, art, root, &product);
      auto below = profile::WalkBelow(root, s.ctx, s.lister, walk);
      if (!below) {
        s.pipeline->Log(
            "warning", "walk_failed",
            {{"artifact", art.name}, {"root", core::RepairUtf8(root.target_path)}, {"error", below.error().message}});
        continue;
      }
      RecordIssues(s, art, *below);
      if (below->depth_limited) {
        s.pipeline->Log("info", "depth_limited",
                        {{"artifact", art.name}, {"root", core::RepairUtf8(root.target_path)}});
      }
    }
  }
  workers.Summarise(summary);
  summary["install_roots"] = found;
}

}  // namespace trawl::collector
