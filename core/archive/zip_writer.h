// SPDX-License-Identifier: Apache-2.0
// Streams a zip archive through libarchive into a ByteSink: entries of unknown
// length (data descriptors, zip64), deflate or store per entry, UTF-8 names.
// Nothing is buffered beyond libarchive's own block, so memory stays bounded
// whatever the archive size. One entry at a time; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/util/stream.h"

struct archive;  // libarchive handle (global namespace)

namespace trawl::core::archive {

struct EntryMeta {
  std::int64_t mtime = 0;  // Unix seconds; 0 = now
  std::uint32_t mode = 0644;
  bool compress = true;  // deflate; false stores already-compressed data
};

class ZipWriter {
 public:
  static Result<std::unique_ptr<ZipWriter>> Create(ByteSink sink);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  Result<void> BeginEntry(std::string_view name, const EntryMeta& meta);
  Result<void> Write(Bytes data);
  Result<void> EndEntry();
  // Convenience: a whole in-memory entry.
  Result<void> AddEntry(std::string_view name, Bytes data, const EntryMeta& meta);
  // Writes the central directory; the writer is unusable afterwards.
  Result<void> Close();
  bool in_entry() const { return in_entry_; }

 private:
  explicit ZipWriter(ByteSink sink);
  Error LibError(std::string_view what);
  // std::ptrdiff_t is la_ssize_t on both LP64 (long) and LLP64 Windows (long long).
  static std::ptrdiff_t WriteCallback(::archive*, void* self, const void* buf, std::size_t len);

  ByteSink sink_;
  ::archive* archive_ = nullptr;
  bool in_entry_ = false;
  bool closed_ = false;
  bool failed_ = false;
  Error sink_error_;
};

// True for names whose content is already compressed (zip, jpg, png, gz, 7z,
// xz, zst, cab, msi, nupkg, mp4, ...); such entries are stored, not deflated.
bool LooksCompressed(std::string_view name);

}  // namespace trawl::core::archive
