// SPDX-License-Identifier: Apache-2.0
#include "core/formats/lzxpress_huffman.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace trawl::core::formats {
namespace {

constexpr std::size_t kBlockOutput = 65536;  // each table governs 64 KiB of output
constexpr std::size_t kTableBytes = 256;     // 512 symbols x 4-bit code lengths
constexpr std::size_t kSymbols = 512;
constexpr unsigned kMaxCodeLength = 15;
constexpr std::size_t kDecodeEntries = std::size_t{1} << kMaxCodeLength;

// A decode-table entry packs the symbol (9 bits) and its code length (4 bits)
// so one lookup on the next 15 bits yields both.
using DecodeTable = std::array<std::uint16_t, kDecodeEntries>;

// Builds the canonical-Huffman lookup table of MS-XCA §2.2.4: for each code
// length 1..15 in turn, symbols in ascending order take 2^(15-length)
// consecutive entries. A valid table fills the 2^15 entries exactly; an
// over-subscribed or incomplete table is corrupt (an incomplete one would
// leave bit patterns that decode to nothing).
Result<void> BuildDecodeTable(Bytes table_bytes, std::array<std::uint8_t, kSymbols>& lengths, DecodeTable& table,
                              std::size_t block, std::size_t in_offset) {
  for (std::size_t i = 0; i < kTableBytes; ++i) {
    const auto b = static_cast<std::uint8_t>(table_bytes[i]);
    lengths[2 * i] = static_cast<std::uint8_t>(b & 0x0F);
    lengths[2 * i + 1] = static_cast<std::uint8_t>(b >> 4);
  }
  std::size_t filled = 0;
  for (unsigned len = 1; len <= kMaxCodeLength; ++len) {
    const std::size_t span = std::size_t{1} << (kMaxCodeLength - len);
    for (std::size_t sym = 0; sym < kSymbols; ++sym) {
      if (lengths[sym] != len) continue;
      if (span > kDecodeEntries - filled) {
        return Fail(ErrorCode::kFormat, fmt::format("LZXPRESS Huffman: block {} (input offset {}): code-length table "
                                                    "is over-subscribed",
                                                    block, HexOffset(in_offset)));
      }
      std::fill_n(table.begin() + static_cast<std::ptrdiff_t>(filled), span,
                  static_cast<std::uint16_t>(sym | (len << 9)));
      filled += span;
    }
  }
  if (filled != kDecodeEntries) {
    return Fail(ErrorCode::kFormat, fmt::format("LZXPRESS Huffman: block {} (input offset {}): code-length table is "
                                                "incomplete ({} of {} codes assigned)",
                                                block, HexOffset(in_offset), filled, kDecodeEntries));
  }
  return {};
}

// The bit stream of MS-XCA: 16-bit little-endian words consumed MSB first,
// with a 32-bit look-ahead register. `extra_` is the pseudocode's
// ExtraBitCount: the register holds 16 + extra_ valid bits. Raw bytes (long
// match lengths) are taken from the byte position after the last word loaded,
// which is why the register is refilled at exactly the points the pseudocode
// does it. Past the end of the input the register is fed zero words (the
// look-ahead may legitimately run past the last word); consuming any of those
// phantom bits means the stream was cut short.
class BitInput {
 public:
  BitInput(Bytes input, std::size_t pos) : input_(input), pos_(pos) {
    const std::uint32_t hi = LoadWord();
    const std::uint32_t lo = LoadWord();
    bits_ = (hi << 16) | lo;
    extra_ = 16;
  }

  std::uint32_t Peek15() const { return bits_ >> (32 - kMaxCodeLength); }
  // Top n bits, n in 0..15.
  std::uint32_t PeekBits(unsigned n) const { return n == 0 ? 0 : bits_ >> (32 - n); }

  // Drops n (<= 16) bits and refills when fewer than 16 remain. False when
  // the dropped bits went past the real input.
  bool Consume(unsigned n) {
    bits_ <<= n;
    extra_ -= static_cast<int>(n);
    if (16 + extra_ < static_cast<int>(16 * phantom_words_)) return false;
    if (extra_ < 0) {
      bits_ |= LoadWord() << static_cast<unsigned>(-extra_);
      extra_ += 16;
    }
    return true;
  }

  // Raw little-endian value of `n` bytes at the byte position.
  bool ReadRaw(std::size_t n, std::uint32_t& value) {
    if (pos_ > input_.size() || n > input_.size() - pos_) return false;
    value = 0;
    for (std::size_t i = 0; i < n; ++i) {
      value |= static_cast<std::uint32_t>(input_[pos_ + i]) << (8 * i);
    }
    pos_ += n;
    return true;
  }

  // Byte position after the last word or raw byte taken; the next block's
  // table starts here. May exceed the input size once phantom words were fed.
  std::size_t position() const { return pos_; }

 private:
  std::uint32_t LoadWord() {
    if (pos_ <= input_.size() && input_.size() - pos_ >= 2) {
      const auto w = static_cast<std::uint32_t>(input_[pos_]) | (static_cast<std::uint32_t>(input_[pos_ + 1]) << 8);
      pos_ += 2;
      return w;
    }
    ++phantom_words_;
    pos_ += 2;
    return 0;
  }

