// SPDX-License-Identifier: Apache-2.0
#include "collector/run_state.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::collector {

void NoteLimit(RunState& s, const std::string& what) {
  if (std::find(s.limits_hit.begin(), s.limits_hit.end(), what) == s.limits_hit.end()) {
    s.limits_hit.push_back(what);
  }
}

std::string StatusLine(const RunState& s) {
  return fmt::format("{} processes, {} modules, {} files ({} copied), {} errors", s.processes.load(), s.modules.load(),
                     s.files.load(), s.copied.load(), s.errors.load());
}

// The host directory holding the live system's tree: "/" on POSIX; on
// Windows the system drive's root ("C:/", never "C:", which would mean the
// current directory on C:), so C:\ProgramData\TPM maps to C:/ProgramData/TPM.
std::string LiveRoot() {
#ifdef _WIN32
  const char* drive = std::getenv("SystemDrive");
  std::string d = drive != nullptr ? drive : "";
  if (d.size() != 2 || d[1] != ':' || !std::isalpha(static_cast<unsigned char>(d[0]))) d = "C:";
  return d + "/";
#else
  return "/";
#endif
}

// Live Windows: the machine-wide folders as this host has them (the
// collector's own environment, set by the OS, not by the suspect host's
// users), so a system on D: or in C:\WINNT is walked where it is.
void ApplyLiveWindowsEnv([[maybe_unused]] profile::ExpansionContext& ctx) {
#ifdef _WIN32
  const std::string drive = LiveRoot().substr(0, 2);
  ctx.env["SystemDrive"] = drive;
  for (const char* name : {"SystemRoot", "ProgramFiles", "ProgramFiles(x86)", "ProgramW6432", "ProgramData"}) {
    const char* v = std::getenv(name);
    // Only absolute paths on the system drive map under the live root.
    if (v != nullptr && std::strlen(v) > 3 && core::EqualsIgnoreCaseAscii(std::string_view(v, 2), drive) &&
        v[2] == '\\') {
      ctx.env[name] = v;
    }
  }
#endif
}

}  // namespace trawl::collector
