// SPDX-License-Identifier: Apache-2.0
// Text and path helpers for the Windows platform layer. The collector keeps
// UTF-8 inside and talks to Windows through the wide (UTF-16) APIs only;
// these functions are the one place that converts. Names on a hostile host
// may hold unpaired surrogates (NTFS does not check): Narrow() maps them to
// U+FFFD the way core/util/text.h does instead of failing or dropping the
// name, so the record still exists and shows that it was repaired. Pure
// functions apart from ExtendedPath() on relative input (current directory)
// and ErrorText() (system message table); all thread-safe. Windows only.
#pragma once

#include <string>
#include <string_view>

namespace trawl::collector::win {

// UTF-16 to UTF-8 (WideCharToMultiByte); unpaired surrogates become U+FFFD.
std::string Narrow(std::wstring_view wide);
// UTF-8 to UTF-16 (MultiByteToWideChar); invalid UTF-8 becomes U+FFFD.
std::wstring Widen(std::string_view utf8);
// The form CreateFileW needs for paths longer than MAX_PATH: "C:/a/b" and
// "C:\a\b" -> "\\?\C:\a\b", "\\srv\share\x" -> "\\?\UNC\srv\share\x"; a path
// already in \\?\ or \\.\ form is kept. Separators become '\'. Components are
// kept byte for byte (no stripping of trailing dots or spaces, which the
// Win32 normalisation would do and which attackers use to hide files); a
// relative path is first made absolute with GetFullPathNameW.
std::wstring ExtendedPath(std::string_view utf8_path);
// "Access is denied. (5)": the system message for a Win32 error code.
std::string ErrorText(unsigned long code);

}  // namespace trawl::collector::win
