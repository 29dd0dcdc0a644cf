// SPDX-License-Identifier: Apache-2.0
#include "core/util/byte_reader.h"

#include <fmt/format.h>

namespace trawl::core {

std::string HexOffset(std::uint64_t value) { return fmt::format("0x{:x}", value); }

Error ByteReader::OutOfBounds(std::uint64_t offset, std::uint64_t length, std::string_view field) const {
  return Error{ErrorCode::kTruncated, fmt::format("field '{}' at {} needs {} bytes, data has {}", field,
                                                  HexOffset(offset), length, data_.size())};
}

std::uint16_t ByteReader::U16Unchecked(std::size_t o) const {
  return static_cast<std::uint16_t>(static_cast<unsigned>(data_[o]) | (static_cast<unsigned>(data_[o + 1]) << 8));
}

std::uint32_t ByteReader::U32Unchecked(std::size_t o) const {
  return static_cast<std::uint32_t>(data_[o]) | (static_cast<std::uint32_t>(data_[o + 1]) << 8) |
         (static_cast<std::uint32_t>(data_[o + 2]) << 16) | (static_cast<std::uint32_t>(data_[o + 3]) << 24);
}

std::uint64_t ByteReader::U64Unchecked(std::size_t o) const {
  return static_cast<std::uint64_t>(U32Unchecked(o)) | (static_cast<std::uint64_t>(U32Unchecked(o + 4)) << 32);
}

Result<std::uint8_t> ByteReader::U8(std::uint64_t offset, std::string_view field) const {
  if (!InBounds(offset, 1)) return std::unexpected(OutOfBounds(offset, 1, field));
  return static_cast<std::uint8_t>(data_[offset]);
}

Result<std::uint16_t> ByteReader::U16(std::uint64_t offset, std::string_view field) const {
  if (!InBounds(offset, 2)) return std::unexpected(OutOfBounds(offset, 2, field));
  return U16Unchecked(offset);
}

Result<std::uint32_t> ByteReader::U32(std::uint64_t offset, std::string_view field) const {
  if (!InBounds(offset, 4)) return std::unexpected(OutOfBounds(offset, 4, field));
  return U32Unchecked(offset);
}

Result<std::uint64_t> ByteReader::U64(std::uint64_t offset, std::string_view field) const {
  if (!InBounds(offset, 8)) return std::unexpected(OutOfBounds(offset, 8, field));
  return U64Unchecked(offset);
}

Result<std::uint16_t> ByteReader::U16BE(std::uint64_t offset, std::string_view field) const {
  if (!InBounds(offset, 2)) return std::unexpected(OutOfBounds(offset, 2, field));
  return static_cast<std::uint16_t>((static_cast<unsigned>(data_[offset]) << 8) |
                                    static_cast<unsigned>(data_[offset + 1]));
}

Result<std::uint32_t> ByteReader::U32BE(std::uint64_t offset, std::string_view field) const {
  if (!InBounds(offset, 4)) return std::unexpected(OutOfBounds(offset, 4, field));
  return (static_cast<std::uint32_t>(data_[offset]) << 24) | (static_cast<std::uint32_t>(data_[offset + 1]) << 16) |
         (static_cast<std::uint32_t>(data_[offset + 2]) << 8) | static_cast<std::uint32_t>(data_[offset + 3]);
}

Result<Bytes> ByteReader::Slice(std::uint64_t offset, std::uint64_t length, std::string_view field) const {
  if (!InBounds(offset, length)) return std::unexpected(OutOfBounds(offset, length, field));
  return data_.subspan(offset, length);
}

}  // namespace trawl::core
