// SPDX-License-Identifier: Apache-2.0
#include "core/crypto/bech32.h"

#include <array>

#include <fmt/format.h>

namespace trawl::core {
namespace {

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr std::size_t kChecksumLength = 6;
constexpr std::size_t kMaxHrpLength = 83;

// Maps an ASCII character to its 5-bit value, -1 when not in the charset.
constexpr std::array<std::int8_t, 128> MakeReverseCharset() {
  std::array<std::int8_t, 128> table{};
  for (auto& v : table) v = -1;
  for (std::size_t i = 0; i < kCharset.size(); ++i) {
    const auto lower = static_cast<unsigned char>(kCharset[i]);
    table[lower] = static_cast<std::int8_t>(i);
    if (lower >= 'a' && lower <= 'z') table[lower - 'a' + 'A'] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto kReverseCharset = MakeReverseCharset();

std::uint32_t PolyMod(std::span<const std::uint8_t> values) {
  constexpr std::array<std::uint32_t, 5> kGenerator = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::uint32_t chk = 1;
  for (std::uint8_t v : values) {
    const std::uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (std::size_t i = 0; i < kGenerator.size(); ++i) {
      if ((top >> i) & 1) chk ^= kGenerator[i];
    }
  }
  return chk;
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The HRP expansion of BIP-173 (high bits, a zero, low bits) over the
// lower-case HRP, followed by `values`.
std::vector<std::uint8_t> ChecksumInput(std::string_view hrp, std::span<const std::uint8_t> values) {
  std::vector<std::uint8_t> out;
  out.reserve(hrp.size() * 2 + 1 + values.size() + kChecksumLength);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(static_cast<unsigned char>(LowerAscii(c)) >> 5));
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(static_cast<unsigned char>(LowerAscii(c)) & 31));
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

}  // namespace

Result<Bech32Raw> Bech32DecodeRaw(std::string_view text, std::size_t max_length) {
  if (max_length != 0 && text.size() > max_length) {
    return Fail(ErrorCode::kFormat,
                fmt::format("bech32: string is {} characters, longer than the {} allowed", text.size(), max_length));
  }
  bool has_lower = false;
  bool has_upper = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 33 || c > 126) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("bech32: character 0x{:02x} at position {} is outside printable ASCII", c, i));
    }
    has_lower = has_lower || (c >= 'a' && c <= 'z');
    has_upper = has_upper || (c >= 'A' && c <= 'Z');
  }
  if (has_lower && has_upper) {
    return Fail(ErrorCode::kFormat, "bech32: mixed upper and lower case");
  }
  const std::size_t sep = text.rfind('1');
  if (sep == std::string_view::npos) {
    return Fail(ErrorCode::kFormat, "bech32: no '1' separator");
  }
  if (sep == 0) return Fail(ErrorCode::kFormat, "bech32: empty human-readable part");
  if (sep > kMaxHrpLength) {
    return Fail(ErrorCode::kFormat,
                fmt::format("bech32: human-readable part is {} characters, more than {}", sep, kMaxHrpLength));
  }
  const std::size_t data_length = text.size() - sep - 1;
  if (data_length < kChecksumLength) {
    return Fail(ErrorCode::kFormat,
                fmt::format("bech32: data part is {} characters, shorter than the 6-character checksum", data_length));
  }
  std::vector<std::uint8_t> values;
  values.reserve(data_length);
  for (std::size_t i = sep + 1; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::int8_t v = c < 128 ? kReverseCharset[c] : -1;
    if (v < 0) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("bech32: invalid data character '{}' at position {}", static_cast<char>(c), i));
    }
    values.push_back(static_cast<std::uint8_t>(v));
  }
  const std::string_view hrp = text.substr(0, sep);
  if (PolyMod(ChecksumInput(hrp, values)) != 1) {
    return Fail(ErrorCode::kFormat, "bech32: checksum mismatch (mistyped or damaged string)");
  }
  values.resize(values.size() - kChecksumLength);
  return Bech32Raw{std::string(hrp), std::move(values)};
}

Result<std::string> Bech32EncodeRaw(std::string_view hrp, std::span<const std::uint8_t> values) {
  if (hrp.empty() || hrp.size() > kMaxHrpLength) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("bech32: human-readable part must be 1..{} characters", kMaxHrpLength));
  }
  std::string out;
  out.reserve(hrp.size() + 1 + values.size() + kChecksumLength);
  for (char c : hrp) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126) {
      return Fail(ErrorCode::kInvalidArgument, "bech32: human-readable part has a non-printable character");
    }
    out.push_back(LowerAscii(c));
  }
  out.push_back('1');
  for (std::uint8_t v : values) {
    if (v >= 32) return Fail(ErrorCode::kInvalidArgument, "bech32: data value is not 5 bits");
    out.push_back(kCharset[v]);
  }
  std::vector<std::uint8_t> input = ChecksumInput(hrp, values);
  input.insert(input.end(), kChecksumLength, 0);
  const std::uint32_t mod = PolyMod(input) ^ 1;
  for (std::size_t i = 0; i < kChecksumLength; ++i) {
    out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  }
  return out;
}

std::vector<std::uint8_t> ConvertBits8To5(std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 31));
    }
  }
  if (bits > 0) out.push_back(static_cast<std::uint8_t>((acc << (5 - bits)) & 31));
  return out;
}

Result<std::vector<std::uint8_t>> ConvertBits5To8(std::span<const std::uint8_t> values) {
  std::vector<std::uint8_t> out;
  out.reserve(values.size() * 5 / 8);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t v : values) {
    if (v >= 32) return Fail(ErrorCode::kFormat, "bech32: data value is not 5 bits");
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 5) return Fail(ErrorCode::kFormat, "bech32: more than 4 bits of padding");
  if ((acc & ((1u << bits) - 1)) != 0) return Fail(ErrorCode::kFormat, "bech32: non-zero padding bits");
  return out;
}

Result<std::string> Bech32Encode(std::string_view hrp, std::span<const std::uint8_t> bytes) {
  const std::vector<std::uint8_t> values = ConvertBits8To5(bytes);
  return Bech32EncodeRaw(hrp, values);
}

Result<Bech32Bytes> Bech32Decode(std::string_view text, std::size_t max_length) {
  auto raw = Bech32DecodeRaw(text, max_length);
  if (!raw) return std::unexpected(std::move(raw.error()));
  auto data = ConvertBits5To8(raw->values);
  if (!data) return std::unexpected(std::move(data.error()));
  return Bech32Bytes{std::move(raw->hrp), std::move(*data)};
}

}  // namespace trawl::core
