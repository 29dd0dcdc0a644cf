// SPDX-License-Identifier: Apache-2.0
// Bounds-checked little-endian reads over a byte span, for parsers of
// untrusted input (prefetch, PE, age headers). Every read names the field and
// offset in its error so a corrupt file yields "field 'x' at 0x54 needs 4
// bytes, file has 80". Never casts a struct over the buffer. Does not own the
// bytes; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace trawl::core {

using Bytes = std::span<const std::byte>;

// Views a string or char buffer as bytes.
inline Bytes AsBytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

class ByteReader {
 public:
  explicit ByteReader(Bytes data) : data_(data) {}

  std::size_t size() const { return data_.size(); }
  Bytes data() const { return data_; }

  // True when [offset, offset+length) lies inside the buffer (overflow-safe).
  bool InBounds(std::uint64_t offset, std::uint64_t length) const {
    return offset <= data_.size() && length <= data_.size() - offset;
  }

  Result<std::uint8_t> U8(std::uint64_t offset, std::string_view field) const;
  Result<std::uint16_t> U16(std::uint64_t offset, std::string_view field) const;
  Result<std::uint32_t> U32(std::uint64_t offset, std::string_view field) const;
  Result<std::uint64_t> U64(std::uint64_t offset, std::string_view field) const;
  Result<std::uint16_t> U16BE(std::uint64_t offset, std::string_view field) const;
  Result<std::uint32_t> U32BE(std::uint64_t offset, std::string_view field) const;
  // A sub-span; fails when it does not fit.
  Result<Bytes> Slice(std::uint64_t offset, std::uint64_t length, std::string_view field) const;

  // Unchecked reads for callers that already validated the range.
  std::uint16_t U16Unchecked(std::size_t offset) const;
  std::uint32_t U32Unchecked(std::size_t offset) const;
  std::uint64_t U64Unchecked(std::size_t offset) const;

 private:
  Error OutOfBounds(std::uint64_t offset, std::uint64_t length, std::string_view field) const;
  Bytes data_;
};

// Reads the fields of one structure (a header, a table entry) for parsers
// whose flow tests sizes up front, as pefile's does: each read is checked,
// a read out of range returns 0, and the first such read is kept as an
// error naming the structure and offset. Check() (or ok()) once after the
// group, before the values are used. Thread-compatible; does not own the bytes.
class FieldReader {
 public:
  FieldReader(Bytes data, std::string_view structure) : reader_(data), structure_(structure) {}
  std::uint16_t U16(std::uint64_t offset) { return Take(reader_.U16(offset, structure_)); }
  std::uint32_t U32(std::uint64_t offset) { return Take(reader_.U32(offset, structure_)); }
  std::uint64_t U64(std::uint64_t offset) { return Take(reader_.U64(offset, structure_)); }
  bool ok() const { return !error_; }
  Result<void> Check() const {
    if (error_) return std::unexpected(*error_);
    return {};
  }

 private:
  template <typename T>
  T Take(Result<T> r) {
    if (r) return *r;
    if (!error_) error_ = r.error();
    return 0;
  }
  ByteReader reader_;
  std::string_view structure_;
  std::optional<Error> error_;
};

// Formats 0x-prefixed lower-case hex of a number ("0x54").
std::string HexOffset(std::uint64_t value);

}  // namespace trawl::core
