// SPDX-License-Identifier: Apache-2.0
#include "collector/platform/ntfs/ntfs_files.h"

#include <fmt/format.h>

namespace trawl::collector {
namespace {

namespace ntfs = core::formats::ntfs;
using core::ErrorCode;
using core::Fail;

class NtfsFileReader final : public FileReader {
 public:
  NtfsFileReader(std::unique_ptr<ntfs::StreamReader> stream, FileMeta meta)
      : stream_(std::move(stream)), meta_(std::move(meta)) {}
  const FileMeta& meta() const override { return meta_; }
  Result<std::size_t> Read(std::span<std::byte> buf) override { return stream_->Read(buf); }
  // A volume read at one instant: nothing changes under an image; on a live
  // volume the record is not re-read (the size and times seen at open hold).
  Result<FileMeta> Restat() override { return meta_; }

 private:
  std::unique_ptr<ntfs::StreamReader> stream_;
  FileMeta meta_;
};

}  // namespace

FileMeta NtfsMeta(const ntfs::Entry& e, std::uint64_t serial) {
  FileMeta m;
  m.type = e.reparse ? "symlink" : e.directory ? "dir" : "file";
  for (const auto& s : e.Streams()) {
    if (s.name.empty()) m.size = s.size;
  }
  m.mode = e.si_flags;
  m.device = serial;
  m.inode = e.number | (static_cast<std::uint64_t>(e.sequence) << 48);
  m.mtime_ns = ntfs::FiletimeToUnixNs(e.si.modified);
  m.atime_ns = ntfs::FiletimeToUnixNs(e.si.accessed);
  m.ctime_ns = ntfs::FiletimeToUnixNs(e.si.mft_modified);
  m.btime_ns = ntfs::FiletimeToUnixNs(e.si.created);
  m.nlink = e.link_count;
  m.access = "raw";
  return m;
}

Result<std::unique_ptr<NtfsFiles>> NtfsFiles::Open(std::unique_ptr<core::ReadAtSource> source) {
  auto volume = ntfs::Volume::Open(*source);
  if (!volume) return std::unexpected(volume.error());
  return std::unique_ptr<NtfsFiles>(new NtfsFiles(std::move(source), std::move(*volume)));
}

Result<FileMeta> NtfsFiles::Stat(const std::string& path) const {
  auto n = volume_->Lookup(path);
  if (!n) return std::unexpected(n.error());
  auto e = volume_->ReadEntry(*n);
  if (!e) return std::unexpected(e.error());
  return NtfsMeta(*e, volume_->boot().serial);
}

Result<std::unique_ptr<FileReader>> NtfsFiles::OpenForRead(const std::string& path) const {
  const auto [file, stream] = ntfs::SplitStreamPath(path);
  auto n = volume_->Lookup(file);
  if (!n) return std::unexpected(n.error());
  auto e = volume_->ReadEntry(*n);
  if (!e) return std::unexpected(e.error());
  if (!e->in_use) return Fail(ErrorCode::kNotFound, fmt::format("{}: MFT entry {} is not in use", path, *n));
  FileMeta meta = NtfsMeta(*e, volume_->boot().serial);
  if (meta.type != "file") {
    return Fail(ErrorCode::kUnsupported, fmt::format("{}: not a regular file ({})", path, meta.type));
  }
  auto s = volume_->OpenStream(*e, stream);
  if (!s) return std::unexpected(s.error().WithContext(path));
  meta.size = (*s)->size();
  return std::unique_ptr<FileReader>(new NtfsFileReader(std::move(*s), std::move(meta)));
}

std::optional<bool> NtfsFiles::IsReparse(std::uint64_t entry) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = reparse_.find(entry); it != reparse_.end()) return it->second;
  }
  auto e = volume_->ReadEntry(entry);
  const std::optional<bool> reparse = e ? std::optional<bool>(e->reparse.has_value()) : std::nullopt;
  std::lock_guard lock(mu_);
  if (reparse_.size() > 4'000'000) reparse_.clear();
  reparse_[entry] = reparse;
  return reparse;
}

Result<std::vector<core::profile::DirEntry>> NtfsFiles::List(const std::string& dir) const {
  auto n = volume_->Lookup(dir);
  if (!n) return std::unexpected(n.error());
  auto list = volume_->ListDirectory(*n);
  if (!list) return std::unexpected(list.error().WithContext(dir));
  std::vector<core::profile::DirEntry> out;
  out.reserve(list->size());
  constexpr std::uint32_t kFileNameIsDirectory = 0x10000000;  // $FILE_NAME flag in index entries
  for (const auto& ie : *list) {
    if (ie.entry == *n) continue;  // the root lists itself as "."
    core::profile::DirEntry d;
    d.name = ntfs::ToUtf8(ie.name.name);
    d.is_symlink = (ie.name.flags & ntfs::kFlagReparse) != 0;
    d.is_dir = !d.is_symlink && (ie.name.flags & kFileNameIsDirectory) != 0;
    if (d.is_dir) {
      // The index holds a copy of the flags that may be stale: a directory
      // is only walked into once its own record says it is no reparse point
      // (a junction loop would otherwise be followed).
      const std::optional<bool> reparse = IsReparse(ie.entry);
      if (!reparse || *reparse) {  // unreadable: listed as "other", never entered
        d.is_dir = false;
        d.is_symlink = reparse.has_value();
      }
    }
    d.is_regular = !d.is_symlink && !d.is_dir;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace trawl::collector
