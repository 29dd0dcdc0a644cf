// SPDX-License-Identifier: Apache-2.0
// The NTFS master file table as records: one per entry, in use or deleted,
// read raw from the volume (a live Windows host's C: through \\.\C:, or the
// --image volume). Paths come from the parent chain ($FILE_NAME parent
// reference and sequence; a parent that was reused or deleted makes the
// entry an orphan, as The Sleuth Kit's $OrphanFiles). Both sets of times are
// kept: $STANDARD_INFORMATION is what timestomping tools rewrite, $FILE_NAME
// what the kernel sets. Named streams are listed, with those whose content
// starts with MZ (an executable hidden in an alternate data stream).
#include <cstring>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "collector/kinds/kinds.h"
#include "collector/platform/ntfs/ntfs_files.h"
#include "core/util/time.h"

namespace trawl::collector {
namespace {

namespace ntfs = core::formats::ntfs;
using nlohmann::json;

std::string Iso(std::uint64_t filetime) { return core::UnixNsToIso(ntfs::FiletimeToUnixNs(filetime)); }

// Directory paths by entry number, resolved through the parent chain.
class PathResolver {
 public:
  PathResolver(const ntfs::Volume& v, std::string drive) : v_(v), drive_(std::move(drive)) {}

  // The path of directory `n` if it is in use with sequence `seq` (0: any).
  std::optional<std::string> Directory(std::uint64_t n, std::uint16_t seq, int depth = 0) {
    if (n == ntfs::kMftEntryRoot) return drive_;
    if (auto it = cache_.find(n); it != cache_.end()) {
      if (seq != 0 && it->second.first != seq) return std::nullopt;
      return it->second.second;
    }
    if (depth > 256) return std::nullopt;  // a parent loop in a damaged MFT
    auto e = v_.ReadEntry(n);
    if (!e || !e->in_use || !e->directory || (seq != 0 && e->sequence != seq)) return std::nullopt;
    const ntfs::FileName* fn = e->BestName();
    if (!fn || fn->parent == n) return std::nullopt;
    auto parent = Directory(fn->parent, fn->parent_sequence, depth + 1);
    if (!parent) return std::nullopt;
    std::string path = *parent + "\\" + ntfs::ToUtf8(fn->name);
    if (cache_.size() > kMaxCached) cache_.clear();
    cache_.emplace(n, std::make_pair(e->sequence, path));
    return path;
  }
  const std::string& drive() const { return drive_; }

 private:
  static constexpr std::size_t kMaxCached = 1'000'000;
  const ntfs::Volume& v_;
  std::string drive_;
  std::unordered_map<std::uint64_t, std::pair<std::uint16_t, std::string>> cache_;
};

}  // namespace

void RunMft(RunState& s, const profile::ResolvedArtifact& art, json& summary) {
  const std::string volume = art.parameters.GetString("volume");
  const auto max_entries = static_cast<std::uint64_t>(art.parameters.GetInt("max_entries"));
  const bool include_deleted = art.parameters.GetBool("include_deleted");
  auto files = s.platform.RawVolume(volume);
  if (!files) {
    if (files.error().code == core::ErrorCode::kUnsupported) {
      summary["skipped"] = files.error().message;
      return;
    }
    ++s.errors;
    summary["error"] = files.error().message;
    s.pipeline->Log("error", "mft_unreadable", {{"artifact", art.name}, {"error", files.error().message}});
    return;
  }
  const ntfs::Volume& v = (*files)->volume();
  PathResolver paths(v, s.live ? volume : core::profile::SystemDrive(s.ctx));
  const std::uint64_t count = std::min(v.entry_count(), max_entries);
  std::uint64_t emitted = 0, deleted = 0, unreadable = 0;
  std::vector<std::byte> head(2);
  for (std::uint64_t n = 0; n < count; ++n) {
    if ((n & 1023) == 0 && s.stop.ShouldStop()) break;
    auto e = v.ReadEntry(n);
    if (!e) {
      ++unreadable;  // never used (zeroed) or torn: nothing to list
      continue;
    }
    if (e->base_record != 0) continue;  // an extension record: merged into its base entry
    if (!e->in_use && (!include_deleted || e->names.empty())) continue;
    const ntfs::FileName* fn = e->BestName();
    const std::string name = fn ? ntfs::ToUtf8(fn->name) : "";
    Record r("mft");
    r.SetUInt("entry", e->number);
    r.SetInt("sequence", e->sequence);
    std::string path;
    if (n == ntfs::kMftEntryRoot) {
      path = paths.drive() + "\\";
    } else if (fn) {
      auto parent = paths.Directory(fn->parent, fn->parent_sequence);
      path = parent ? *parent + "\\" + name : paths.drive() + "\\$OrphanFiles\\" + name;
    }
    r.SetText("path", path);
    r.SetText("name", name);
    r.SetUInt("parent", fn ? fn->parent : 0);
    r.SetBool("in_use", e->in_use);
    r.SetBool("directory", e->directory);
    std::uint64_t size = 0;
    std::string ads, ads_pe;
    for (const auto& st : e->Streams()) {
      if (st.name.empty()) {
        size = st.size;
        continue;
      }
      ads += (ads.empty() ? "" : "|") + st.name + ":" + std::to_string(st.size);
      if (st.size >= 2) {
        if (auto rd = v.OpenStream(*e, st.name);
            rd && (*rd)->Read(head).value_or(0) == 2 && std::memcmp(head.data(), "MZ", 2) == 0) {
          ads_pe += (ads_pe.empty() ? "" : "|") + st.name;
        }
      }
    }
    r.SetUInt("size", size);
    r.SetInt("links", e->link_count);
    r.SetInt("flags", e->si_flags);
    r.SetText("si_created", Iso(e->si.created));
    r.SetText("si_modified", Iso(e->si.modified));
    r.SetText("si_mft_modified", Iso(e->si.mft_modified));
    r.SetText("si_accessed", Iso(e->si.accessed));
    if (fn) {
      r.SetText("fn_created", Iso(fn->times.created));
      r.SetText("fn_modified", Iso(fn->times.modified));
      r.SetText("fn_mft_modified", Iso(fn->times.mft_modified));
      r.SetText("fn_accessed", Iso(fn->times.accessed));
    }
    if (!ads.empty()) r.SetText("ads", ads);
    if (!ads_pe.empty()) r.SetText("ads_pe", ads_pe);
    if (e->reparse) {
      r.SetText("reparse_kind", e->reparse->kind);
      r.SetText("reparse_target", e->reparse->target);
    }
    if (!e->problems.empty()) r.SetText("error", e->problems.front());
    r.SetText("artifact", art.name);
    s.Emit(r);
    ++emitted;
    if (!e->in_use) ++deleted;
  }
  summary["entries"] = emitted;
  summary["deleted"] = deleted;
  summary["unused_or_unreadable"] = unreadable;
  if (v.entry_count() > max_entries) {
    s.pipeline->Log("warning", "mft_truncated",
                    {{"artifact", art.name}, {"entries", v.entry_count()}, {"max_entries", max_entries}});
  }
}

}  // namespace trawl::collector
