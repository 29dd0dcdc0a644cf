// SPDX-License-Identifier: Apache-2.0
// Bech32 (BIP-173) encoding and decoding, as used by age for its keys
// ("age1..." recipients, "AGE-SECRET-KEY-1..." identities). The age spec
// (c2sp.org/age) uses BIP-173 Bech32 (not Bech32m) without the 90-character
// limit, so the limit is a parameter. Strings must be all lower or all upper
// case; the checksum is computed over the lower-case form. The decoded HRP is
// returned in the case it was written in, so callers can insist on a case
// (age recipients are lower case, identities upper case).
// Pure functions over values: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"

namespace trawl::core {

// BIP-173's overall length limit; age keys pass 0 (no limit).
inline constexpr std::size_t kBech32MaxLength = 90;

struct Bech32Raw {
  std::string hrp;                   // as written (case preserved)
  std::vector<std::uint8_t> values;  // 5-bit data values, checksum removed
};

// Decodes the 5-bit data part without converting it to bytes. max_length 0
// disables the length limit.
Result<Bech32Raw> Bech32DecodeRaw(std::string_view text, std::size_t max_length = kBech32MaxLength);
// Encodes 5-bit values (each < 32) under a lower-case HRP; fails on an HRP
// outside 1..83 printable ASCII characters or a value >= 32.
Result<std::string> Bech32EncodeRaw(std::string_view hrp, std::span<const std::uint8_t> values);

// Regroups bits between 8-bit bytes and 5-bit values. From 5 to 8, BIP-173's
// padding rule applies: an incomplete group must be at most 4 bits and zero.
std::vector<std::uint8_t> ConvertBits8To5(std::span<const std::uint8_t> bytes);
Result<std::vector<std::uint8_t>> ConvertBits5To8(std::span<const std::uint8_t> values);

struct Bech32Bytes {
  std::string hrp;  // as written (case preserved)
  std::vector<std::uint8_t> data;
};

// Byte-level helpers as age uses them (no length limit by default).
Result<std::string> Bech32Encode(std::string_view hrp, std::span<const std::uint8_t> bytes);
Result<Bech32Bytes> Bech32Decode(std::string_view text, std::size_t max_length = 0);

}  // namespace trawl::core
