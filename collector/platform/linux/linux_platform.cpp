// SPDX-License-Identifier: Apache-2.0
// Linux implementation of the collector's Platform: processes and modules
// from /proc, careful file reads (O_NOATIME, O_NOFOLLOW, O_NONBLOCK), user
// names from /etc/passwd parsed here (never NSS: a static binary must not
// dlopen the suspect host's libnss, and sssd/LDAP must not be asked).
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "collector/platform/linux/proc_net.h"
#include "collector/platform/platform.h"
#include "core/util/time.h"

namespace trawl::collector {
namespace {

using core::ErrorCode;
using core::Fail;

std::string ReadSmallFile(const std::string& path, std::size_t max = 1 << 20) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  std::string out;
  char buf[8192];
  while (out.size() < max) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

std::string ReadLink(const std::string& path) {
  std::string buf(4096, '\0');
  while (true) {
    ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return {};
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    if (buf.size() > (1u << 20)) return {};
    buf.resize(buf.size() * 2);
  }
}

std::string TypeOf(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "symlink";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISSOCK(m)) return "socket";
  if (S_ISCHR(m)) return "char";
  if (S_ISBLK(m)) return "block";
  return "other";
}

FileMeta MetaFromStatx(const struct statx& sx) {
  FileMeta m;
  m.type = TypeOf(sx.stx_mode);
  m.size = sx.stx_size;
  m.mode = sx.stx_mode & 07777;
  m.uid = sx.stx_uid;
  m.gid = sx.stx_gid;
  m.device = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  m.inode = sx.stx_ino;
  m.nlink = sx.stx_nlink;
  auto ns = [](const struct statx_timestamp& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
  };
  m.mtime_ns = ns(sx.stx_mtime);
  m.atime_ns = ns(sx.stx_atime);
  m.ctime_ns = ns(sx.stx_ctime);
  if (sx.stx_mask & STATX_BTIME) m.btime_ns = ns(sx.stx_btime);
  return m;
}

Result<FileMeta> StatxPath(int dirfd, const std::string& path, int flags) {
  struct statx sx {};
  if (statx(dirfd, path.c_str(), flags | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) {
    const int err = errno;
    return Fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, fmt::format("{}: {}", path, std::strerror(err)));
  }
  return MetaFromStatx(sx);
}

class LinuxFileReader final : public FileReader {
 public:
  LinuxFileReader(int fd, FileMeta meta, std::string path) : fd_(fd), meta_(std::move(meta)), path_(std::move(path)) {}
  ~LinuxFileReader() override { close(fd_); }
  const FileMeta& meta() const override { return meta_; }
  Result<std::size_t> Read(std::span<std::byte> buf) override {
    while (true) {
      ssize_t n = read(fd_, buf.data(), buf.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, fmt::format("{}: read: {}", path_, std::strerror(errno)));
    }
  }
  Result<FileMeta> Restat() override { return StatxPath(fd_, "", AT_EMPTY_PATH); }

 private:
  int fd_;
  FileMeta meta_;
  std::string path_;
};

class LinuxPlatform final : public Platform {
 public:
  Result<std::vector<ProcessInfo>> ListProcesses() override;
  Result<std::vector<ModuleInfo>> ListModules(std::int64_t pid) override;
  Result<std::size_t> ReadMemory(std::int64_t pid, std::uint64_t address, std::span<std::byte> out) override;
  Result<std::unique_ptr<FileReader>> OpenForRead(const std::string& path) override;
  Result<FileMeta> Stat(const std::string& path) override { return StatxPath(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW); }
  SystemFacts Facts() override;
  void SetLowPriority() override {
    // Nice 10 and the idle I/O class: a responder's collection must not
    // starve the services of a production host.
    (void)setpriority(PRIO_PROCESS, 0, 10);
    constexpr int kIoprioClassIdle = 3, kIoprioClassShift = 13, kIoprioWhoProcess = 1;
    (void)syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift);
  }
  std::string SelfExe() override { return ReadLink("/proc/self/exe"); }
  std::int64_t SelfPid() override { return getpid(); }
  Result<ConnectionList> ListConnections() override;

