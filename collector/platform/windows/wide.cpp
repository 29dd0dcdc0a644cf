// SPDX-License-Identifier: Apache-2.0
#include "collector/platform/windows/wide.h"

#include <windows.h>

#include <span>

#include "core/util/text.h"

namespace trawl::collector::win {

std::string Narrow(std::wstring_view wide) {
  if (wide.empty()) return {};
  if (wide.size() > 0x7fffffff) wide = wide.substr(0, 0x7fffffff);
  const int n = static_cast<int>(wide.size());
  // Strict first: WC_ERR_INVALID_CHARS fails on an unpaired surrogate, which
  // sends the name through the decoder that marks it with U+FFFD.
  const int len = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wide.data(), n, nullptr, 0, nullptr, nullptr);
  if (len > 0) {
    std::string out(static_cast<std::size_t>(len), '\0');
    if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wide.data(), n, out.data(), len, nullptr, nullptr) == len) {
      return out;
    }
  }
  static_assert(sizeof(wchar_t) == 2, "Windows wchar_t is UTF-16");
  return core::Utf16LeToUtf8(std::as_bytes(std::span<const wchar_t>(wide.data(), wide.size())));
}

std::wstring Widen(std::string_view utf8) {
  if (utf8.empty()) return {};
  if (utf8.size() > 0x7fffffff) utf8 = utf8.substr(0, 0x7fffffff);
  const int n = static_cast<int>(utf8.size());
  const int len = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), n, nullptr, 0);
  if (len <= 0) return {};
  std::wstring out(static_cast<std::size_t>(len), L'\0');
  if (MultiByteToWideChar(CP_UTF8, 0, utf8.data(), n, out.data(), len) != len) return {};
  return out;
}

std::wstring ExtendedPath(std::string_view utf8_path) {
  std::wstring p = Widen(utf8_path);
  for (wchar_t& c : p) {
    if (c == L'/') c = L'\\';
  }
  if (p.starts_with(L"\\\\?\\") || p.starts_with(L"\\\\.\\") || p.starts_with(L"\\??\\")) return p;
  if (p.starts_with(L"\\\\")) return L"\\\\?\\UNC\\" + p.substr(2);
  const bool drive_absolute = p.size() >= 3 && ((p[0] >= L'A' && p[0] <= L'Z') || (p[0] >= L'a' && p[0] <= L'z')) &&
                              p[1] == L':' && p[2] == L'\\';
  if (drive_absolute) return L"\\\\?\\" + p;
  if (p.empty()) return p;
  // Relative or drive-relative ("x", "C:x", "\x"): resolve against the
  // current directory once; the result is absolute and gets the prefix.
  const DWORD need = GetFullPathNameW(p.c_str(), 0, nullptr, nullptr);
  if (need == 0) return p;
  std::wstring full(need, L'\0');
  const DWORD got = GetFullPathNameW(p.c_str(), need, full.data(), nullptr);
  if (got == 0 || got >= need) return p;
  full.resize(got);
  if (full.starts_with(L"\\\\")) return L"\\\\?\\UNC\\" + full.substr(2);
  return L"\\\\?\\" + full;
}

std::string ErrorText(unsigned long code) {
  wchar_t* buf = nullptr;
  constexpr DWORD kFlags = FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS |
                           FORMAT_MESSAGE_MAX_WIDTH_MASK;
  // English when the message table has it (reports are read by responders
  // elsewhere), else the system's language.
  DWORD n = FormatMessageW(kFlags, nullptr, code, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US),
                           reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  if (n == 0) n = FormatMessageW(kFlags, nullptr, code, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string text;
  if (n > 0 && buf != nullptr) text = Narrow(std::wstring_view(buf, n));
  if (buf != nullptr) LocalFree(buf);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\n')) text.pop_back();
  if (text.empty()) text = "Windows error";
  return text + " (" + std::to_string(code) + ")";
}

}  // namespace trawl::collector::win
