// SPDX-License-Identifier: Apache-2.0
// A scripted Platform for in-process collector tests (collector::RunCollect):
// processes and modules, an in-memory file tree under "/", and failures the
// real platforms meet on live hosts: a sharing violation or access denied on
// open, a file that vanishes between listing and open, a file that grows
// while read, a process whose modules cannot be listed. Everything the
// collector asks is answered from the script; nothing touches the host.
// Not thread-safe to script; safe to read from the collector's workers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/platform/ntfs/ntfs_files.h"
#include "collector/platform/platform.h"

namespace trawl::test {

class FakePlatform final : public collector::Platform {
 public:
  struct File {
    std::string content;
    bool is_dir = false;
    std::int64_t mtime_ns = 1'700'000'000'000'000'000;
    std::int64_t btime_ns = 0;  // 0: the file system does not say
    // Failures.
    std::optional<core::Error> open_error;  // e.g. kIo "sharing violation"
    bool vanish_on_open = false;            // listed, then gone (kNotFound)
    std::uint64_t grows_by = 0;             // Restat reports this much more
  };

  // Files and directories by absolute Unix path; parents are made.
  void AddFile(const std::string& path, std::string content);
  File& at(const std::string& path) { return files_.at(path); }
  void AddProcess(collector::ProcessInfo p, std::vector<collector::ModuleInfo> modules);
  void DenyModules(std::int64_t pid, std::string why) { module_errors_[pid] = std::move(why); }
  void FailProcessList(std::string why) { process_error_ = std::move(why); }
  void SetKnownDlls(std::vector<collector::KnownDll> dlls) { known_dlls_ = std::move(dlls); }
  void SetConnections(collector::ConnectionList list) { connections_ = std::move(list); }
  // Process memory ReadMemory serves: `bytes` at `address` of `pid` (reads
  // past their end stop short, as at an unmapped page).
  void SetMemory(std::int64_t pid, std::uint64_t address, std::string bytes) {
    memory_[{pid, address}] = std::move(bytes);
  }
  // Raw volume reads (OpenRaw): paths under `prefix` are looked up, prefix
  // removed, on this NTFS volume (a test image), as a live Windows host reads
  // C:\ through \\.\C:.
  void SetRawVolume(std::string prefix, std::unique_ptr<collector::NtfsFiles> volume);

  // How often the collector opened each path (a file it read once is read once).
  std::uint64_t opens(const std::string& path) const;

  // collector::Platform
  core::Result<std::vector<collector::ProcessInfo>> ListProcesses() override;
  core::Result<std::vector<collector::ModuleInfo>> ListModules(std::int64_t pid) override;
  core::Result<std::unique_ptr<collector::FileReader>> OpenForRead(const std::string& path) override;
  core::Result<collector::FileMeta> Stat(const std::string& path) override;
  core::Result<std::unique_ptr<collector::FileReader>> OpenRaw(const std::string& path) override;
  core::Result<const collector::NtfsFiles*> RawVolume(const std::string& volume) override;
  collector::SystemFacts Facts() override;
  void SetLowPriority() override {}
  std::unique_ptr<core::profile::DirectoryLister> MakeDirectoryLister() override;
  std::string SelfExe() override { return "/opt/trawl/trawl-collect"; }
  std::int64_t SelfPid() override { return 1; }
  core::Result<std::vector<collector::KnownDll>> ListKnownDlls() override { return known_dlls_; }
  core::Result<collector::ConnectionList> ListConnections() override { return connections_; }
  core::Result<std::size_t> ReadMemory(std::int64_t pid, std::uint64_t address, std::span<std::byte> out) override;

 private:
  friend class FakeLister;
  collector::FileMeta MetaOf(const std::string& path, const File& f) const;
  std::map<std::string, File> files_;
  std::string raw_prefix_;
  std::unique_ptr<collector::NtfsFiles> raw_volume_;
  std::vector<collector::ProcessInfo> processes_;
  std::map<std::int64_t, std::vector<collector::ModuleInfo>> modules_;
  std::map<std::int64_t, std::string> module_errors_;
  std::string process_error_;
  std::vector<collector::KnownDll> known_dlls_;
  collector::ConnectionList connections_;
  std::map<std::pair<std::int64_t, std::uint64_t>, std::string> memory_;
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> opens_;
};

}  // namespace trawl::test
