// SPDX-License-Identifier: Apache-2.0
// Reading one of the target's registry hives whole, with its transaction
// logs (<hive>.LOG1, .LOG2), into core::formats::regf: on a live Windows
// host a hive is locked by the OS and is read raw from its volume (access
// auto), like any locked file. Capped: a primary over 512 MiB or a log over
// 256 MiB is refused, named. The bytes live only in memory.
#pragma once

#include <string>
#include <vector>

#include "collector/run_state.h"
#include "core/formats/regf.h"

namespace trawl::collector {

struct TargetHive {
  std::string target_path;  // C:\Windows\System32\config\SOFTWARE
  // Logs that exist but could not be read ("SOFTWARE.LOG1: <why>"); the
  // hive is still opened from what could be read.
  std::vector<std::string> log_problems;
};

// The whole content of the host file `host_path`, opened as `access` says
// (auto: a locked file is read raw from its volume). kLimit when it is, or
// grows while read, larger than `cap`.
core::Result<std::vector<std::byte>> ReadHostFile(RunState& s, const std::string& host_path, std::uint64_t cap,
                                                  FileAccess access);

// Opens the hive at `target_path` (the target's notation). kNotFound when
// the primary is absent or its path does not map to this collection.
core::Result<core::formats::regf::Hive> ReadTargetHive(RunState& s, const std::string& target_path, TargetHive& info);

}  // namespace trawl::collector
