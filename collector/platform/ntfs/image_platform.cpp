// SPDX-License-Identifier: Apache-2.0
#include "collector/platform/ntfs/image_platform.h"

#include <fmt/format.h>

#include "collector/platform/ntfs/ntfs_files.h"
#include "core/formats/disk_volume.h"
#include "core/util/read_at.h"

namespace trawl::collector {
namespace {

using core::ErrorCode;
using core::Fail;
namespace formats = core::formats;

class ImagePlatform final : public Platform {
 public:
  ImagePlatform(std::unique_ptr<core::ReadAtSource> disk, std::unique_ptr<NtfsFiles> files, Platform& host)
      : disk_(std::move(disk)), files_(std::move(files)), host_(host) {}
  Result<std::vector<ProcessInfo>> ListProcesses() override { return std::vector<ProcessInfo>{}; }
  Result<std::vector<ModuleInfo>> ListModules(std::int64_t /*pid*/) override { return std::vector<ModuleInfo>{}; }
  Result<std::unique_ptr<FileReader>> OpenForRead(const std::string& path) override {
    return files_->OpenForRead(path);
  }
  Result<std::unique_ptr<FileReader>> OpenRaw(const std::string& path) override { return files_->OpenForRead(path); }
  Result<FileMeta> Stat(const std::string& path) override { return files_->Stat(path); }
  Result<const NtfsFiles*> RawVolume(const std::string& /*volume*/) override { return files_.get(); }
  SystemFacts Facts() override { return {}; }
  void SetLowPriority() override { host_.SetLowPriority(); }
  std::unique_ptr<core::profile::DirectoryLister> MakeDirectoryLister() override {
    return std::make_unique<NtfsDirectoryLister>(*files_);
  }
  std::string SelfExe() override { return host_.SelfExe(); }
  std::int64_t SelfPid() override { return host_.SelfPid(); }

 private:
  std::unique_ptr<core::ReadAtSource> disk_;  // declared first: files_ reads through it
  std::unique_ptr<NtfsFiles> files_;
  Platform& host_;
};

}  // namespace

Result<ImagePlatformResult> OpenImagePlatform(const ImageSelection& sel, Platform& host) {
  auto disk = core::OpenFileSource(sel.path);
  if (!disk) return std::unexpected(disk.error());
  const core::ReadAtSource& d = **disk;
  ImagePlatformResult out;
  auto where = formats::LocateNtfsVolume(d, sel.partition, sel.offset);
  if (!where) return std::unexpected(where.error());
  const std::uint64_t offset = where->offset, length = where->length;
  auto volume_source = core::MakeSubSource(d, offset, length);
  if (!volume_source) return std::unexpected(volume_source.error());
  auto files = NtfsFiles::Open(std::move(*volume_source));
  if (!files) return std::unexpected(files.error().WithContext(fmt::format("{} {}", sel.path, where->description)));
  out.description = fmt::format("{} {}", sel.path, where->description);
  out.volume_offset = offset;
  out.platform = std::make_unique<ImagePlatform>(std::move(*disk), std::move(*files), host);
  return out;
}

}  // namespace trawl::collector
