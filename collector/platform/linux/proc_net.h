// SPDX-License-Identifier: Apache-2.0
// /proc/net/{tcp,tcp6,udp,udp6} (proc(5)): one socket a line, addresses as
// hex of the kernel's in-memory words, the state as a hex code, the socket
// inode that /proc/<pid>/fd/* links name ("socket:[inode]"). Linux only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "collector/platform/platform.h"

namespace trawl::collector {

// Parses one table's text; `protocol` is "tcp", "tcp6", "udp" or "udp6".
// A line that does not parse is skipped and counted in *bad_lines.
std::vector<ConnectionInfo> ParseProcNet(std::string_view text, std::string_view protocol, std::size_t* bad_lines);

// socket inode -> pid, from every readable /proc/<pid>/fd (a socket shared
// by several processes keeps the lowest pid).
std::map<std::uint64_t, std::int64_t> SocketOwners(const std::string& proc = "/proc");

}  // namespace trawl::collector
