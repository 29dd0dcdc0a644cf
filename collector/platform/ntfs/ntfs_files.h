// SPDX-License-Identifier: Apache-2.0
// Files of an NTFS volume read through trawl's own NTFS reader
// (core/formats/ntfs.h) instead of the OS: the raw fallback for files a live
// Windows host keeps locked (hives, event logs, $MFT), and every read of
// `trawl-collect --image`. Paths are inside the volume ("/Windows/System32"
// or "Windows\\System32"), matched as Windows matches them; a reparse point
// (junction, symbolic link) is reported as a symlink and never followed.
// Readers give the same bytes, hashes and copies as an API read; their
// FileMeta says access "raw". Thread-safe (the volume's reads are
// positioned).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "collector/platform/platform.h"
#include "core/formats/ntfs.h"
#include "core/profile/target.h"
#include "core/util/read_at.h"

namespace trawl::collector {

class NtfsFiles {
 public:
  // Opens the NTFS volume at the start of `source` (owned).
  static Result<std::unique_ptr<NtfsFiles>> Open(std::unique_ptr<core::ReadAtSource> source);

  // A regular file (its unnamed stream), or "file:stream" for a named one.
  Result<std::unique_ptr<FileReader>> OpenForRead(const std::string& path) const;
  Result<FileMeta> Stat(const std::string& path) const;
  // The names in a directory (lstat semantics: reparse points are symlinks).
  Result<std::vector<core::profile::DirEntry>> List(const std::string& dir) const;

  const core::formats::ntfs::Volume& volume() const { return *volume_; }
  std::string name() const { return source_->Name(); }

 private:
  NtfsFiles(std::unique_ptr<core::ReadAtSource> source, std::unique_ptr<core::formats::ntfs::Volume> volume)
      : source_(std::move(source)), volume_(std::move(volume)) {}
  // Whether a directory entry is a reparse point, by MFT entry (path
  // expansion lists the same folders, e.g. Users, once per pattern);
  // nullopt when its record cannot be read.
  std::optional<bool> IsReparse(std::uint64_t entry) const;

  std::unique_ptr<core::ReadAtSource> source_;
  std::unique_ptr<core::formats::ntfs::Volume> volume_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::uint64_t, std::optional<bool>> reparse_;
};

// FileMeta of an MFT entry: type from the record (reparse point -> symlink),
// size of the unnamed stream, $STANDARD_INFORMATION times, MFT reference as
// the inode, the volume serial as the device, access "raw".
FileMeta NtfsMeta(const core::formats::ntfs::Entry& entry, std::uint64_t serial);

// Lists directories of an NtfsFiles volume for path expansion.
class NtfsDirectoryLister final : public core::profile::DirectoryLister {
 public:
  explicit NtfsDirectoryLister(const NtfsFiles& files) : files_(files) {}
  Result<std::vector<core::profile::DirEntry>> List(const std::string& dir) override { return files_.List(dir); }

 private:
  const NtfsFiles& files_;
};

}  // namespace trawl::collector
