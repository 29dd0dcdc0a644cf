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

DirListingParams DirListingParams::From(const profile::ResolvedArtifact& art) {
  DirListingParams p;
  const std::string& pattern = art.parameters.GetString("pattern");
  p.pattern = pattern.empty() ? std::string(1, '*') : pattern;
  return p;
}

void RunDirListing(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  auto dirs = profile::ExpandArtifactPaths(art, s.ctx, s.lister);
  if (!dirs) {
    summary["error"] = dirs.error().message;
    ++s.errors;
    return;
  }
  const DirListingParams params = DirListingParams::From(art);
  const std::string& pattern = params.pattern;
  std::uint64_t n = 0;
  for (const auto& pe : *dirs) {
    for (const auto& d : pe.expansion.matches) {
      if (!d.is_dir) continue;
      auto entries = s.lister.List(d.host_path);
      if (!entries) {
        s.pipeline->Log("warning", "list_failed",
                        {{"dir", core::RepairUtf8(d.target_path)}, {"error", entries.error().message}});
        continue;
      }
      for (const auto& e : *entries) {
        if (!profile::MatchComponent(pattern.empty() ? "*" : pattern, e.name, s.windows_target)) continue;
        Record r("dir_entries");
        r.SetText("dir", d.target_path);
        r.SetText("name", e.name);
        r.SetText("type", e.is_dir ? "dir" : e.is_symlink ? "symlink" : e.is_regular ? "file" : "other");
        r.SetText("artifact", art.name);
        s.Emit(r);
        ++n;
      }
    }
  }
  s.dir_entries += n;
  summary["entries"] = n;
}

}  // namespace trawl::collector
