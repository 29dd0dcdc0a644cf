// SPDX-License-Identifier: Apache-2.0
#include "core/profile/profile_list.h"

#include <cctype>
#include <unordered_set>

#include <fmt/format.h>

#include "core/profile/paths.h"
#include "core/util/text.h"

namespace trawl::core::profile {

namespace regf = formats::regf;

namespace {

std::string TextValue(const regf::Hive& hive, const regf::Key& key, std::string_view name, std::string_view where,
                      std::vector<std::string>& problems) {
  auto v = hive.GetValue(key, name);
  if (!v) {
    problems.push_back(std::string(where) + "\\" + std::string(name) + ": " + v.error().message);
    return {};
  }
  if (!*v) return {};
  if ((*v)->type != regf::kRegSz && (*v)->type != regf::kRegExpandSz) {
    problems.push_back(std::string(where) + "\\" + std::string(name) + ": not a string value (" +
                       std::string(regf::TypeName((*v)->type)) + ")");
    return {};
  }
  return regf::ValueString(**v);
}

// The target path's drive ("D:", upper-case) and components, or nullopt
// when it is not an absolute drive path free of '.', '..' and variables.
std::optional<std::vector<std::string>> AbsoluteDrivePath(std::string_view path) {
  if (path.size() < 3 || !IsAsciiAlpha(path[0]) || path[1] != ':' || (path[2] != '\\' && path[2] != '/')) {
    return std::nullopt;
  }
  if (path.find('%') != std::string_view::npos) return std::nullopt;
  std::vector<std::string> comps = SplitPath(path, PathStyle::kWindows);
  if (comps.size() < 2) return std::nullopt;  // a drive root is nobody's profile
  for (const std::string& c : comps) {
    if (c == "." || c == "..") return std::nullopt;
  }
  comps[0][0] = static_cast<char>(std::toupper(static_cast<unsigned char>(comps[0][0])));
  return comps;
}

}  // namespace

ProfileList ReadProfileList(const regf::Hive& software) {
  ProfileList out;
  auto key = software.Find(kProfileListKey);
  if (!key) {
    out.problems.push_back(std::string(kProfileListKey) + ": " + key.error().message);
    return out;
  }
  if (!*key) return out;
  const std::string where(kProfileListKey);
  out.profiles_directory = TextValue(software, **key, "ProfilesDirectory", where, out.problems);
  out.program_data = TextValue(software, **key, "ProgramData", where, out.problems);
  out.public_dir = TextValue(software, **key, "Public", where, out.problems);
  out.default_dir = TextValue(software, **key, "Default", where, out.problems);
  std::vector<std::string> bad;
  auto subkeys = software.Subkeys(**key, &bad);
  if (!subkeys) {
    out.problems.push_back(where + ": " + subkeys.error().message);
    return out;
  }
  for (std::string& b : bad) out.problems.push_back(fmt::format("{}: {}", where, b));
  for (const regf::Key& sid : *subkeys) {
    std::string path = TextValue(software, sid, "ProfileImagePath", where + "\\" + sid.name, out.problems);
    if (path.empty()) continue;
    out.profiles.push_back({sid.name, std::move(path)});
  }
  return out;
}

std::string ExpandRegistryPath(std::string_view path, const ExpansionContext& ctx) {
  static constexpr std::string_view kNames[] = {"SystemDrive",     "SystemRoot", "windir",       "ProgramData",
                                                "ALLUSERSPROFILE", "PUBLIC",     "ProgramFiles", "ProgramW6432"};
  std::string out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    const std::size_t open = path.find('%', pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = path.find('%', open + 1);
    if (close == std::string_view::npos) break;
    const std::string_view name = path.substr(open + 1, close - open - 1);
    std::string value;
    for (std::string_view known : kNames) {
      if (!EqualsIgnoreCaseAscii(known, name)) continue;
      // ExpandVariables knows every machine-wide variable's default.
      if (auto e = ExpandVariables("%" + std::string(known) + "%", ctx); e && e->size() == 1) {
        value = (*e)[0].pattern;
      }
    }
    out.append(path.substr(pos, open - pos));
    if (value.empty()) {
      out.append(path.substr(open, close + 1 - open));
    } else {
      out.append(value);
    }
    pos = close + 1;
  }
  out.append(path.substr(pos));
  return out;
}

std::vector<ProfileNote> MergeProfileList(const ProfileList& list, ExpansionContext& ctx, DirectoryLister& lister,
                                          const DriveRootFn& other_drive) {
  std::vector<ProfileNote> notes;
  std::unordered_set<std::string> homes;
  for (const UserProfile& u : ctx.users) homes.insert(ToLowerAscii(u.home));
  const std::string system_drive = SystemDrive(ctx);
  for (const ProfileListEntry& e : list.profiles) {
    const std::string expanded = ExpandRegistryPath(e.path, ctx);
    auto comps = AbsoluteDrivePath(expanded);
    if (!comps) {
      notes.push_back({"warning", "user_profile_invalid", e.sid, RepairUtf8(e.path),
                       "ProfileImagePath is not an absolute path on a drive; not walked"});
      continue;
    }
    const std::string home = TargetPathOf(*comps, PathStyle::kWindows);
    if (homes.contains(ToLowerAscii(home))) continue;
    const std::string drive = (*comps)[0];
    std::string host_root = HostRootForDrive(ctx, drive);
    const bool newly_mapped = host_root.empty();
    if (host_root.empty() && other_drive) host_root = other_drive(drive);
    if (host_root.empty()) {
      notes.push_back(
          {"warning", "user_profile_unreachable", e.sid, RepairUtf8(home),
           fmt::format("the profile is on drive {}, which this collection does not hold (only {} is mapped); its files "
                       "are not collected",
                       drive, system_drive)});
      continue;
    }
    const std::vector<std::string> rest(comps->begin() + 1, comps->end());
    if (ResolveDir(lister, host_root, rest, true).empty()) {
      notes.push_back({"info", "user_profile_missing", e.sid, RepairUtf8(home),
                       "ProfileList names this folder but it does not exist (a deleted or never-loaded profile)"});
      continue;
    }
    if (newly_mapped) ctx.drives[drive] = host_root;
    homes.insert(ToLowerAscii(home));
    ctx.users.push_back({comps->back(), home});
    notes.push_back({"info", "user_profile_added", e.sid, RepairUtf8(home),
                     newly_mapped ? fmt::format("from ProfileList, on drive {} (mapped to {})", drive, host_root)
                                  : fmt::format("from ProfileList (not a folder under {}\\Users)", system_drive)});
  }
  return notes;
}

}  // namespace trawl::core::profile