  Bytes input_;
  std::size_t pos_;
  std::uint32_t bits_ = 0;
  int extra_ = 0;
  std::size_t phantom_words_ = 0;
};

Error Truncated(std::size_t block, std::size_t out_pos, std::string_view what) {
  return Error{ErrorCode::kTruncated, fmt::format("LZXPRESS Huffman: block {}: input ends {} (output at {})", block,
                                                  what, HexOffset(out_pos))};
}

}  // namespace

Result<std::vector<std::byte>> DecompressLzxpressHuffman(Bytes input, std::size_t uncompressed_size,
                                                         std::size_t limit) {
  if (uncompressed_size > limit) {
    return Fail(ErrorCode::kLimit, fmt::format("LZXPRESS Huffman: declared uncompressed size {} exceeds the limit of "
                                               "{} bytes",
                                               uncompressed_size, limit));
  }
  // Any output needs at least one 256-byte table. (No tighter bound holds: a
  // match may run past its block's 64 KiB, so one table can cover more.)
  if (uncompressed_size != 0 && input.size() < kTableBytes) {
    return Fail(ErrorCode::kTruncated, fmt::format("LZXPRESS Huffman: {} bytes of output need a {}-byte code-length "
                                                   "table, input has {} bytes",
                                                   uncompressed_size, kTableBytes, input.size()));
  }
  std::vector<std::byte> out(uncompressed_size);
  std::array<std::uint8_t, kSymbols> lengths{};
  DecodeTable table{};
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  std::size_t block = 0;

  while (out_pos < uncompressed_size) {
    if (in_pos > input.size() || input.size() - in_pos < kTableBytes) {
      return std::unexpected(Truncated(block, out_pos, "inside the code-length table"));
    }
    TRAWL_TRY_VOID(BuildDecodeTable(input.subspan(in_pos, kTableBytes), lengths, table, block, in_pos));
    BitInput bits(input, in_pos + kTableBytes);
    const std::size_t block_end = out_pos + std::min(kBlockOutput, uncompressed_size - out_pos);

    while (out_pos < block_end) {
      const std::uint16_t entry = table[bits.Peek15()];
      const unsigned symbol = entry & 0x1FFu;
      if (!bits.Consume(entry >> 9)) {
        return std::unexpected(Truncated(block, out_pos, "inside a Huffman code"));
      }
      if (symbol < 256) {
        out[out_pos++] = static_cast<std::byte>(symbol);
        continue;
      }
      // A match: low nibble = length - 3 (15 = escape to raw bytes), high
      // nibble = number of offset bits below the implicit leading one.
      const unsigned match = symbol - 256;
      const unsigned offset_bits = match >> 4;
      std::uint64_t length = match & 0x0Fu;
      if (length == 15) {
        std::uint32_t raw = 0;
        if (!bits.ReadRaw(1, raw)) {
          return std::unexpected(Truncated(block, out_pos, "inside a match length byte"));
        }
        if (raw == 255) {
          if (!bits.ReadRaw(2, raw)) {
            return std::unexpected(Truncated(block, out_pos, "inside a 16-bit match length"));
          }
          if (raw == 0) {
            if (!bits.ReadRaw(4, raw)) {
              return std::unexpected(Truncated(block, out_pos, "inside a 32-bit match length"));
            }
          }
          if (raw < 15) {
            return Fail(ErrorCode::kFormat, fmt::format("LZXPRESS Huffman: block {}: extended match length {} is "
                                                        "below 15 (output at {})",
                                                        block, raw, HexOffset(out_pos)));
          }
          length = raw;
        } else {
          length = std::uint64_t{raw} + 15;
        }
      }
      length += 3;
      const std::size_t offset = (std::size_t{1} << offset_bits) | bits.PeekBits(offset_bits);
      if (!bits.Consume(offset_bits)) {
        return std::unexpected(Truncated(block, out_pos, "inside match offset bits"));
      }
      if (offset > out_pos) {
        return Fail(ErrorCode::kFormat, fmt::format("LZXPRESS Huffman: block {}: match offset {} reaches before the "
                                                    "start of the output (output at {})",
                                                    block, offset, HexOffset(out_pos)));
      }
      if (length > uncompressed_size - out_pos) {
        return Fail(ErrorCode::kFormat, fmt::format("LZXPRESS Huffman: block {}: match length {} runs past the "
                                                    "declared size {} (output at {})",
                                                    block, length, uncompressed_size, HexOffset(out_pos)));
      }
      const auto n = static_cast<std::size_t>(length);
      std::byte* dst = out.data() + out_pos;
      const std::byte* src = dst - offset;
      if (offset >= n) {
        std::memcpy(dst, src, n);
      } else {
        // Overlapping copy repeats the last `offset` bytes, byte by byte.
        for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
      }
      out_pos += n;
    }
    in_pos = bits.position();
    ++block;
  }
  return out;
}

}  // namespace trawl::core::formats
