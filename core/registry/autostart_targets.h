// SPDX-License-Identifier: Apache-2.0
// The files an autostart command runs, as absolute paths on the target: the
// program of a service ImagePath, a ServiceDll, a Run value or a scheduled
// task's Exec action, and for the loaders that take one (rundll32,
// regsvr32) the DLL in its arguments. Bare program names ("rundll32",
// "cmd.exe") are looked up where Windows looks first: System32, then the
// Windows folder. Per-user variables expand in the owning user's profile.
// What cannot be made absolute (a variable with no value here, a relative
// path) is returned with the reason, never guessed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trawl::core::hive {

struct AutostartTarget {
  // Lower-case absolute paths to try in order (several for a bare name);
  // empty when unresolved.
  std::vector<std::string> candidates;
  std::string role;        // "program" | "dll argument"
  std::string unresolved;  // why there are no candidates
};

// `command` is the whole command line (a Run value, an ImagePath) or just
// the program (a task's Command, with `arguments` apart). `user_home`
// ("C:\Users\alice"; empty for machine-wide entries) expands %USERPROFILE%,
// %APPDATA%, %LOCALAPPDATA%, %TEMP%/%TMP%; `system_root` replaces the
// c:\windows that CommandFileLc assumes.
std::vector<AutostartTarget> CommandTargets(std::string_view command, std::string_view arguments,
                                            std::string_view user_home, std::string_view system_root);

}  // namespace trawl::core::hive
