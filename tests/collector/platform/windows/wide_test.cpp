// SPDX-License-Identifier: Apache-2.0
// collector/platform/windows/wide.h, built only for Windows (run under Wine
// by dist/test-wine.sh). The oracle for the UTF-16 -> UTF-8 direction is
// core::Utf16LeToUtf8, the decoder the rest of trawl uses for names read
// from disk; the expected bytes are also written out by hand.
#include "collector/platform/windows/wide.h"

#include <gtest/gtest.h>

#include <span>

#include "core/util/text.h"

namespace trawl::collector::win {
namespace {

std::string ViaCore(std::wstring_view w) {
  return core::Utf16LeToUtf8(std::as_bytes(std::span<const wchar_t>(w.data(), w.size())));
}

TEST(WideTest, NarrowConvertsValidUtf16) {
  const std::wstring w = L"C:\\Users\\J\u00fcrgen\\\u76ee\u5f55\\\U0001F600.dll";
  EXPECT_EQ(Narrow(w), "C:\\Users\\J\xc3\xbcrgen\\\xe7\x9b\xae\xe5\xbd\x95\\\xf0\x9f\x98\x80.dll");
  EXPECT_EQ(Narrow(w), ViaCore(w));
  EXPECT_EQ(Narrow(L""), "");
}

TEST(WideTest, NarrowMarksUnpairedSurrogatesInsteadOfDroppingTheName) {
  // NTFS accepts names that are not valid UTF-16; they must still produce a
  // record, marked with U+FFFD, and the rest of the name must survive.
  const wchar_t lone_high[] = {L'a', static_cast<wchar_t>(0xD800), L'b', 0};
  const wchar_t lone_low[] = {static_cast<wchar_t>(0xDC00), L'.', L'd', L'l', L'l', 0};
  const wchar_t high_at_end[] = {L'x', static_cast<wchar_t>(0xDBFF), 0};
  EXPECT_EQ(Narrow(lone_high),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(Narrow(lone_low), "\xef\xbf\xbd.dll");
  EXPECT_EQ(Narrow(high_at_end), "x\xef\xbf\xbd");
  for (const wchar_t* w : {lone_high, lone_low, high_at_end}) EXPECT_EQ(Narrow(w), ViaCore(w));
}

TEST(WideTest, WidenRoundTripsAndRepairsInvalidUtf8) {
  const std::string utf8 = "C:\\ProgramData\\TPM\\\xe7\x9b\xae.dll";
  EXPECT_EQ(Narrow(Widen(utf8)), utf8);
  EXPECT_EQ(Widen("a\xff"
                  "b"),
            std::wstring(L"a\uFFFDb"));
  EXPECT_EQ(Widen(""), L"");
}

TEST(WideTest, ExtendedPathAddsTheLongPathPrefix) {
  EXPECT_EQ(ExtendedPath("C:/ProgramData/TPM/winscard.dll"), L"\\\\?\\C:\\ProgramData\\TPM\\winscard.dll");
  EXPECT_EQ(ExtendedPath("c:\\Windows"), L"\\\\?\\c:\\Windows");
  EXPECT_EQ(ExtendedPath("\\\\server\\share\\x.dll"), L"\\\\?\\UNC\\server\\share\\x.dll");
  EXPECT_EQ(ExtendedPath("\\\\?\\C:\\x"), L"\\\\?\\C:\\x");
  EXPECT_EQ(ExtendedPath("\\\\.\\PhysicalDrive0"), L"\\\\.\\PhysicalDrive0");
  // Trailing dots and spaces are kept: Win32 normalisation would strip them
  // and open a different file than the one the listing showed.
  EXPECT_EQ(ExtendedPath("C:\\x\\evil.dll. "), L"\\\\?\\C:\\x\\evil.dll. ");
  const std::wstring rel = ExtendedPath("relative\\name.txt");
  EXPECT_TRUE(rel.starts_with(L"\\\\?\\")) << Narrow(rel);
  EXPECT_TRUE(rel.ends_with(L"\\relative\\name.txt")) << Narrow(rel);
}

TEST(WideTest, ErrorTextNamesTheCode) {
  const std::string text = ErrorText(5);  // ERROR_ACCESS_DENIED
  EXPECT_NE(text.find("(5)"), std::string::npos) << text;
  EXPECT_GT(text.size(), 4u);
}

}  // namespace
}  // namespace trawl::collector::win
