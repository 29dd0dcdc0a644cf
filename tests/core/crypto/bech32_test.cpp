// SPDX-License-Identifier: Apache-2.0
// Bech32 against the BIP-173 test vectors (bip-0173.mediawiki, "Test vectors").
#include "core/crypto/bech32.h"

#include <gtest/gtest.h>

#include "core/util/byte_reader.h"
#include "core/util/text.h"

namespace trawl::core {
namespace {

TEST(Bech32Test, Bip173ValidStringsDecodeAndReencode) {
  const std::vector<std::string> valid = {
      "A12UEL5L",
      "a12uel5l",
      "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
      "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
      "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
      "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
      "?1ezyfcl",
  };
  for (const auto& s : valid) {
    auto raw = Bech32DecodeRaw(s);
    ASSERT_TRUE(raw) << s << ": " << raw.error().ToString();
    auto again = Bech32EncodeRaw(raw->hrp, raw->values);
    ASSERT_TRUE(again) << s;
    EXPECT_EQ(*again, ToLowerAscii(s));
  }
  auto abc = Bech32DecodeRaw("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw");
  ASSERT_TRUE(abc);
  EXPECT_EQ(abc->hrp, "abcdef");
  ASSERT_EQ(abc->values.size(), 32u);
  for (std::uint8_t i = 0; i < 32; ++i) EXPECT_EQ(abc->values[i], i);  // the charset in order
  auto upper = Bech32DecodeRaw("A12UEL5L");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->hrp, "A");  // case preserved for callers that insist on one
}

TEST(Bech32Test, Bip173InvalidStringsAreRejected) {
  const std::vector<std::string> invalid = {
      std::string("\x20") + "1nwldj5",  // HRP character out of range
      std::string("\x7f") + "1axkwrx",
      std::string("\x80") + "1eym55h",
      "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
      "pzry9x0s0muk",   // no separator
      "1pzry9x0s0muk",  // empty HRP
      "x1b4n0q5v",      // invalid data character
      "li1dgmt3",       // too short checksum
      std::string("de1lg7wt") + "\xff",
      "A1G7SGD8",  // checksum over the upper-case HRP
      "10a06t8",
      "1qzzfhee",
      "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",  // mixed case
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",                      // bad checksum
  };
  for (const auto& s : invalid) {
    auto raw = Bech32DecodeRaw(s);
    EXPECT_FALSE(raw) << "accepted " << EscapeForTerminal(s);
    if (!raw) {
      EXPECT_EQ(raw.error().code, ErrorCode::kFormat);
    }
  }
  auto mixed = Bech32DecodeRaw("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7");
  EXPECT_NE(mixed.error().message.find("mixed"), std::string::npos);
}

TEST(Bech32Test, LengthLimitIsAParameter) {
  // The longest valid BIP-173 vector is exactly 90 characters; age keys may
  // be longer (c2sp.org/age drops the limit).
  const std::string s90 = "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j";
  EXPECT_EQ(s90.size(), 90u);
  EXPECT_TRUE(Bech32DecodeRaw(s90, 90));
  EXPECT_FALSE(Bech32DecodeRaw(s90, 89));
  std::vector<std::uint8_t> long_data(100, 0xab);
  auto encoded = Bech32Encode("age", long_data);
  ASSERT_TRUE(encoded);
  EXPECT_GT(encoded->size(), 90u);
  auto decoded = Bech32Decode(*encoded);  // age: no limit
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->data, long_data);
  EXPECT_FALSE(Bech32Decode(*encoded, kBech32MaxLength));
}

TEST(Bech32Test, SegwitVectorsConvertBits) {
  // BIP-173 segwit vectors: witness version, then the program in 5-bit groups.
  auto a = Bech32DecodeRaw("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->hrp, "BC");
  ASSERT_FALSE(a->values.empty());
  EXPECT_EQ(a->values[0], 0);
  auto program = ConvertBits5To8(std::span(a->values).subspan(1));
  ASSERT_TRUE(program);
  EXPECT_EQ(ToHex(AsBytes(std::string_view(reinterpret_cast<const char*>(program->data()), program->size()))),
            "751e76e8199196d454941c45d1b3a323f1433bd6");
  // Round trip the other way.
  auto back = ConvertBits8To5(*program);
  EXPECT_EQ(back, std::vector<std::uint8_t>(a->values.begin() + 1, a->values.end()));

  // "zero padding of more than 4 bits" and "non-zero padding in 8-to-5".
  auto pad = Bech32DecodeRaw("bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du");
  ASSERT_TRUE(pad);
  EXPECT_FALSE(ConvertBits5To8(std::span(pad->values).subspan(1)));
  auto nonzero = Bech32DecodeRaw("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv");
  ASSERT_TRUE(nonzero);
  EXPECT_FALSE(ConvertBits5To8(std::span(nonzero->values).subspan(1)));
}

TEST(Bech32Test, EncodeRejectsBadInput) {
  const std::vector<std::uint8_t> bad = {1, 32};
  EXPECT_FALSE(Bech32EncodeRaw("a", bad));
  EXPECT_FALSE(Bech32EncodeRaw("", {}));
  EXPECT_FALSE(Bech32EncodeRaw(std::string(84, 'a'), {}));
  auto upper_hrp = Bech32Encode("AGE-SECRET-KEY-", std::vector<std::uint8_t>(32, 0x42));
  ASSERT_TRUE(upper_hrp);
  // The age spec's example identity is 32 bytes of 0x42 ("B").
  EXPECT_EQ(ToUpperAscii(*upper_hrp), "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX");
}

}  // namespace
}  // namespace trawl::core
