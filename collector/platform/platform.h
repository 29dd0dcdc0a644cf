// SPDX-License-Identifier: Apache-2.0
// The one interface between the collector and a live host's OS (think
// leveldb's Env): list processes and their modules, open files for a single
// careful read, stat, system facts and priority. One implementation per OS
// under collector/platform/<os>/, picked by CMake. Everything returned comes
// from a possibly hostile host: strings are raw bytes (UTF-8 on Windows,
// whatever the file system holds on Unix), sizes are as reported.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/profile/paths.h"
#include "core/util/error.h"

namespace trawl::collector {

using core::Result;
class NtfsFiles;  // collector/platform/ntfs/ntfs_files.h

struct ProcessInfo {
  std::int64_t pid = 0;
  std::int64_t ppid = 0;
  std::string name;
  std::string exe;            // image path as the OS reports it ("" if unknown)
  bool exe_deleted = false;   // the image file was deleted or replaced
  std::string exe_open_path;  // path to open to read the image (/proc/PID/exe)
  std::vector<std::string> argv;
  std::string cmdline;
  std::int64_t uid = -1;
  std::string user;
  std::string sid;         // Windows
  std::string start_time;  // ISO 8601 UTC
  std::string cwd;
  std::int64_t session = -1;  // Windows
  std::string integrity;      // Windows
  std::string error;          // why some fields are missing (access denied...)
};

struct ModuleInfo {
  std::int64_t pid = 0;
  std::string path;  // file path, or "" for anonymous mappings
  std::string kind;  // file | anon_exec | memfd
  std::uint64_t base = 0;
  std::uint64_t size = 0;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool deleted = false;
  std::string open_path;  // what to open to read the mapped file
  std::string perms;
};

struct FileMeta {
  std::string type;  // file | dir | symlink | fifo | socket | char | block | other
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  std::int64_t uid = -1, gid = -1;
  std::uint64_t device = 0, inode = 0;
  std::int64_t mtime_ns = 0, atime_ns = 0, ctime_ns = 0, btime_ns = 0;  // 0 = unknown
  std::uint64_t nlink = 0;
  std::string access;  // "" (the OS's file API) | "raw" (parsed from the NTFS volume)
};

// A file opened for one sequential read.
class FileReader {
 public:
  virtual ~FileReader() = default;
  virtual const FileMeta& meta() const = 0;
  // Reads up to buf.size() bytes; 0 at end of file.
  virtual Result<std::size_t> Read(std::span<std::byte> buf) = 0;
  // Stats the open handle again, to detect a file that changed while read.
  virtual Result<FileMeta> Restat() = 0;
};

// One value of HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\KnownDLLs
// (Windows): DLL names the loader maps from \KnownDlls, never from an
// application's folder, so they cannot be side-loaded.
struct KnownDll {
  std::string name;   // value name, e.g. "kernel32"
  std::string value;  // data, e.g. "kernel32.dll"
};

// One socket of the host's TCP/UDP tables (IPv4 and IPv6).
struct ConnectionInfo {
  std::string protocol;                       // tcp | tcp6 | udp | udp6
  std::string local_address, remote_address;  // textual (inet_ntop), "" when unbound
  std::int64_t local_port = 0, remote_port = 0;
  std::string state;        // LISTEN, ESTABLISHED, TIME_WAIT, ... ("" for UDP)
  std::int64_t pid = -1;    // owning process, -1 when not known
  std::uint64_t inode = 0;  // Linux: socket inode (the pid lookup key)
};

struct ConnectionList {
  std::vector<ConnectionInfo> sockets;
  std::vector<std::string> problems;  // what could not be read or parsed (logged by the kind)
};

struct SystemFacts {
  std::string hostname;
  std::string os;  // linux | windows | macos
  std::string os_version;
  std::string kernel;
  std::string arch;
  std::string boot_time;  // ISO 8601 UTC
  std::string timezone;
  std::vector<std::string> addresses;
};

class Platform {
 public:
  virtual ~Platform() = default;
  virtual Result<std::vector<ProcessInfo>> ListProcesses() = 0;
  virtual Result<std::vector<ModuleInfo>> ListModules(std::int64_t pid) = 0;
  // Opens a regular file without following a final symlink, without blocking
  // on FIFOs or devices, keeping the access time where the OS allows.
  virtual Result<std::unique_ptr<FileReader>> OpenForRead(const std::string& path) = 0;
  virtual Result<FileMeta> Stat(const std::string& path) = 0;  // lstat semantics
  // Opens the same file by reading its volume raw (Windows: \\.\C: with full
  // sharing, administrator required) for files the OS keeps locked. The
  // reader's meta says access "raw".
  virtual Result<std::unique_ptr<FileReader>> OpenRaw(const std::string& path) {
    return core::Fail(core::ErrorCode::kUnsupported, path + ": raw volume reads are not available on this platform");
  }
  virtual SystemFacts Facts() = 0;
  virtual void SetLowPriority() = 0;
  // The NTFS volume `volume` names ("C:" on a live Windows host; ignored by
  // --image, which has one), opened raw for the MFT listing. Owned by the
  // platform.
  virtual Result<const NtfsFiles*> RawVolume(const std::string& volume) {
    return core::Fail(core::ErrorCode::kUnsupported, "no NTFS volume to read raw (" + volume +
                                                         "): the MFT listing needs a live Windows host or --image");
  }
  // The TCP and UDP sockets of the host with their owning processes.
  virtual Result<ConnectionList> ListConnections() {
    return core::Fail(core::ErrorCode::kUnsupported, "network connections are not listed on this platform");
  }
  // Reads a process's memory at `address` into `out` without writing to the
  // process (Linux: /proc/PID/mem); returns the bytes read, fewer at an
  // unreadable page. Fails when the process is gone or not readable.
  virtual Result<std::size_t> ReadMemory(std::int64_t pid, std::uint64_t address, std::span<std::byte> out) {
    (void)pid;
    (void)address;
    (void)out;
    return core::Fail(core::ErrorCode::kUnsupported, "process memory is not read on this platform");
  }
  // The KnownDLLs registry list; empty where the OS has none.
  virtual Result<std::vector<KnownDll>> ListKnownDlls() { return std::vector<KnownDll>{}; }
  // Lists live directories for path expansion. The default serves POSIX
  // hosts; Windows supplies one that never follows junctions and keeps
  // names with unpaired surrogates.
  virtual std::unique_ptr<core::profile::DirectoryLister> MakeDirectoryLister() {
    return std::make_unique<core::profile::FsDirectoryLister>();
  }
  // This process's own executable path and pid (the collector's footprint).
  virtual std::string SelfExe() = 0;
  virtual std::int64_t SelfPid() = 0;
};

// The platform of the host the binary runs on.
std::unique_ptr<Platform> MakeHostPlatform();

}  // namespace trawl::collector