 private:
  const std::map<std::int64_t, std::string>& Users();
  std::int64_t BootTime();
  std::once_flag users_once_;
  std::map<std::int64_t, std::string> users_;
};

const std::map<std::int64_t, std::string>& LinuxPlatform::Users() {
  std::call_once(users_once_, [this] {
    std::istringstream in(ReadSmallFile("/etc/passwd", 16 << 20));
    std::string line;
    while (std::getline(in, line)) {
      // name:password:uid:gid:gecos:home:shell
      std::size_t a = line.find(':');
      if (a == std::string::npos) continue;
      std::size_t b = line.find(':', a + 1);
      if (b == std::string::npos) continue;
      std::size_t c = line.find(':', b + 1);
      if (c == std::string::npos) continue;
      long long uid = 0;
      const char* first = line.data() + b + 1;
      const char* last = line.data() + c;
      if (auto [end, ec] = std::from_chars(first, last, uid); ec == std::errc() && end == last) {
        users_.emplace(uid, line.substr(0, a));
      }
    }
  });
  return users_;
}

std::int64_t LinuxPlatform::BootTime() {
  std::istringstream in(ReadSmallFile("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      std::int64_t t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

// /proc/net/{tcp,tcp6,udp,udp6} of this process's network namespace, each
// socket's owner from the fd links of every process we may read (root sees
// all; otherwise a socket of another user's process has pid -1).
Result<ConnectionList> LinuxPlatform::ListConnections() {
  ConnectionList out;
  int tables = 0;
  for (const char* protocol : {"tcp", "tcp6", "udp", "udp6"}) {
    const std::string path = std::string("/proc/net/") + protocol;
    const std::string text = ReadSmallFile(path, 256 << 20);
    if (text.empty()) continue;  // no IPv6, or no such table
    ++tables;
    std::size_t bad = 0;
    auto rows = ParseProcNet(text, protocol, &bad);
    if (bad > 0) out.problems.push_back(fmt::format("{}: {} lines that do not parse as sockets", path, bad));
    out.sockets.insert(out.sockets.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
  }
  if (tables == 0) return Fail(ErrorCode::kIo, "/proc/net/tcp: cannot read the socket tables");
  const auto owners = SocketOwners();
  for (ConnectionInfo& c : out.sockets) {
    if (auto it = owners.find(c.inode); it != owners.end()) c.pid = it->second;
  }
  return out;
}

Result<std::vector<ProcessInfo>> LinuxPlatform::ListProcesses() {
  DIR* d = opendir("/proc");
  if (!d) return Fail(ErrorCode::kIo, fmt::format("/proc: {}", std::strerror(errno)));
  const std::int64_t boot = BootTime();
  const long ticks = sysconf(_SC_CLK_TCK);
  const auto& users = Users();
  std::vector<ProcessInfo> out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long long pid = std::strtoll(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    const std::string base = fmt::format("/proc/{}", pid);
    const std::string stat = ReadSmallFile(base + "/stat");
    if (stat.empty()) continue;  // exited meanwhile
    ProcessInfo p;
    p.pid = pid;
    // comm is in parentheses and may itself contain ") ": split at the last ')'.
    const std::size_t open_paren = stat.find('(');
    const std::size_t close_paren = stat.rfind(')');
    if (open_paren == std::string::npos || close_paren == std::string::npos || close_paren < open_paren) continue;
    p.name = stat.substr(open_paren + 1, close_paren - open_paren - 1);
    std::istringstream fields(stat.substr(close_paren + 2));
    std::vector<std::string> f;
    std::string tok;
    while (fields >> tok) f.push_back(tok);
    // After comm: state(0) ppid(1) ... starttime is field 22 overall = index 19 here.
    if (f.size() > 19) {
      p.ppid = std::strtoll(f[1].c_str(), nullptr, 10);
      const long long start_ticks = std::strtoll(f[19].c_str(), nullptr, 10);
      if (boot > 0 && ticks > 0) {
        const long long ms = start_ticks * 1000 / ticks;
        p.start_time = core::UnixToIso(boot + ms / 1000, static_cast<std::uint32_t>((ms % 1000) * 1000000), 3);
      }
    }
    errno = 0;
    std::string exe = ReadLink(base + "/exe");
    const int exe_errno = exe.empty() ? errno : 0;
    constexpr std::string_view kDeleted = " (deleted)";
    if (exe.size() > kDeleted.size() && exe.ends_with(kDeleted)) {
      p.exe_deleted = true;
      exe.resize(exe.size() - kDeleted.size());
    }
    p.exe = exe;
    if (!exe.empty()) p.exe_open_path = base + "/exe";
    const std::string cmd = ReadSmallFile(base + "/cmdline");
    std::size_t start = 0;
    for (std::size_t i = 0; i < cmd.size(); ++i) {
      if (cmd[i] == '\0') {
        p.argv.push_back(cmd.substr(start, i - start));
        start = i + 1;
      }
    }
    if (start < cmd.size()) p.argv.push_back(cmd.substr(start));
    for (std::size_t i = 0; i < p.argv.size(); ++i) {
      if (i) p.cmdline += ' ';
      p.cmdline += p.argv[i];
    }
    std::istringstream status(ReadSmallFile(base + "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("Uid:")) {
        p.uid = std::strtoll(line.c_str() + 4, nullptr, 10);
        if (auto it = users.find(p.uid); it != users.end()) p.user = it->second;
        break;
      }
    }
    p.cwd = ReadLink(base + "/cwd");
    // Kernel threads have no image and no command line: not an error.
    if (exe_errno != 0 && !(exe_errno == ENOENT && p.argv.empty())) {
      p.error = fmt::format("exe: {}", std::strerror(exe_errno));
    }
    out.push_back(std::move(p));
  }
  closedir(d);
  return out;
}

Result<std::vector<ModuleInfo>> LinuxPlatform::ListModules(std::int64_t pid) {
  const std::string base = fmt::format("/proc/{}", pid);
  const std::string maps = ReadSmallFile(base + "/maps", 64 << 20);
  if (maps.empty()) {
    return Fail(ErrorCode::kIo, fmt::format("{}/maps: {}", base, errno ? std::strerror(errno) : "empty"));
  }
  struct Key {
    std::uint64_t dev, inode;
    std::string path;
    bool operator<(const Key& o) const { return std::tie(dev, inode, path) < std::tie(o.dev, o.inode, o.path); }
  };
  std::map<Key, ModuleInfo> files;
  std::vector<ModuleInfo> anon;
  std::istringstream in(maps);
  std::string line;
  while (std::getline(in, line)) {
    // start-end perms offset major:minor inode   path
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    unsigned major = 0, minor = 0;
    char perms[8] = {};
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset, &major, &minor,
                    &inode, &consumed) < 7) {
      continue;
    }
    if (std::strchr(perms, 'x') == nullptr) continue;
    std::string path = consumed > 0 && static_cast<std::size_t>(consumed) <= line.size()
                           ? line.substr(static_cast<std::size_t>(consumed))
                           : std::string();
    if (path == "[vdso]" || path == "[vsyscall]" || path == "[uprobes]") continue;
    ModuleInfo m;
    m.pid = pid;
    m.base = start;
    m.size = end - start;
    m.perms = perms;
    m.device = makedev(major, minor);
    m.inode = inode;
    constexpr std::string_view kDeleted = " (deleted)";
    if (path.ends_with(kDeleted)) {
      m.deleted = true;
      path.resize(path.size() - kDeleted.size());
    }
    if (path.starts_with("/memfd:")) {
      m.kind = "memfd";
      m.path = path;
      m.open_path = fmt::format("{}/map_files/{:x}-{:x}", base, start, end);
      anon.push_back(std::move(m));
      continue;
    }
    // Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS) is backed by shmem
    // and listed as "/dev/zero (deleted)" with an inode: no file backs it either.
    if (path.empty() || path.front() == '[' || inode == 0 || (m.deleted && path == "/dev/zero")) {
      if (m.deleted && path == "/dev/zero") path.clear();
      m.kind = "anon_exec";
      m.path = path;
      anon.push_back(std::move(m));
      continue;
    }
    m.kind = "file";
    m.path = path;
    m.open_path = fmt::format("{}/map_files/{:x}-{:x}", base, start, end);
    Key key{m.device, m.inode, m.path};
    auto it = files.find(key);
    if (it == files.end()) {
      files.emplace(key, std::move(m));
    } else {
      // Several executable mappings of one file: report its whole span.
      const std::uint64_t lo = std::min(it->second.base, m.base);
      const std::uint64_t hi = std::max(it->second.base + it->second.size, m.base + m.size);
      if (m.base < it->second.base) it->second.open_path = m.open_path;
      it->second.base = lo;
      it->second.size = hi - lo;
    }
  }
  std::vector<ModuleInfo> out;
  out.reserve(files.size() + anon.size());
  for (auto& [k, m] : files) out.push_back(std::move(m));
  for (auto& m : anon) out.push_back(std::move(m));
  return out;
}

Result<std::size_t> LinuxPlatform::ReadMemory(std::int64_t pid, std::uint64_t address, std::span<std::byte> out) {
  // /proc/PID/mem: read-only, no ptrace stop of the target (the kernel
  // checks PTRACE_MODE_ATTACH_FSCREDS: root, or the same user without
  // Yama restrictions).
  const std::string path = fmt::format("/proc/{}/mem", pid);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                fmt::format("{}: {}", path, err == ENOENT ? "the process exited" : std::strerror(err)));
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(address + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      if (done == 0 && n < 0) {
        close(fd);
        return Fail(ErrorCode::kIo, fmt::format("{} at 0x{:x}: {}", path, address, std::strerror(err)));
      }
      break;  // an unreadable page or the end of the mapping: what was read stands
    }
    done += static_cast<std::size_t>(n);
  }
  close(fd);
  return done;
}

