// SPDX-License-Identifier: Apache-2.0
// Process exit codes of trawl-collect and trawl-triage, defined once.
#pragma once

namespace trawl::core {

inline constexpr int kExitOk = 0;        // collect: complete; triage: all well
inline constexpr int kExitPartial = 1;   // collect: a limit or a signal stopped it (the archive is valid)
inline constexpr int kExitProblems = 1;  // triage: verification failures, refused members, unparseable files
inline constexpr int kExitUsage = 2;     // bad arguments, profile or rules
inline constexpr int kExitFatal = 3;     // cannot go on (I/O, internal error, an exception caught in main)

}  // namespace trawl::core
