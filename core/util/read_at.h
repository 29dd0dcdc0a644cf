// SPDX-License-Identifier: Apache-2.0
// Random-access byte sources for the volume and disk readers (NTFS,
// partition tables): a disk image file, a window inside another source (a
// partition), a live volume handle. ReadAt never reads outside [0, Size());
// a read that starts inside but runs past the end is shortened, one that
// starts past the end returns 0. Implementations are thread-safe (positioned
// reads, no shared cursor) so file workers can read one image concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/util/error.h"

namespace trawl::core {

class ReadAtSource {
 public:
  virtual ~ReadAtSource() = default;
  virtual std::uint64_t Size() const = 0;
  // Reads up to buf.size() bytes at offset; returns the count read (short
  // only at the end of the source).
  virtual Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::byte> buf) const = 0;
  // What the source is, for error messages ("disk.img", "disk.img@1048576").
  virtual std::string Name() const = 0;

  // Reads exactly buf.size() bytes or fails with kTruncated naming the
  // source, offset and `what`.
  Result<void> ReadExact(std::uint64_t offset, std::span<std::byte> buf, std::string_view what) const;
};

// A regular file or block device (on Windows also a volume path such as
// \\.\C:, sized through IOCTL_DISK_GET_LENGTH_INFO) opened for reading with
// full sharing.
Result<std::unique_ptr<ReadAtSource>> OpenFileSource(const std::string& path);

// Bytes [offset, offset + length) of a parent source, which must outlive it.
// Fails when the window does not fit inside the parent.
Result<std::unique_ptr<ReadAtSource>> MakeSubSource(const ReadAtSource& parent, std::uint64_t offset,
                                                    std::uint64_t length);

// A source over bytes in memory (tests, fuzz targets); does not copy.
class MemorySource final : public ReadAtSource {
 public:
  explicit MemorySource(std::span<const std::byte> data, std::string name = "memory")
      : data_(data), name_(std::move(name)) {}
  std::uint64_t Size() const override { return data_.size(); }
  Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::byte> buf) const override;
  std::string Name() const override { return name_; }

 private:
  std::span<const std::byte> data_;
  std::string name_;
};

}  // namespace trawl::core
