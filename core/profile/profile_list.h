// SPDX-License-Identifier: Apache-2.0
// Windows user profiles as the target's registry knows them: the ProfileList
// key of the SOFTWARE hive (HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion
// \ProfileList: one subkey per SID, ProfileImagePath its folder). Folders
// under C:\Users are found by listing; ProfileList also knows the profiles
// that are not there: moved to another drive (D:\Users\bob), a custom
// ProfilesDirectory, the service accounts' (systemprofile, LocalService,
// NetworkService), where software running as SYSTEM keeps its AppData.
//
// ReadProfileList is pure (a parsed hive in, entries out); MergeProfileList
// adds the profiles whose folder exists to an expansion context, mapping a
// profile's other drive only when the caller can reach it (a live host), and
// says what it did and what it could not in notes the collector logs.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/formats/regf.h"
#include "core/profile/target.h"
#include "core/util/error.h"

namespace trawl::core::profile {

inline constexpr std::string_view kProfileListKey = "Microsoft\\Windows NT\\CurrentVersion\\ProfileList";

struct ProfileListEntry {
  std::string sid;   // the subkey's name
  std::string path;  // ProfileImagePath as stored (REG_EXPAND_SZ: may hold %SystemDrive%)
};

struct ProfileList {
  std::vector<ProfileListEntry> profiles;
  // Machine-wide values of the ProfileList key (empty when absent).
  std::string profiles_directory, program_data, public_dir, default_dir;
  // Keys or values that did not parse, named (the rest is still read).
  std::vector<std::string> problems;
};

// The ProfileList of a SOFTWARE hive; a hive without the key gives an empty
// list (not an error: it is not a SOFTWARE hive, or a broken one).
ProfileList ReadProfileList(const formats::regf::Hive& software);

// %SystemDrive%, %SystemRoot%, %windir%, %ProgramData%, %ALLUSERSPROFILE%,
// %PUBLIC%, %ProgramFiles% in a registry path, with ctx's values (names
// compared case-insensitively); other variables are left as they are.
std::string ExpandRegistryPath(std::string_view path, const ExpansionContext& ctx);

struct ProfileNote {
  std::string level;  // "info" | "warning"
  std::string event;  // user_profile_added | user_profile_unreachable | user_profile_missing | user_profile_invalid
  std::string sid, path, message;
};

// Where a drive other than the mapped ones can be read: the host directory
// for "D:", or "" when this collection cannot reach it.
using DriveRootFn = std::function<std::string(std::string_view drive)>;

// Adds each profile of `list` whose folder exists (through `lister`) and
// whose home ctx.users does not hold yet (compared case-insensitively).
// A profile on a drive that ctx does not map is looked up through
// `other_drive` (a live host: "D:" -> "D:/"), and when found the drive is
// added to ctx.drives; with no function, or an empty answer, the profile is
// reported unreachable (an offline root or an image holds one volume).
// Relative, UNC, '.'/'..' or variable-laden paths are invalid and skipped,
// named.
std::vector<ProfileNote> MergeProfileList(const ProfileList& list, ExpansionContext& ctx, DirectoryLister& lister,
                                          const DriveRootFn& other_drive);

}  // namespace trawl::core::profile
