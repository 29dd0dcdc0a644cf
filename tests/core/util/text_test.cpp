// SPDX-License-Identifier: Apache-2.0
#include "core/util/text.h"

#include <gtest/gtest.h>

#include "core/util/byte_reader.h"
#include "core/util/time.h"

namespace trawl::core {
namespace {

TEST(TextTest, Utf16RoundTripAndUnpairedSurrogates) {
  const std::string utf8 = "C:\\Users\\J\xc3\xbcrgen\\\xe7\x9b\xae\xe5\xbd\x95\\\xf0\x9f\x98\x80.dll";
  const std::string utf16 = Utf8ToUtf16Le(utf8);
  EXPECT_EQ(Utf16LeToUtf8(AsBytes(utf16)), utf8);
  // A lone high surrogate followed by 'A' becomes U+FFFD then 'A'.
  const std::string lone("\x00\xD8\x41\x00", 4);
  EXPECT_EQ(Utf16LeToUtf8(AsBytes(lone)),
            "\xef\xbf\xbd"
            "A");
  const std::string with_nul("A\0B\0\0\0C\0", 8);
  EXPECT_EQ(Utf16LeToUtf8UntilNul(AsBytes(with_nul)), "AB");
}

TEST(TextTest, EscapeForTerminalNeutralisesControlSequences) {
  EXPECT_EQ(EscapeForTerminal("evil\x1b[31mred"), "evil\\x1b[31mred");
  EXPECT_EQ(EscapeForTerminal("bad\xff"), "bad\\xff");
  EXPECT_EQ(EscapeForTerminal("ok \xc3\xa9"), "ok \xc3\xa9");
  // Windows paths as they are; only a backslash that would read as an escape is doubled.
  EXPECT_EQ(EscapeForTerminal("C:\\ProgramData\\TPM\\winscard.dll"), "C:\\ProgramData\\TPM\\winscard.dll");
  EXPECT_EQ(EscapeForTerminal("\\\\server\\share"), "\\\\server\\share");
  EXPECT_EQ(EscapeForTerminal("C:\\x64\\u.exe"), "C:\\\\x64\\u.exe");
  EXPECT_EQ(EscapeForTerminal("C:\\Users\\Public\\upd.exe \\u202e"), "C:\\Users\\Public\\upd.exe \\\\u202e");
  EXPECT_EQ(EscapeForTerminal("a\\x1b"), "a\\\\x1b");  // the text, not an escape of ESC
  EXPECT_EQ(EscapeForTerminal("a\x1b"), "a\\x1b");
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));
  EXPECT_EQ(RepairUtf8("a\xff"
                       "b"),
            "a\xef\xbf\xbd"
            "b");
}

TEST(ByteReaderTest, BoundsAreCheckedAndNamed) {
  const std::string data("\x01\x02\x03\x04\x05", 5);
  ByteReader r(AsBytes(data));
  EXPECT_EQ(r.U32(0, "x").value(), 0x04030201u);
  auto bad = r.U32(2, "metrics offset");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kTruncated);
  EXPECT_NE(bad.error().message.find("metrics offset"), std::string::npos);
  EXPECT_FALSE(r.Slice(~0ULL, 2, "overflow"));
}

TEST(TimeTest, FiletimeFormatting) {
  // 2000-01-01T00:00:00Z = 125911584000000000
  EXPECT_EQ(FiletimeToIso(125911584000000000ULL + 1234567), "2000-01-01T00:00:00.1234567Z");
  EXPECT_EQ(UnixToIso(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(UnixToIso(951782400), "2000-02-29T00:00:00Z");
}

}  // namespace
}  // namespace trawl::core
