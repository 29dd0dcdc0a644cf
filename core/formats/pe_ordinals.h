// SPDX-License-Identifier: Apache-2.0
// Names for by-ordinal imports, as pefile's ordlookup gives them, so that
// PeAnalyzer's imphash equals pefile get_imphash() and YARA pe.imphash()
// (windows-formats.md §2.4). Pure functions over constant tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trawl::core::formats {

// For ws2_32.dll, wsock32.dll and oleaut32.dll (any case): the table name, or
// "ord<N>" when the table lacks the ordinal. For other DLLs: nullopt.
std::optional<std::string> PeOrdinalName(std::string_view dll, std::uint32_t ordinal);

}  // namespace trawl::core::formats
