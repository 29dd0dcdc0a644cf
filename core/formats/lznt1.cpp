// SPDX-License-Identifier: Apache-2.0
#include "core/formats/lznt1.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace trawl::core::formats {
namespace {

constexpr std::uint16_t kCompressedFlag = 0x8000;
constexpr std::uint16_t kSizeMask = 0x0FFF;

// Where the chunk being decoded sits, for error messages.
struct ChunkPlace {
  std::size_t in_offset;   // of the chunk header
  std::size_t out_offset;  // of the chunk's first output byte
  std::size_t out_size;    // the caller's buffer
};

Error ChunkError(ErrorCode code, const ChunkPlace& at, const std::string& what) {
  return Error{code, fmt::format("LZNT1: chunk at input offset {}: {}", HexOffset(at.in_offset), what)};
}

// `length` more bytes at chunk position `pos` do not fit: either the chunk
// would produce more than 4096 bytes (corrupt) or `out` is full (limit).
Error Overflow(const ChunkPlace& at, std::size_t pos, std::size_t length) {
  if (length > kLznt1ChunkSize - pos) {
    return ChunkError(ErrorCode::kFormat, at,
                      fmt::format("{} bytes at chunk output position {} run past the chunk's {} bytes", length, pos,
                                  kLznt1ChunkSize));
  }
  return ChunkError(ErrorCode::kLimit, at,
                    fmt::format("output at {} needs {} more bytes, the output buffer holds {}",
                                HexOffset(at.out_offset + pos), length, at.out_size));
}

// Decodes the flag groups of one compressed chunk (`data`, header excluded)
// into dst[0, room), room <= 4096. Returns the bytes produced.
Result<std::size_t> DecodeCompressedChunk(Bytes data, std::byte* dst, std::size_t room, const ChunkPlace& at) {
  const std::byte* in = data.data();
  const std::size_t n = data.size();
  std::size_t i = 0;
  std::size_t pos = 0;  // MS-XCA's U: bytes this chunk has produced
  while (i < n) {
    unsigned flags = static_cast<unsigned>(in[i++]);
    for (int token = 0; token < 8 && i < n; ++token, flags >>= 1) {
      if ((flags & 1u) == 0) {
        if (pos == room) return std::unexpected(Overflow(at, pos, 1));
        dst[pos++] = in[i++];
        continue;
      }
      if (n - i < 2) {
        return std::unexpected(ChunkError(
            ErrorCode::kFormat, at, fmt::format("back-reference at chunk data byte {} is cut by the chunk's end", i)));
      }
      const unsigned word = static_cast<unsigned>(in[i]) | (static_cast<unsigned>(in[i + 1]) << 8);
      i += 2;
      if (pos == 0) {
        return std::unexpected(ChunkError(ErrorCode::kFormat, at,
                                          "back-reference before any output of the chunk (chunks are independent)"));
      }
      // Displacement needs enough bits to reach the chunk's first byte: at
      // least 4, bit_width(pos - 1) once pos > 16. pos <= 4096, so <= 12.
      const unsigned displacement_bits = std::max(4u, static_cast<unsigned>(std::bit_width(pos - 1)));
      const unsigned length_bits = 16 - displacement_bits;
      const std::size_t displacement = (word >> length_bits) + 1;
      const std::size_t length = (word & ((1u << length_bits) - 1)) + 3;
      if (displacement > pos) {
        return std::unexpected(ChunkError(ErrorCode::kFormat, at,
                                          fmt::format("back-reference of displacement {} at chunk output position "
                                                      "{} reaches before the start of the chunk",
                                                      displacement, pos)));
      }
      if (length > room - pos) return std::unexpected(Overflow(at, pos, length));
      std::byte* out = dst + pos;
      const std::byte* src = out - displacement;
      if (displacement >= length) {
        std::memcpy(out, src, length);
      } else {
        // Overlapping: each byte copied becomes a source, repeating the
        // last `displacement` bytes.
        for (std::size_t k = 0; k < length; ++k) out[k] = src[k];
      }
      pos += length;
    }
  }
  return pos;
}

}  // namespace

Result<std::size_t> DecompressLznt1(Bytes input, std::span<std::byte> out) {
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  std::size_t chunk_start = 0;  // output offset of the previous chunk
  bool first = true;
  while (input.size() - in_pos >= 2) {
    const auto header = static_cast<std::uint16_t>(static_cast<unsigned>(input[in_pos]) |
                                                   (static_cast<unsigned>(input[in_pos + 1]) << 8));
    if (header == 0) break;
    ChunkPlace at{in_pos, out_pos, out.size()};
    const std::size_t size = static_cast<std::size_t>(header & kSizeMask) + 1;
    if (size > input.size() - in_pos - 2) {
      return std::unexpected(
          ChunkError(ErrorCode::kTruncated, at,
                     fmt::format("{} data bytes declared, the input has {} left", size, input.size() - in_pos - 2)));
    }
    if (!first && out_pos - chunk_start < kLznt1ChunkSize) {
      // The previous chunk stood for 4096 bytes: zero what it did not produce.
      const std::size_t pad = kLznt1ChunkSize - (out_pos - chunk_start);
      if (pad > out.size() - out_pos) {
        return std::unexpected(ChunkError(ErrorCode::kLimit, at,
                                          fmt::format("padding the previous chunk to {} bytes needs output up to {}, "
                                                      "the output buffer holds {}",
                                                      kLznt1ChunkSize, HexOffset(out_pos + pad), out.size())));
      }
      std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(out_pos), pad, std::byte{0});
      out_pos += pad;
      at.out_offset = out_pos;
    }
    first = false;
    chunk_start = out_pos;
    const Bytes data = input.subspan(in_pos + 2, size);
    const std::size_t room = std::min(kLznt1ChunkSize, out.size() - out_pos);
    std::size_t produced = 0;
    if ((header & kCompressedFlag) != 0) {
      auto r = DecodeCompressedChunk(data, out.data() + out_pos, room, at);
      if (!r) return std::unexpected(std::move(r.error()));
      produced = *r;
    } else {
      // size <= 4096, so only the buffer can be too small.
      if (size > room) return std::unexpected(Overflow(at, 0, size));
      std::copy_n(data.begin(), size, out.begin() + static_cast<std::ptrdiff_t>(out_pos));
      produced = size;
    }
    out_pos += produced;
    in_pos += 2 + size;
  }
  return out_pos;
}

}  // namespace trawl::core::formats
