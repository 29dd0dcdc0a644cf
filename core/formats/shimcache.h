// SPDX-License-Identifier: Apache-2.0
// ShimCache (Application Compatibility Cache) parsing: the REG_BINARY data of
// SYSTEM\ControlSet00N\Control\Session Manager\AppCompatCache\AppCompatCache
// (XP: ...\AppCompatibility\AppCompatCache) for every known layout, told apart
// by the value's first bytes:
//
//   format         signature                          entries
//   "xp"           0xdeadbeef (32-bit XP)             96 fixed 552-byte slots, in the header's LRU order
//   "2003"         0xbadc0ffe, entries hold a size    24 (32-bit) / 32 (64-bit) bytes; also 64-bit XP
//   "vista"        0xbadc0ffe, entries hold flags     24 / 32 bytes (Vista, Server 2008)
//   "7"            0xbadc0fee                         32 / 48 bytes (7, Server 2008 R2)
//   "8"            "00ts" at 0x80                     tagged records (8.0, Server 2012)
//   "8.1"          "10ts" at 0x80                     tagged records (8.1, Server 2012 R2)
//   "10"           0x30, "10ts" at 0x30               tagged records (Windows 10 before 1703)
//   "10-creators"  0x34, "10ts" at 0x34               tagged records (10 1703 and later, Windows 11)
//
// 32- versus 64-bit entries are chosen by which layout gives sane path
// lengths and offsets; 2003 versus Vista by the field after the FILETIME,
// which holds a file size on 2003 and flags no larger than 3 on Vista
// (Mandiant's test). Formats follow libyal winreg-kb "Application
// Compatibility Cache key" and Mandiant's "Leveraging the Application
// Compatibility Cache in Forensic Investigations" (2012), with the package
// name that Windows 8.0 and 8.1 records carry after the path. Tagged records
// are read up to the end of the value or to zero padding: the count in the
// Windows 10 header is not always the number of records (regipy's SYSTEM_B
// hive says 45 and holds 406), so it only draws a warning when records are
// missing.
//
// ParseShimCache is a pure function over hostile bytes: every offset, length
// and count is checked against the value before use (no struct casts), the
// entry count is bounded by the value size, and the walk always advances.
// A value matching no known header, or shorter than 4 bytes, is an error
// (kFormat, naming the signature and size); an XP, 2003/Vista or 7 value
// shorter than its fixed header is kTruncated. A truncated or garbled entry
// stops the walk with a warning; the good entries before it are kept. Value
// types; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::formats {

struct ShimCacheEntry {
  std::uint32_t position = 0;  // 0 = most recent (the order the value keeps)
  // UTF-8 from UTF-16LE (unpaired surrogates become U+FFFD). As stored: e.g.
  // "\??\C:\..." (XP-7), "SYSVOL\..." (8.x), "C:\..." (10); Windows 10 and
  // 8.1 AppX entries hold tab-separated package fields instead of a path.
  std::string path;
  std::optional<std::int64_t> last_modified;  // file's $SI modification time, Unix ns; nullopt when 0
  // Insertion flag 0x2 ("executed", set by CSRSS) on vista, 7, 8 and 8.1;
  // nullopt on xp, 2003 and 10 (which have no such flag).
  std::optional<bool> executed;
  std::uint64_t data_size = 0;              // size of the entry's data blob (7, 8, 8.1, 10); else 0
  std::optional<std::uint64_t> file_size;   // xp and 2003 only
  std::optional<std::int64_t> last_update;  // xp only: when the entry was last updated, Unix ns
};

struct ShimCache {
  std::string format;  // one of the names in the table above
  // 32 or 64: the entry layout of xp, 2003, vista and 7; 0 for the tagged
  // formats and for a 2003/vista/7 value with no readable entry (which then
  // says "vista" for 0xbadc0ffe).
  int pointer_bits = 0;
  std::vector<ShimCacheEntry> entries;
  // Why the walk stopped early or what looked wrong, e.g. "entry 12 at 0x4f0:
  // path (0x2c bytes at 0x9a10) runs past the value (0x9a20 bytes); stopped".
  std::vector<std::string> warnings;
};

Result<ShimCache> ParseShimCache(Bytes value);

}  // namespace trawl::core::formats
