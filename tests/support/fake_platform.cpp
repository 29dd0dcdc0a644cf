// SPDX-License-Identifier: Apache-2.0
#include "tests/support/fake_platform.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <functional>

namespace trawl::test {

using collector::FileMeta;
using core::ErrorCode;
using core::Fail;

namespace {

std::string Parent(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

class FakeReader final : public collector::FileReader {
 public:
  FakeReader(FileMeta meta, std::string content, std::uint64_t grows_by)
      : meta_(meta), content_(std::move(content)), grows_by_(grows_by) {}
  const FileMeta& meta() const override { return meta_; }
  core::Result<std::size_t> Read(std::span<std::byte> buf) override {
    const std::size_t n = std::min(buf.size(), content_.size() - pos_);
    std::memcpy(buf.data(), content_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  core::Result<FileMeta> Restat() override {
    FileMeta m = meta_;
    m.size += grows_by_;
    if (grows_by_ > 0) m.mtime_ns += 1'000'000'000;
    return m;
  }

 private:
  FileMeta meta_;
  std::string content_;
  std::size_t pos_ = 0;
  std::uint64_t grows_by_;
};

}  // namespace

class FakeLister final : public core::profile::DirectoryLister {
 public:
  explicit FakeLister(const FakePlatform& p) : p_(p) {}
  core::Result<std::vector<core::profile::DirEntry>> List(const std::string& dir) override {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    auto it = p_.files_.find(d);
    if (it == p_.files_.end() || !it->second.is_dir) return Fail(ErrorCode::kNotFound, d + ": no such directory");
    std::vector<core::profile::DirEntry> out;
    for (const auto& [path, f] : p_.files_) {
      if (path == "/" || Parent(path) != d) continue;
      core::profile::DirEntry e;
      e.name = path.substr(path.rfind('/') + 1);
      e.is_dir = f.is_dir;
      e.is_regular = !f.is_dir;
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  const FakePlatform& p_;
};

void FakePlatform::AddFile(const std::string& path, std::string content) {
  for (std::string dir = Parent(path);; dir = Parent(dir)) {
    files_[dir].is_dir = true;
    if (dir == "/") break;
  }
  File f;
  f.content = std::move(content);
  files_[path] = std::move(f);
}

void FakePlatform::AddProcess(collector::ProcessInfo p, std::vector<collector::ModuleInfo> modules) {
  modules_[p.pid] = std::move(modules);
  processes_.push_back(std::move(p));
}

std::uint64_t FakePlatform::opens(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = opens_.find(path);
  return it == opens_.end() ? 0 : it->second;
}

core::Result<std::vector<collector::ProcessInfo>> FakePlatform::ListProcesses() {
  if (!process_error_.empty()) return Fail(ErrorCode::kIo, process_error_);
  return processes_;
}

core::Result<std::size_t> FakePlatform::ReadMemory(std::int64_t pid, std::uint64_t address, std::span<std::byte> out) {
  for (const auto& [key, bytes] : memory_) {
    if (key.first != pid || address < key.second || address >= key.second + bytes.size()) continue;
    const std::size_t from = static_cast<std::size_t>(address - key.second);
    const std::size_t n = std::min(out.size(), bytes.size() - from);
    std::memcpy(out.data(), bytes.data() + from, n);
    return n;
  }
  return Fail(ErrorCode::kIo, fmt::format("no memory of pid {} at 0x{:x}", pid, address));
}

core::Result<std::vector<collector::ModuleInfo>> FakePlatform::ListModules(std::int64_t pid) {
  if (auto it = module_errors_.find(pid); it != module_errors_.end()) return Fail(ErrorCode::kIo, it->second);
  auto it = modules_.find(pid);
  if (it == modules_.end()) return Fail(ErrorCode::kNotFound, "process exited");
  return it->second;
}

FileMeta FakePlatform::MetaOf(const std::string& path, const File& f) const {
  FileMeta m;
  m.type = f.is_dir ? "dir" : "file";
  m.size = f.content.size();
  m.mode = f.is_dir ? 040755 : 0100644;
  m.uid = 0;
  m.gid = 0;
  m.device = 42;
  m.inode = std::hash<std::string>{}(path);
  m.mtime_ns = m.atime_ns = m.ctime_ns = f.mtime_ns;
  m.btime_ns = f.btime_ns;
  m.nlink = 1;
  return m;
}

core::Result<std::unique_ptr<collector::FileReader>> FakePlatform::OpenForRead(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    ++opens_[path];
  }
  auto it = files_.find(path);
  if (it == files_.end() || it->second.vanish_on_open) return Fail(ErrorCode::kNotFound, path + ": no such file");
  const File& f = it->second;
  if (f.open_error) return std::unexpected(*f.open_error);
  if (f.is_dir) return Fail(ErrorCode::kUnsupported, path + ": a directory");
  return std::unique_ptr<collector::FileReader>(new FakeReader(MetaOf(path, f), f.content, f.grows_by));
}

void FakePlatform::SetRawVolume(std::string prefix, std::unique_ptr<collector::NtfsFiles> volume) {
  raw_prefix_ = std::move(prefix);
  raw_volume_ = std::move(volume);
}

core::Result<std::unique_ptr<collector::FileReader>> FakePlatform::OpenRaw(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    ++opens_["raw:" + path];
  }
  if (!raw_volume_ || path.rfind(raw_prefix_, 0) != 0) {
    return Fail(ErrorCode::kUnsupported, path + ": not on a volume this fake reads raw");
  }
  return raw_volume_->OpenForRead(path.substr(raw_prefix_.size()));
}

core::Result<const collector::NtfsFiles*> FakePlatform::RawVolume(const std::string& volume) {
  if (!raw_volume_) return Fail(ErrorCode::kUnsupported, volume + ": this fake has no raw volume");
  return raw_volume_.get();
}

core::Result<FileMeta> FakePlatform::Stat(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end() || it->second.vanish_on_open) return Fail(ErrorCode::kNotFound, path + ": no such file");
  return MetaOf(path, it->second);
}

collector::SystemFacts FakePlatform::Facts() {
  collector::SystemFacts f;
  f.hostname = "fakehost";
  f.os = "linux";
  f.os_version = "Fake 1";
  f.kernel = "6.0-fake";
  f.arch = "x86_64";
  f.boot_time = "2026-12-01T00:00:00Z";
  f.timezone = "UTC";
  return f;
}

std::unique_ptr<core::profile::DirectoryLister> FakePlatform::MakeDirectoryLister() {
  return std::make_unique<FakeLister>(*this);
}

}  // namespace trawl::test
