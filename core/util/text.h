// SPDX-License-Identifier: Apache-2.0
// Text helpers shared by parsers and reports: UTF-16LE decoding that never
// rejects input (unpaired surrogates become U+FFFD, as Windows file names may
// hold them), UTF-8 validation and repair, hex, ASCII case folding, and
// escaping of host-controlled strings for terminals. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/util/byte_reader.h"

namespace trawl::core {

// Decodes UTF-16LE code units to UTF-8; stops at the end of `bytes` (an odd
// trailing byte is ignored). Unpaired surrogates map to U+FFFD.
// Appends code point `cp` as UTF-8 (1 to 4 bytes; the caller keeps cp <= 0x10FFFF).
void AppendUtf8(std::string& out, std::uint32_t cp);
std::string Utf16LeToUtf8(Bytes bytes);
// Same, but stops at the first NUL code unit.
std::string Utf16LeToUtf8UntilNul(Bytes bytes);
// Encodes UTF-8 as UTF-16LE bytes (invalid sequences become U+FFFD).
std::string Utf8ToUtf16Le(std::string_view utf8);

bool IsValidUtf8(std::string_view s);
// Replaces each invalid byte with U+FFFD so the result is valid UTF-8.
std::string RepairUtf8(std::string_view s);
// Makes a name from a hostile host safe to print on a terminal: control
// characters (C0, DEL, C1) and invalid UTF-8 become \xNN escapes, invisible
// and bidirectional format characters (U+202E RIGHT-TO-LEFT OVERRIDE makes
// "evil\u202egpj.exe" look like "evilexe.jpg") become \uNNNN, and a
// backslash followed by what reads as one of these escapes (x and two hex
// digits, u and four) is doubled, so such text is told from an escape; any
// other backslash (Windows paths) stays as it is.
std::string EscapeForTerminal(std::string_view s);
// The same escapes without doubling backslashes, for cells and pages that
// show Windows paths as they are (CSV, HTML): what a human reads is never
// reordered or hidden by the text itself.
std::string EscapeInvisible(std::string_view s);
// Bidirectional controls, zero-width and other invisible format characters.
bool IsInvisibleFormatChar(std::uint32_t cp);

std::string ToHex(Bytes bytes);
std::string ToLowerAscii(std::string_view s);
std::string ToUpperAscii(std::string_view s);
bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b);
bool EndsWithIgnoreCaseAscii(std::string_view s, std::string_view suffix);

}  // namespace trawl::core
