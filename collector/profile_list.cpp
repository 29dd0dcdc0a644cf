// SPDX-License-Identifier: Apache-2.0
// User profiles from the target's own registry (ProfileList in SOFTWARE),
// read before any artifact runs so that per-user patterns (%USERPROFILE%,
// %APPDATA%, ...) expand for profiles outside <SystemDrive>\Users too. On a
// live Windows host SOFTWARE is locked: it is read raw from its volume like
// any locked file (access auto), with its transaction logs, which hold what
// the OS has not flushed yet.
#include "collector/hive_read.h"
#include "core/profile/profile_list.h"

namespace trawl::collector {

std::vector<profile::ProfileNote> ApplyProfileList(RunState& s) {
  std::vector<profile::ProfileNote> notes;
  auto note = [&](std::string level, std::string event, std::string path, std::string message) {
    notes.push_back({std::move(level), std::move(event), {}, std::move(path), std::move(message)});
  };
  auto sysroot = profile::ExpandVariables("%SystemRoot%\\System32\\config\\SOFTWARE", s.ctx);
  if (!sysroot || sysroot->size() != 1) return notes;
  const std::string target = (*sysroot)[0].pattern;
  TargetHive info;
  auto hive = ReadTargetHive(s, target, info);
  for (const std::string& p : info.log_problems) note("warning", "profile_list_log_unread", target, p);
  if (!hive) {
    // No SOFTWARE hive (a partial tree): the Users folder listing stands
    // alone, said once.
    note(hive.error().code == core::ErrorCode::kNotFound ? "info" : "warning", "profile_list_unread", target,
         hive.error().message);
    return notes;
  }
  const profile::ProfileList list = profile::ReadProfileList(*hive);
  for (const std::string& p : list.problems) note("warning", "profile_list_damaged", target, p);
  // Only a live host can reach another drive; an offline root or an image
  // holds the one volume.
  profile::DriveRootFn other_drive;
  if (s.live && s.windows_target) other_drive = [](std::string_view drive) { return std::string(drive) + "/"; };
  auto merged = profile::MergeProfileList(list, s.ctx, s.lister, other_drive);
  notes.insert(notes.end(), std::make_move_iterator(merged.begin()), std::make_move_iterator(merged.end()));
  return notes;
}

}  // namespace trawl::collector
