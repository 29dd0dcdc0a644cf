// SPDX-License-Identifier: Apache-2.0
// ByteReader / FieldReader: every read checked, errors name the structure,
// the offset and the sizes.
#include "core/util/byte_reader.h"

#include <gtest/gtest.h>

#include <array>

namespace trawl::core {
namespace {

TEST(ByteReader, ReadsLittleAndBigEndianAndRefusesOutOfRange) {
  const std::array<std::byte, 6> raw{std::byte{0x34}, std::byte{0x12}, std::byte{0x78},
                                     std::byte{0x56}, std::byte{0xAA}, std::byte{0xBB}};
  const ByteReader r(Bytes(raw.data(), raw.size()));
  EXPECT_EQ(r.U16(0, "a").value(), 0x1234);
  EXPECT_EQ(r.U32(0, "a").value(), 0x56781234u);
  EXPECT_EQ(r.U16BE(0, "a").value(), 0x3412);
  auto bad = r.U32(4, "e_lfanew");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "field 'e_lfanew' at 0x4 needs 4 bytes, data has 6");
  EXPECT_FALSE(r.U64(~0ULL - 2, "huge"));  // offset + length overflows
  EXPECT_FALSE(r.Slice(2, ~0ULL, "slice"));
}

TEST(FieldReader, AnOutOfRangeReadIsZeroAndTheFirstIsKept) {
  const std::array<std::byte, 8> raw{std::byte{1}, std::byte{0}, std::byte{2}, std::byte{0},
                                     std::byte{3}, std::byte{0}, std::byte{0}, std::byte{0}};
  FieldReader f(Bytes(raw.data(), raw.size()), "section header");
  EXPECT_EQ(f.U16(0), 1);
  EXPECT_EQ(f.U32(4), 3u);
  EXPECT_TRUE(f.ok());
  EXPECT_TRUE(f.Check());
  EXPECT_EQ(f.U32(6), 0u);                     // 2 bytes short
  EXPECT_EQ(f.U64(0), 0x0000000300020001ULL);  // in range, still read
  EXPECT_EQ(f.U16(100), 0);
  ASSERT_FALSE(f.ok());
  auto c = f.Check();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kTruncated);
  EXPECT_EQ(c.error().message, "field 'section header' at 0x6 needs 4 bytes, data has 8");  // the first one
}

}  // namespace
}  // namespace trawl::core
