// SPDX-License-Identifier: Apache-2.0
// Maps a source path from a collected host to the path of its copy inside the
// archive: readable (drive letters, UNC, Unix paths survive), reversible, and
// unable to escape the extraction folder. Also the checks the extractor uses
// to refuse hostile entry names. Pure functions; see docs/archive-format.md.
#pragma once

#include <string>
#include <string_view>

#include "core/util/error.h"

namespace trawl::core::archive {

// "/usr/lib/x.so"            -> "files/usr/lib/x.so"
// "C:\\Windows\\a b.pf"      -> "files/C/Windows/a b.pf"
// "\\\\srv\\share\\x.dll"    -> "files/UNC/srv/share/x.dll"
// Bytes that could mislead an extractor ('%', '\\' in a Unix name, ':',
// control characters) and every non-ASCII byte are percent-encoded, as are
// the components "." and "..": member names are plain ASCII that every unzip
// shows alike, need no character-set conversion, and cannot escape.
std::string ArchivePathForSource(std::string_view source_path, bool windows_source);

// Percent-encodes one path component (see above).
std::string EncodeComponent(std::string_view component);

// Checks an entry name read from an archive before extraction: relative,
// '/'-separated, no empty, "." or ".." components, no backslashes, no NUL,
// no drive letters, no ':' anywhere (an NTFS alternate data stream), no
// component ending in '.' or ' ' (Windows strips those). The collector never
// writes such names (EncodeComponent). The error names the entry.
Result<void> CheckSafeEntryName(std::string_view name);

}  // namespace trawl::core::archive