Result<std::unique_ptr<FileReader>> LinuxPlatform::OpenForRead(const std::string& path) {
  // /proc/PID/exe and map_files are magic links that must be followed.
  const bool magic = path.starts_with("/proc/");
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  if (!magic) flags |= O_NOFOLLOW;
  int fd = open(path.c_str(), flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(path.c_str(), flags);  // O_NOATIME needs ownership
  if (fd < 0) {
    const int err = errno;
    return Fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                fmt::format("{}: {}", path, err == ELOOP ? "is a symbolic link" : std::strerror(err)));
  }
  auto meta = StatxPath(fd, "", AT_EMPTY_PATH);
  if (!meta) {
    close(fd);
    return std::unexpected(meta.error());
  }
  if (meta->type != "file") {
    close(fd);
    return Fail(ErrorCode::kUnsupported, fmt::format("{}: not a regular file ({})", path, meta->type));
  }
  // O_NONBLOCK stays: it kept the open from hanging on a FIFO, and reads of
  // a regular file ignore it (two fcntl calls a file saved).
  return std::unique_ptr<FileReader>(new LinuxFileReader(fd, std::move(*meta), path));
}

SystemFacts LinuxPlatform::Facts() {
  SystemFacts f;
  f.os = "linux";
  struct utsname u {};
  if (uname(&u) == 0) {
    f.hostname = u.nodename;
    f.kernel = std::string(u.sysname) + " " + u.release + " " + u.version;
    f.arch = u.machine;
  }
  std::istringstream osr(ReadSmallFile("/etc/os-release"));
  std::string line;
  while (std::getline(osr, line)) {
    if (line.starts_with("PRETTY_NAME=")) {
      f.os_version = line.substr(12);
      if (f.os_version.size() >= 2 && f.os_version.front() == '"') {
        f.os_version = f.os_version.substr(1, f.os_version.size() - 2);
      }
    }
  }
  if (auto boot = BootTime(); boot > 0) f.boot_time = core::UnixToIso(boot);
  std::string tz = ReadLink("/etc/localtime");
  if (auto pos = tz.find("zoneinfo/"); pos != std::string::npos) tz = tz.substr(pos + 9);
  f.timezone = tz.empty() ? ReadSmallFile("/etc/timezone") : tz;
  while (!f.timezone.empty() && (f.timezone.back() == '\n')) f.timezone.pop_back();
  return f;
}

}  // namespace

std::unique_ptr<Platform> MakeHostPlatform() { return std::make_unique<LinuxPlatform>(); }

}  // namespace trawl::collector
