// SPDX-License-Identifier: Apache-2.0
// Windows implementation of the collector's Platform. Wide APIs only, UTF-8
// inside (wide.h). Processes come from a Toolhelp32 snapshot, enriched from
// a handle opened with the least rights that serve (image path, command line
// through ntdll's ProcessCommandLineInformation, token user/SID/integrity,
// session, start time); whatever cannot be read is named in
// ProcessInfo::error. Modules are the union of a per-process Toolhelp32
// module snapshot (sees 32-bit modules of WOW64 processes) and PSAPI's
// EnumProcessModulesEx(LIST_MODULES_ALL). Files are opened with full sharing,
// backup semantics and without following name-surrogate reparse points
// (symlinks, junctions); only disk files are read, so a device or pipe path
// can never block the collection. Account names are resolved by the local
// LSA (LookupAccountSidW without a system name) and cached per SID.
// Thread-safe: the only shared state is the SID cache (mutex) and flags set
// before collection starts.
#include <windows.h>
#include <sddl.h>
#include <tlhelp32.h>
#include <psapi.h>
#include <winternl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>

#include <fmt/format.h>

#include "collector/platform/ntfs/ntfs_files.h"
#include "collector/platform/windows/connections.h"
#include "collector/platform/platform.h"
#include "collector/platform/windows/wide.h"
#include "core/profile/target.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::collector {
namespace {

using core::ErrorCode;
using core::Fail;
using win::ErrorText;
using win::Narrow;

// Longest path the wide APIs return (UNICODE_STRING limit).
constexpr DWORD kMaxWidePath = 32768;
// NtQueryInformationProcess class for the command line (Windows 8.1+).
constexpr ULONG kProcessCommandLineInformation = 60;
// A command line is at most 32767 UTF-16 units; anything claiming more is
// not trusted (the buffer size comes from the other process's PEB).
constexpr ULONG kMaxCommandLineBytes = 64 * 1024 + 64;

class Handle {
 public:
  Handle() = default;
  explicit Handle(HANDLE h) : h_(h == INVALID_HANDLE_VALUE ? nullptr : h) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      Reset();
      h_ = o.h_;
      o.h_ = nullptr;
    }
    return *this;
  }
  ~Handle() { Reset(); }
  HANDLE get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }
  void Reset() {
    if (h_ != nullptr) CloseHandle(h_);
    h_ = nullptr;
  }

 private:
  HANDLE h_ = nullptr;
};

std::uint64_t FiletimeValue(const FILETIME& ft) {
  return (static_cast<std::uint64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
}

// FILETIME (100 ns since 1601) to ns since the Unix epoch; 0 stays unknown.
std::int64_t FiletimeToUnixNs(std::uint64_t ft) {
  if (ft == 0) return 0;
  const auto ticks = static_cast<std::int64_t>(ft) - static_cast<std::int64_t>(core::kFiletimeUnixEpoch);
  return ticks * 100;
}

void AppendError(std::string& error, std::string_view what) {
  if (!error.empty()) error += "; ";
  error += what;
}

// ---- privileges, tokens, SIDs ----------------------------------------------

bool EnablePrivilege(const wchar_t* name) {
  HANDLE raw = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &raw)) return false;
  Handle token(raw);
  TOKEN_PRIVILEGES tp{};
  tp.PrivilegeCount = 1;
  tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
  if (!LookupPrivilegeValueW(nullptr, name, &tp.Privileges[0].Luid)) return false;
  if (!AdjustTokenPrivileges(token.get(), FALSE, &tp, sizeof tp, nullptr, nullptr)) return false;
  // Success with ERROR_NOT_ALL_ASSIGNED means the token does not hold it.
  return GetLastError() == ERROR_SUCCESS;
}

// GetTokenInformation into a buffer sized by the first call.
std::vector<std::byte> TokenInfo(HANDLE token, TOKEN_INFORMATION_CLASS cls) {
  DWORD need = 0;
  GetTokenInformation(token, cls, nullptr, 0, &need);
  if (need == 0 || need > (1u << 16)) return {};
  // DWORD-aligned storage for the SID structures inside.
  std::vector<std::byte> buf(need + sizeof(void*));
  if (!GetTokenInformation(token, cls, buf.data(), need, &need)) return {};
  return buf;
}

std::string SidString(PSID sid) {
  wchar_t* text = nullptr;
  if (!ConvertSidToStringSidW(sid, &text) || text == nullptr) return {};
  std::string out = Narrow(text);
  LocalFree(text);
  return out;
}

std::string IntegrityName(DWORD rid) {
  if (rid < SECURITY_MANDATORY_LOW_RID) return "untrusted";
  if (rid < SECURITY_MANDATORY_MEDIUM_RID) return "low";
  if (rid < SECURITY_MANDATORY_HIGH_RID) return "medium";
  if (rid < SECURITY_MANDATORY_SYSTEM_RID) return "high";
  if (rid < SECURITY_MANDATORY_PROTECTED_PROCESS_RID) return "system";
  return "protected";
}

// ---- another process's memory -------------------------------------------------

// x64 layouts (this binary is 64-bit only): PEB.ProcessParameters, and in
// RTL_USER_PROCESS_PARAMETERS CurrentDirectory.DosPath and CommandLine.
static_assert(sizeof(void*) == 8, "the PEB offsets below are for x64");
constexpr std::uintptr_t kPebProcessParameters = 0x20;
constexpr std::uintptr_t kParamsCurrentDirectory = 0x38;
constexpr std::uintptr_t kParamsCommandLine = 0x70;

bool ReadRemote(HANDLE h, std::uintptr_t addr, void* out, std::size_t size) {
  SIZE_T got = 0;
  return addr != 0 && ReadProcessMemory(h, reinterpret_cast<LPCVOID>(addr), out, size, &got) && got == size;
}

// A UNICODE_STRING in the other process. Its length is a 16-bit count, so
// the read is bounded whatever the process wrote there.
bool ReadRemoteUnicodeString(HANDLE h, std::uintptr_t addr, std::wstring& out) {
  struct {
    USHORT length;
    USHORT maximum;
    ULONG pad;
    ULONGLONG buffer;
  } us{};
  if (!ReadRemote(h, addr, &us, sizeof us)) return false;
  out.assign(us.length / sizeof(wchar_t), L'\0');
  if (out.empty()) return true;
  return ReadRemote(h, static_cast<std::uintptr_t>(us.buffer), out.data(), out.size() * sizeof(wchar_t));
}

// ---- files -------------------------------------------------------------------

std::string TypeFromAttributes(DWORD attrs, DWORD reparse_tag) {
  if ((attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0 && IsReparseTagNameSurrogate(reparse_tag)) return "symlink";
  if ((attrs & FILE_ATTRIBUTE_DIRECTORY) != 0) return "dir";
  if ((attrs & FILE_ATTRIBUTE_DEVICE) != 0) return "char";
  return "file";
}

Result<FileMeta> MetaFromHandle(HANDLE h, const std::string& path) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(h, &info)) {
    return Fail(ErrorCode::kIo, fmt::format("{}: GetFileInformationByHandle: {}", path, ErrorText(GetLastError())));
  }
  FILE_ATTRIBUTE_TAG_INFO tag{};
  if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof tag)) tag.ReparseTag = 0;
  FileMeta m;
  m.type = TypeFromAttributes(info.dwFileAttributes, tag.ReparseTag);
  m.size = (static_cast<std::uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
  m.mode = info.dwFileAttributes;
  m.device = info.dwVolumeSerialNumber;
  m.inode = (static_cast<std::uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow;
  m.nlink = info.nNumberOfLinks;
  m.mtime_ns = FiletimeToUnixNs(FiletimeValue(info.ftLastWriteTime));
  m.atime_ns = FiletimeToUnixNs(FiletimeValue(info.ftLastAccessTime));
  m.btime_ns = FiletimeToUnixNs(FiletimeValue(info.ftCreationTime));
  // NTFS keeps a metadata change time too (the unix ctime analogue).
  FILE_BASIC_INFO basic{};
  if (GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic)) {
    m.ctime_ns = FiletimeToUnixNs(static_cast<std::uint64_t>(basic.ChangeTime.QuadPart));
  }
  return m;
}

class WindowsFileReader final : public FileReader {
 public:
  WindowsFileReader(Handle h, FileMeta meta, std::string path)
      : h_(std::move(h)), meta_(std::move(meta)), path_(std::move(path)) {}
  const FileMeta& meta() const override { return meta_; }
  Result<std::size_t> Read(std::span<std::byte> buf) override {
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>(buf.size(), 1u << 30));
    DWORD got = 0;
    if (!ReadFile(h_.get(), buf.data(), want, &got, nullptr)) {
      const DWORD err = GetLastError();
      if (err == ERROR_HANDLE_EOF) return std::size_t{0};
      return Fail(ErrorCode::kIo, fmt::format("{}: read: {}", path_, ErrorText(err)));
    }
    return static_cast<std::size_t>(got);
  }
  Result<FileMeta> Restat() override { return MetaFromHandle(h_.get(), path_); }

 private:
  Handle h_;
  FileMeta meta_;
  std::string path_;
};

Result<Handle> OpenPath(const std::string& path, DWORD access, DWORD flags) {
  const std::wstring wide = win::ExtendedPath(path);
  if (wide.empty()) return Fail(ErrorCode::kInvalidArgument, fmt::format("'{}': empty or undecodable path", path));
  HANDLE h = CreateFileW(wide.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         OPEN_EXISTING, flags, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD err = GetLastError();
    const bool missing = err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND;
    const bool locked = err == ERROR_SHARING_VIOLATION || err == ERROR_LOCK_VIOLATION;
    return Fail(missing  ? ErrorCode::kNotFound
                : locked ? ErrorCode::kLocked
                         : ErrorCode::kIo,
                fmt::format("{}: {}", path, ErrorText(err)));
  }
  return Handle(h);
}

// ---- directory listing -------------------------------------------------------

// FindFirstFileExW listing: names stay UTF-8 even when they hold unpaired
// surrogates (std::filesystem would throw), and a reparse point that is a
// name surrogate (symlink, junction, mount point) is reported as a symlink,
// so walks never leave the tree they were given.
class WindowsDirectoryLister final : public core::profile::DirectoryLister {
 public:
  Result<std::vector<core::profile::DirEntry>> List(const std::string& dir) override {
    std::wstring pattern = win::ExtendedPath(dir);
    if (pattern.empty()) return Fail(ErrorCode::kInvalidArgument, fmt::format("'{}': empty path", dir));
    if (pattern.back() != L'\\') pattern.push_back(L'\\');
    pattern.push_back(L'*');
    WIN32_FIND_DATAW fd{};
    HANDLE h = FindFirstFileExW(pattern.c_str(), FindExInfoBasic, &fd, FindExSearchNameMatch, nullptr,
                                FIND_FIRST_EX_LARGE_FETCH);
    if (h == INVALID_HANDLE_VALUE) {
      const DWORD err = GetLastError();
      if (err == ERROR_FILE_NOT_FOUND) return std::vector<core::profile::DirEntry>{};
      return Fail(err == ERROR_PATH_NOT_FOUND ? ErrorCode::kNotFound : ErrorCode::kIo,
                  fmt::format("{}: cannot list directory: {}", dir, ErrorText(err)));
    }
    std::vector<core::profile::DirEntry> out;
    DWORD err = ERROR_SUCCESS;
    do {
      const std::wstring_view name(fd.cFileName, wcsnlen(fd.cFileName, MAX_PATH));
      if (name == L"." || name == L"..") continue;
      if (out.size() >= kMaxEntries) {
        FindClose(h);
        return Fail(ErrorCode::kLimit, fmt::format("{}: more than {} entries", dir, kMaxEntries));
      }
      core::profile::DirEntry e;
      e.name = Narrow(name);
      const bool reparse = (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
      e.is_symlink = reparse && IsReparseTagNameSurrogate(fd.dwReserved0);
      e.is_dir = !e.is_symlink && (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
      e.is_regular = !e.is_symlink && !e.is_dir && (fd.dwFileAttributes & FILE_ATTRIBUTE_DEVICE) == 0;
      out.push_back(std::move(e));
    } while (FindNextFileW(h, &fd));
    err = GetLastError();
    FindClose(h);
    if (err != ERROR_NO_MORE_FILES) {
      return Fail(ErrorCode::kIo, fmt::format("{}: error while listing: {}", dir, ErrorText(err)));
    }
    return out;
  }

 private:
  static constexpr std::size_t kMaxEntries = 1'000'000;
};

// ---- the platform ------------------------------------------------------------

using NtQueryInformationProcessFn = LONG(NTAPI*)(HANDLE, ULONG, PVOID, ULONG, PULONG);
using RtlGetVersionFn = LONG(NTAPI*)(OSVERSIONINFOW*);

FARPROC NtdllProc(const char* name) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");  // always mapped; never loaded from disk here
  return ntdll == nullptr ? nullptr : GetProcAddress(ntdll, name);
}

class WindowsPlatform final : public Platform {
 public:
  WindowsPlatform() {
    // Debug lets us open other users' processes; Backup lets backup-semantics
    // opens read files whose ACL would refuse us. Held only when elevated.
    debug_privilege_ = EnablePrivilege(L"SeDebugPrivilege");
    (void)EnablePrivilege(L"SeBackupPrivilege");
    nt_query_ =
        reinterpret_cast<NtQueryInformationProcessFn>(reinterpret_cast<void*>(NtdllProc("NtQueryInformationProcess")));
  }

  Result<std::vector<ProcessInfo>> ListProcesses() override;
  Result<std::vector<ModuleInfo>> ListModules(std::int64_t pid) override;
  Result<std::size_t> ReadMemory(std::int64_t pid, std::uint64_t address, std::span<std::byte> out) override;
  Result<std::unique_ptr<FileReader>> OpenForRead(const std::string& path) override;
  static void AddUnbackedRegions(HANDLE process, std::int64_t pid, const std::set<std::uint64_t>& module_bases,
                                 std::vector<ModuleInfo>& out);
  Result<FileMeta> Stat(const std::string& path) override;
  Result<std::unique_ptr<FileReader>> OpenRaw(const std::string& path) override;
  Result<const NtfsFiles*> RawVolume(const std::string& volume) override;
  SystemFacts Facts() override;
  Result<std::vector<KnownDll>> ListKnownDlls() override;
  Result<ConnectionList> ListConnections() override { return ListWindowsConnections(); }
  std::unique_ptr<core::profile::DirectoryLister> MakeDirectoryLister() override {
    return std::make_unique<WindowsDirectoryLister>();
  }
  void SetLowPriority() override {
    // Below-normal CPU for the process, and a low I/O priority hint on every
    // file handle we read (OpenForRead). PROCESS_MODE_BACKGROUND_BEGIN would
    // also do I/O but drops the working set and CPU to idle, which can stall
    // a collection for minutes on a busy server.
    (void)SetPriorityClass(GetCurrentProcess(), BELOW_NORMAL_PRIORITY_CLASS);
    low_io_ = true;
  }
  std::string SelfExe() override {
    std::wstring buf(kMaxWidePath, L'\0');
    const DWORD n = GetModuleFileNameW(nullptr, buf.data(), kMaxWidePath);
    if (n == 0 || n >= kMaxWidePath) return {};
    buf.resize(n);
    return Narrow(buf);
  }
  std::int64_t SelfPid() override { return static_cast<std::int64_t>(GetCurrentProcessId()); }

 private:
  // Raw volumes opened so far, by drive letter (an open that failed is kept
  // as its error so that a non-elevated run does not retry per file).
  std::mutex raw_mu_;
  std::map<char, std::unique_ptr<NtfsFiles>> raw_volumes_;
  std::map<char, core::Error> raw_errors_;
  Result<const NtfsFiles*> VolumeOf(char drive);  // raw_mu_ held
  void FillFromHandle(ProcessInfo& p, HANDLE h, bool can_read_memory);
  bool ReadParameters(ProcessInfo& p, HANDLE h, bool want_cmdline);
  void FillToken(ProcessInfo& p, HANDLE h);
  std::string AccountName(PSID sid, const std::string& sid_text);

  bool debug_privilege_ = false;
  bool low_io_ = false;
  NtQueryInformationProcessFn nt_query_ = nullptr;
  std::mutex accounts_mu_;
  std::map<std::string, std::string> accounts_;  // SID string -> DOMAIN\name ("" if unknown)
};

std::string WindowsPlatform::AccountName(PSID sid, const std::string& sid_text) {
  {
    std::lock_guard lock(accounts_mu_);
    if (auto it = accounts_.find(sid_text); it != accounts_.end()) return it->second;
  }
  wchar_t name[256], domain[256];
  DWORD name_len = 256, domain_len = 256;
  SID_NAME_USE use{};
  std::string result;
  // No system name: the local LSA answers (well-known and local accounts,
  // and the cached names of logged-on domain users).
  if (LookupAccountSidW(nullptr, sid, name, &name_len, domain, &domain_len, &use)) {
    const std::string n = Narrow(std::wstring_view(name, wcsnlen(name, 256)));
    const std::string d = Narrow(std::wstring_view(domain, wcsnlen(domain, 256)));
    result = d.empty() ? n : d + "\\" + n;
  }
  std::lock_guard lock(accounts_mu_);
  accounts_.emplace(sid_text, result);
  return result;
}

void WindowsPlatform::FillToken(ProcessInfo& p, HANDLE h) {
  HANDLE raw = nullptr;
  if (!OpenProcessToken(h, TOKEN_QUERY, &raw)) {
    AppendError(p.error, "token: " + ErrorText(GetLastError()));
    return;
  }
  Handle token(raw);
  const std::vector<std::byte> user = TokenInfo(token.get(), TokenUser);
  if (user.size() >= sizeof(TOKEN_USER)) {
    TOKEN_USER tu;
    std::memcpy(&tu, user.data(), sizeof tu);
    if (tu.User.Sid != nullptr && IsValidSid(tu.User.Sid)) {
      p.sid = SidString(tu.User.Sid);
      p.user = AccountName(tu.User.Sid, p.sid);
    }
  } else {
    AppendError(p.error, "token user: " + ErrorText(GetLastError()));
  }
  const std::vector<std::byte> label = TokenInfo(token.get(), TokenIntegrityLevel);
  if (label.size() >= sizeof(TOKEN_MANDATORY_LABEL)) {
    TOKEN_MANDATORY_LABEL ml;
    std::memcpy(&ml, label.data(), sizeof ml);
    PSID sid = ml.Label.Sid;
    if (sid != nullptr && IsValidSid(sid)) {
      const UCHAR count = *GetSidSubAuthorityCount(sid);
      if (count > 0) p.integrity = IntegrityName(*GetSidSubAuthority(sid, static_cast<DWORD>(count - 1)));
    }
  }
}

// Command line and current directory from the process parameters block in
// the other process (needs PROCESS_VM_READ). The command line is taken from
// here only when ntdll cannot give it directly (before Windows 8.1; Wine).
bool WindowsPlatform::ReadParameters(ProcessInfo& p, HANDLE h, bool want_cmdline) {
  if (nt_query_ == nullptr) return false;
  PROCESS_BASIC_INFORMATION pbi{};
  ULONG len = 0;
  if (nt_query_(h, 0 /* ProcessBasicInformation */, &pbi, sizeof pbi, &len) < 0) return false;
  std::uintptr_t params = 0;
  if (!ReadRemote(h, reinterpret_cast<std::uintptr_t>(pbi.PebBaseAddress) + kPebProcessParameters, &params,
                  sizeof params)) {
    return false;
  }
  std::wstring text;
  if (ReadRemoteUnicodeString(h, params + kParamsCurrentDirectory, text)) {
    p.cwd = Narrow(text);
    // DosPath keeps a trailing separator ("C:\dir\"); the root keeps it.
    if (p.cwd.size() > 3 && p.cwd.back() == '\\') p.cwd.pop_back();
  }
  if (!want_cmdline) return true;
  if (!ReadRemoteUnicodeString(h, params + kParamsCommandLine, text)) return false;
  p.cmdline = Narrow(text);
  return true;
}

void WindowsPlatform::FillFromHandle(ProcessInfo& p, HANDLE h, bool can_read_memory) {
  std::wstring image(kMaxWidePath, L'\0');
  DWORD size = kMaxWidePath;
  if (QueryFullProcessImageNameW(h, 0, image.data(), &size)) {
    image.resize(size);
    p.exe = Narrow(image);
    p.exe_open_path = p.exe;
  } else {
    AppendError(p.error, "image: " + ErrorText(GetLastError()));
  }
  std::string cmdline_error;
  bool have_cmdline = false;
  if (nt_query_ != nullptr) {
    ULONG need = 0;
    LONG status = nt_query_(h, kProcessCommandLineInformation, nullptr, 0, &need);
    if (need > sizeof(UNICODE_STRING) && need <= kMaxCommandLineBytes) {
      // UNICODE_STRING header followed by the text it points to.
      std::vector<std::byte> buf(need);
      status = nt_query_(h, kProcessCommandLineInformation, buf.data(), need, &need);
      if (status >= 0 && need <= buf.size()) {
        UNICODE_STRING us;
        std::memcpy(&us, buf.data(), sizeof us);
        // The text pointer must lie inside what we were given (compared as
        // integers: it is not trusted to point into our buffer at all).
        const auto lo = reinterpret_cast<std::uintptr_t>(buf.data());
        const auto text = reinterpret_cast<std::uintptr_t>(us.Buffer);
        if (us.Length == 0) {
          p.cmdline.clear();
          have_cmdline = true;
        } else if (text >= lo + sizeof us && text <= lo + need && us.Length <= lo + need - text) {
          std::wstring cmd(us.Length / sizeof(wchar_t), L'\0');
          std::memcpy(cmd.data(), buf.data() + (text - lo), cmd.size() * sizeof(wchar_t));
          p.cmdline = Narrow(cmd);
          have_cmdline = true;
        } else {
          cmdline_error = "cmdline: malformed answer";
        }
      } else {
        cmdline_error = fmt::format("cmdline: NTSTATUS 0x{:08x}", static_cast<std::uint32_t>(status));
      }
    } else if (need > kMaxCommandLineBytes) {
      cmdline_error = fmt::format("cmdline: {} bytes claimed", need);
    } else {
      cmdline_error = fmt::format("cmdline: NTSTATUS 0x{:08x}", static_cast<std::uint32_t>(status));
    }
  }
  const bool read = can_read_memory && ReadParameters(p, h, !have_cmdline);
  if (!have_cmdline && !read) {
    AppendError(p.error, cmdline_error.empty() ? std::string("cmdline: not readable") : cmdline_error);
  }
  FILETIME created{}, exited{}, kernel{}, user{};
  if (GetProcessTimes(h, &created, &exited, &kernel, &user) && FiletimeValue(created) != 0) {
    p.start_time = core::FiletimeToIso(FiletimeValue(created));
  }
  FillToken(p, h);
}

Result<std::vector<ProcessInfo>> WindowsPlatform::ListProcesses() {
  Handle snap(CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
  if (!snap) return Fail(ErrorCode::kIo, "CreateToolhelp32Snapshot(processes): " + ErrorText(GetLastError()));
  PROCESSENTRY32W pe{};
  pe.dwSize = sizeof pe;
  std::vector<ProcessInfo> out;
  if (!Process32FirstW(snap.get(), &pe)) {
    return Fail(ErrorCode::kIo, "Process32FirstW: " + ErrorText(GetLastError()));
  }
  do {
    ProcessInfo p;
    p.pid = pe.th32ProcessID;
    p.ppid = pe.th32ParentProcessID;
    p.name = Narrow(std::wstring_view(pe.szExeFile, wcsnlen(pe.szExeFile, MAX_PATH)));
    DWORD session = 0;
    if (ProcessIdToSessionId(pe.th32ProcessID, &session)) p.session = session;
    if (pe.th32ProcessID == 0) {
      out.push_back(std::move(p));  // the idle process: no image, no token
      continue;
    }
    // Full query rights and memory reads where allowed; protected processes
    // and other users' processes without SeDebugPrivilege give the limited
    // right only, which still serves image, command line and times.
    Handle h(OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, FALSE, pe.th32ProcessID));
    if (!h) {
      const DWORD first = GetLastError();
      h = Handle(OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pe.th32ProcessID));
      if (!h) {
        AppendError(p.error, "open: " + ErrorText(GetLastError()) + (debug_privilege_ ? "" : " (no SeDebugPrivilege)"));
        out.push_back(std::move(p));
        continue;
      }
      AppendError(p.error, "memory: " + ErrorText(first));
    }
    FillFromHandle(p, h.get(), p.error.empty());
    out.push_back(std::move(p));
  } while (Process32NextW(snap.get(), &pe));
  return out;
}

// Kernel-style names that some APIs return for early-loaded images.
std::string NormaliseModulePath(std::string path) {
  if (path.starts_with("\\??\\")) return path.substr(4);
  if (core::ToLowerAscii(path.substr(0, 12)) == "\\systemroot\\") {
    wchar_t root[MAX_PATH];
    const UINT n = GetSystemWindowsDirectoryW(root, MAX_PATH);
    if (n > 0 && n < MAX_PATH) return Narrow(std::wstring_view(root, n)) + path.substr(11);
  }
  return path;
}

Result<std::vector<ModuleInfo>> WindowsPlatform::ListModules(std::int64_t pid) {
  if (pid <= 0 || pid > 0xffffffffLL) return Fail(ErrorCode::kInvalidArgument, fmt::format("pid {}: no modules", pid));
  const DWORD dpid = static_cast<DWORD>(pid);
  // Keyed by lower-cased path and base: the two APIs may spell a path in
  // different case, and one file can be mapped twice at different bases.
  std::map<std::pair<std::string, std::uint64_t>, ModuleInfo> found;
  auto add = [&](std::string path, std::uint64_t base, std::uint64_t size) {
    path = NormaliseModulePath(std::move(path));
    auto key = std::make_pair(core::ToLowerAscii(path), base);
    if (found.contains(key)) return;
    ModuleInfo m;
    m.pid = pid;
    m.path = path;
    m.open_path = path;
    m.kind = "file";
    m.base = base;
    m.size = size;
    found.emplace(std::move(key), std::move(m));
  };
  std::string errors;
  // Toolhelp32: a snapshot per process; ERROR_BAD_LENGTH means the module
  // list changed while it was taken, so it is retried a few times.
  Handle snap;
  DWORD snap_err = ERROR_SUCCESS;
  for (int attempt = 0; attempt < 5 && !snap; ++attempt) {
    snap = Handle(CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, dpid));
    if (!snap) {
      snap_err = GetLastError();
      if (snap_err != ERROR_BAD_LENGTH) break;
    }
  }
  if (snap) {
    MODULEENTRY32W me{};
    me.dwSize = sizeof me;
    if (Module32FirstW(snap.get(), &me)) {
      do {
        add(Narrow(std::wstring_view(me.szExePath, wcsnlen(me.szExePath, MAX_PATH))),
            reinterpret_cast<std::uintptr_t>(me.modBaseAddr), me.modBaseSize);
      } while (Module32NextW(snap.get(), &me));
    }
  } else {
    AppendError(errors, "toolhelp: " + ErrorText(snap_err));
  }
  // PSAPI: sees modules whose path is longer than MAX_PATH (Toolhelp
  // truncates), and serves as a cross-check of the snapshot.
  Handle h(OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, dpid));
  if (!h) h = Handle(OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, FALSE, dpid));
  if (h) {
    std::vector<HMODULE> mods(256);
    bool listed = false;
    for (int attempt = 0; attempt < 4; ++attempt) {
      DWORD need = 0;
      const DWORD have = static_cast<DWORD>(mods.size() * sizeof(HMODULE));
      if (!EnumProcessModulesEx(h.get(), mods.data(), have, &need, LIST_MODULES_ALL)) break;
      if (need <= have) {
        mods.resize(need / sizeof(HMODULE));
        listed = true;
        break;
      }
      if (need > 65536 * sizeof(HMODULE)) break;  // a hostile count; keep what Toolhelp saw
      mods.resize(need / sizeof(HMODULE) + 16);
    }
    if (listed) {
      std::wstring name(kMaxWidePath, L'\0');
      for (HMODULE mod : mods) {
        const DWORD n = GetModuleFileNameExW(h.get(), mod, name.data(), kMaxWidePath);
        if (n == 0 || n >= kMaxWidePath) continue;
        MODULEINFO mi{};
        std::uint64_t size = 0;
        if (GetModuleInformation(h.get(), mod, &mi, sizeof mi)) size = mi.SizeOfImage;
        add(Narrow(std::wstring_view(name.data(), n)), reinterpret_cast<std::uintptr_t>(mod), size);
      }
    } else {
      AppendError(errors, "psapi: " + ErrorText(GetLastError()));
    }
  } else {
    AppendError(errors, "open: " + ErrorText(GetLastError()));
  }
  if (found.empty()) {
    return Fail(ErrorCode::kIo, fmt::format("pid {}: modules: {}", pid, errors.empty() ? "none listed" : errors));
  }
  std::vector<ModuleInfo> out;
  out.reserve(found.size());
  std::set<std::uint64_t> bases;
  for (auto& [key, m] : found) {
    bases.insert(m.base);
    out.push_back(std::move(m));
  }
  if (h) AddUnbackedRegions(h.get(), pid, bases, out);
  return out;
}

// "rwxp" like /proc/PID/maps: read, write, execute, then p(rivate) or
// s(hared: a mapped section).
std::string RegionPerms(DWORD protect, DWORD type) {
  const DWORD p = protect & 0xffU;
  const bool x = (p & (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)) != 0;
  const bool w = (p & (PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)) != 0;
  const bool r = x ? p != PAGE_EXECUTE : (p & (PAGE_READONLY | PAGE_READWRITE | PAGE_WRITECOPY)) != 0;
  std::string out = {r ? 'r' : '-', w ? 'w' : '-', x ? 'x' : '-', type == MEM_PRIVATE ? 'p' : 's'};
  return out;
}

// Executable memory that no module in the loader's lists accounts for
// (VirtualQueryEx over the whole address space, nothing read here):
//   anon_exec       committed MEM_PRIVATE or MEM_MAPPED memory with an execute
//                   protection (shellcode, a payload decrypted in memory,
//                   reflective loading; also JIT code), path = the mapped
//                   file when a MEM_MAPPED section has one;
//   unlisted_image  a MEM_IMAGE mapping whose allocation base no module list
//                   names (a DLL unlinked from the loader's lists, or mapped
//                   by hand), path = its file as the kernel names it.
// The region walk is capped (a hostile process can fragment its address
// space into millions of regions).
void WindowsPlatform::AddUnbackedRegions(HANDLE process, std::int64_t pid, const std::set<std::uint64_t>& module_bases,
                                         std::vector<ModuleInfo>& out) {
  constexpr int kMaxRegions = 200000;
  constexpr std::size_t kMaxReported = 4096;
  std::set<std::uint64_t> images;
  std::uintptr_t addr = 0;
  std::size_t reported = 0;
  std::wstring name(kMaxWidePath, L'\0');
  auto mapped_name = [&](std::uintptr_t at) -> std::string {
    const DWORD n = GetMappedFileNameW(process, reinterpret_cast<LPVOID>(at), name.data(), kMaxWidePath);
    return n == 0 || n >= kMaxWidePath ? "" : Narrow(std::wstring_view(name.data(), n));
  };
  for (int i = 0; i < kMaxRegions && reported < kMaxReported; ++i) {
    MEMORY_BASIC_INFORMATION mbi{};
    if (VirtualQueryEx(process, reinterpret_cast<LPCVOID>(addr), &mbi, sizeof mbi) != sizeof mbi) break;
    const auto base = reinterpret_cast<std::uintptr_t>(mbi.BaseAddress);
    const std::uintptr_t next = base + mbi.RegionSize;
    if (next <= addr) break;
    addr = next;
    if (mbi.State != MEM_COMMIT) continue;
    if (mbi.Type == MEM_IMAGE) {
      const auto alloc = reinterpret_cast<std::uintptr_t>(mbi.AllocationBase);
      if (module_bases.contains(alloc) || !images.insert(alloc).second) continue;
      ModuleInfo m;
      m.pid = pid;
      m.kind = "unlisted_image";
      m.path = mapped_name(alloc);
      m.base = alloc;
      m.size = next - alloc;
      m.perms = RegionPerms(mbi.Protect, mbi.Type);
      out.push_back(std::move(m));
      ++reported;
      continue;
    }
    const DWORD p = mbi.Protect & 0xffU;
    if ((mbi.Protect & PAGE_GUARD) != 0 ||
        (p & (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)) == 0) {
      continue;
    }
    ModuleInfo m;
    m.pid = pid;
    m.kind = "anon_exec";
    m.base = base;
    m.size = mbi.RegionSize;
    m.perms = RegionPerms(mbi.Protect, mbi.Type);
    if (mbi.Type == MEM_MAPPED) m.path = mapped_name(base);
    out.push_back(std::move(m));
    ++reported;
  }
}

Result<std::size_t> WindowsPlatform::ReadMemory(std::int64_t pid, std::uint64_t address, std::span<std::byte> out) {
  if (pid <= 0 || pid > 0xffffffffLL) return Fail(ErrorCode::kInvalidArgument, fmt::format("pid {}: no memory", pid));
  // Read access only: nothing is ever written into the process.
  Handle h(OpenProcess(PROCESS_VM_READ | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid)));
  if (!h) {
    return Fail(ErrorCode::kIo,
                fmt::format("pid {}: cannot open for reading memory (exited?): {}", pid, ErrorText(GetLastError())));
  }
  SIZE_T got = 0;
  if (!ReadProcessMemory(h.get(), reinterpret_cast<LPCVOID>(static_cast<std::uintptr_t>(address)), out.data(),
                         out.size(), &got)) {
    const DWORD e = GetLastError();
    if (got > 0) return static_cast<std::size_t>(got);  // ERROR_PARTIAL_COPY: the region shrank
    return Fail(ErrorCode::kIo, fmt::format("pid {}: memory at 0x{:x}: {}", pid, address, ErrorText(e)));
  }
  return static_cast<std::size_t>(got);
}

Result<std::unique_ptr<FileReader>> WindowsPlatform::OpenForRead(const std::string& path) {
  constexpr DWORD kFlags = FILE_FLAG_SEQUENTIAL_SCAN | FILE_FLAG_BACKUP_SEMANTICS;
  auto h = OpenPath(path, GENERIC_READ, kFlags | FILE_FLAG_OPEN_REPARSE_POINT);
  if (!h) return std::unexpected(h.error());
  // Devices, pipes and consoles are refused before any read could block.
  const DWORD type = GetFileType(h->get());
  if (type != FILE_TYPE_DISK) {
    return Fail(ErrorCode::kUnsupported, fmt::format("{}: not a disk file (type {})", path, type));
  }
  auto meta = MetaFromHandle(h->get(), path);
  if (!meta) return std::unexpected(meta.error());
  if ((meta->mode & FILE_ATTRIBUTE_REPARSE_POINT) != 0 && meta->type == "file") {
    // A reparse point that is not a link (deduplicated, cloud placeholder,
    // WOF-compressed system file): its filter serves the content only when
    // the point is not opened as such. Links were refused above as "symlink".
    h = OpenPath(path, GENERIC_READ, kFlags);
    if (!h) return std::unexpected(h.error());
    if (GetFileType(h->get()) != FILE_TYPE_DISK) {
      return Fail(ErrorCode::kUnsupported, fmt::format("{}: not a disk file", path));
    }
    meta = MetaFromHandle(h->get(), path);
    if (!meta) return std::unexpected(meta.error());
  }
  if (meta->type != "file") {
    return Fail(ErrorCode::kUnsupported, fmt::format("{}: not a regular file ({})", path, meta->type));
  }
  if (low_io_) {
    FILE_IO_PRIORITY_HINT_INFO hint{};
    hint.PriorityHint = IoPriorityHintLow;
    (void)SetFileInformationByHandle(h->get(), FileIoPriorityHintInfo, &hint, sizeof hint);
  }
  return std::unique_ptr<FileReader>(new WindowsFileReader(std::move(*h), std::move(*meta), path));
}

// The upper-case drive letter `p` starts with ("c:..." -> 'C').
std::optional<char> DriveLetter(std::string_view p) {
  if (p.size() < 2 || p[1] != ':' || !core::profile::IsAsciiAlpha(p[0])) return std::nullopt;
  return static_cast<char>(p[0] & ~0x20);
}

Result<std::unique_ptr<FileReader>> WindowsPlatform::OpenRaw(const std::string& path) {
  // "C:/Windows/..." or "C:\\Windows\\..." (optionally \\?\-prefixed): the
  // volume \\.\C: and the path inside it.
  std::string p = path;
  if (p.rfind("\\\\?\\", 0) == 0 || p.rfind("//?/", 0) == 0) p = p.substr(4);
  const std::optional<char> drive = DriveLetter(p);
  if (!drive) return Fail(ErrorCode::kUnsupported, fmt::format("{}: not on a drive letter; no raw read", path));
  const std::string inner = p.substr(2);
  std::lock_guard lock(raw_mu_);
  auto volume = VolumeOf(*drive);
  if (!volume) return std::unexpected(volume.error());
  return (*volume)->OpenForRead(inner);
}

Result<const NtfsFiles*> WindowsPlatform::RawVolume(const std::string& volume) {
  const std::optional<char> drive = DriveLetter(volume);
  if (!drive) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("volume '{}': expected a drive letter such as C:", volume));
  }
  std::lock_guard lock(raw_mu_);
  return VolumeOf(*drive);
}

Result<const NtfsFiles*> WindowsPlatform::VolumeOf(char drive) {
  if (auto e = raw_errors_.find(drive); e != raw_errors_.end()) return std::unexpected(e->second);
  auto it = raw_volumes_.find(drive);
  if (it == raw_volumes_.end()) {
    const std::string device = fmt::format("\\\\.\\{}:", drive);
    auto source = core::OpenFileSource(device);
    Result<std::unique_ptr<NtfsFiles>> files =
        source ? NtfsFiles::Open(std::move(*source)) : std::unexpected(source.error());
    if (!files) {
      core::Error err{
          files.error().code == ErrorCode::kNotFound ? ErrorCode::kIo : files.error().code,
          fmt::format("raw volume {} (needs administrator rights and NTFS): {}", device, files.error().message)};
      raw_errors_[drive] = err;
      return std::unexpected(err);
    }
    it = raw_volumes_.emplace(drive, std::move(*files)).first;
  }
  return it->second.get();
}

Result<FileMeta> WindowsPlatform::Stat(const std::string& path) {
  auto h = OpenPath(path, FILE_READ_ATTRIBUTES, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT);
  if (h) {
    const DWORD type = GetFileType(h->get());
    if (type == FILE_TYPE_PIPE || type == FILE_TYPE_CHAR) {
      FileMeta m;
      m.type = type == FILE_TYPE_PIPE ? "fifo" : "char";
      return m;
    }
    return MetaFromHandle(h->get(), path);
  }
  if (h.error().code == ErrorCode::kNotFound) return std::unexpected(h.error());
  // Files held open without sharing (pagefile.sys, registry hives) cannot be
  // opened even for attributes; the directory entry still answers.
  WIN32_FILE_ATTRIBUTE_DATA data{};
  if (!GetFileAttributesExW(win::ExtendedPath(path).c_str(), GetFileExInfoStandard, &data)) {
    return std::unexpected(h.error());
  }
  FileMeta m;
  m.type = (data.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0 ? "symlink"
           : (data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0   ? "dir"
                                                                       : "file";
  m.size = (static_cast<std::uint64_t>(data.nFileSizeHigh) << 32) | data.nFileSizeLow;
  m.mode = data.dwFileAttributes;
  m.mtime_ns = FiletimeToUnixNs(FiletimeValue(data.ftLastWriteTime));
  m.atime_ns = FiletimeToUnixNs(FiletimeValue(data.ftLastAccessTime));
  m.btime_ns = FiletimeToUnixNs(FiletimeValue(data.ftCreationTime));
  return m;
}

std::string RegistryString(HKEY root, const wchar_t* key, const wchar_t* value) {
  wchar_t buf[512];
  DWORD bytes = sizeof buf - sizeof(wchar_t);
  if (RegGetValueW(root, key, value, RRF_RT_REG_SZ, nullptr, buf, &bytes) != ERROR_SUCCESS) {
    return {};
  }
  const std::size_t units = std::min<std::size_t>(bytes / sizeof(wchar_t), 511);
  return Narrow(std::wstring_view(buf, wcsnlen(buf, units)));
}

SystemFacts WindowsPlatform::Facts() {
  SystemFacts f;
  f.os = "windows";
  wchar_t name[256];
  DWORD len = 256;
  if (GetComputerNameExW(ComputerNameDnsHostname, name, &len) && len > 0) {
    f.hostname = Narrow(std::wstring_view(name, len));
  } else if (len = 256; GetComputerNameW(name, &len)) {
    f.hostname = Narrow(std::wstring_view(name, len));
  }
  // RtlGetVersion tells the truth; GetVersionEx lies to unmanifested programs.
  if (auto rtl = reinterpret_cast<RtlGetVersionFn>(reinterpret_cast<void*>(NtdllProc("RtlGetVersion")))) {
    OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof v;
    if (rtl(&v) >= 0) {
      f.kernel = fmt::format("Windows NT {}.{}.{}", v.dwMajorVersion, v.dwMinorVersion, v.dwBuildNumber);
      f.os_version = fmt::format("{}.{}.{}", v.dwMajorVersion, v.dwMinorVersion, v.dwBuildNumber);
    }
  }
  constexpr const wchar_t* kCurrentVersion = L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";
  std::string product = RegistryString(HKEY_LOCAL_MACHINE, kCurrentVersion, L"ProductName");
  const std::string display = RegistryString(HKEY_LOCAL_MACHINE, kCurrentVersion, L"DisplayVersion");
  if (!display.empty()) product += (product.empty() ? "" : " ") + display;
  if (!product.empty()) f.os_version = product + (f.os_version.empty() ? "" : " (" + f.os_version + ")");
  SYSTEM_INFO si{};
  GetNativeSystemInfo(&si);
  switch (si.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_AMD64: f.arch = "x86_64"; break;
    case PROCESSOR_ARCHITECTURE_ARM64: f.arch = "arm64"; break;
    case PROCESSOR_ARCHITECTURE_INTEL: f.arch = "x86"; break;
    default: f.arch = fmt::format("unknown({})", si.wProcessorArchitecture); break;
  }
  FILETIME now{};
  GetSystemTimeAsFileTime(&now);
  const std::uint64_t up_100ns = GetTickCount64() * 10000ULL;
  const std::uint64_t now_ft = FiletimeValue(now);
  if (now_ft > up_100ns) f.boot_time = core::FiletimeToIso(now_ft - up_100ns);
  DYNAMIC_TIME_ZONE_INFORMATION tz{};
  if (GetDynamicTimeZoneInformation(&tz) != TIME_ZONE_ID_INVALID) {
    std::string zone = Narrow(std::wstring_view(tz.TimeZoneKeyName, wcsnlen(tz.TimeZoneKeyName, 128)));
    if (zone.empty()) zone = Narrow(std::wstring_view(tz.StandardName, wcsnlen(tz.StandardName, 32)));
    const long offset = -tz.Bias;  // minutes east of UTC
    f.timezone = fmt::format("{} (UTC{}{:02}:{:02})", zone, offset < 0 ? '-' : '+', std::abs(offset) / 60,
                             std::abs(offset) % 60);
  }
  return f;
}

Result<std::vector<KnownDll>> WindowsPlatform::ListKnownDlls() {
  HKEY key = nullptr;
  constexpr const wchar_t* kPath = L"SYSTEM\\CurrentControlSet\\Control\\Session Manager\\KnownDLLs";
  const LSTATUS open = RegOpenKeyExW(HKEY_LOCAL_MACHINE, kPath, 0, KEY_READ | KEY_WOW64_64KEY, &key);
  if (open != ERROR_SUCCESS) {
    return Fail(ErrorCode::kIo, "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\KnownDLLs: " +
                                    ErrorText(static_cast<unsigned long>(open)));
  }
  std::vector<KnownDll> out;
  std::wstring name(16384, L'\0');
  std::vector<BYTE> data(65536);
  for (DWORD i = 0; i < 4096; ++i) {
    DWORD name_len = static_cast<DWORD>(name.size());
    DWORD data_len = static_cast<DWORD>(data.size() - sizeof(wchar_t));
    DWORD type = 0;
    const LSTATUS r = RegEnumValueW(key, i, name.data(), &name_len, nullptr, &type, data.data(), &data_len);
    if (r == ERROR_NO_MORE_ITEMS) break;
    if (r != ERROR_SUCCESS) continue;  // ERROR_MORE_DATA: a value too large to be a DLL name
    KnownDll k;
    k.name = Narrow(std::wstring_view(name.data(), std::min<std::size_t>(name_len, name.size())));
    if (type == REG_SZ || type == REG_EXPAND_SZ) {
      std::wstring text(data_len / sizeof(wchar_t), L'\0');
      std::memcpy(text.data(), data.data(), text.size() * sizeof(wchar_t));
      while (!text.empty() && text.back() == L'\0') text.pop_back();
      k.value = Narrow(text);
    } else {
      k.value = fmt::format("(registry type {}, {} bytes)", type, data_len);
    }
    out.push_back(std::move(k));
  }
  RegCloseKey(key);
  return out;
}

}  // namespace

std::unique_ptr<Platform> MakeHostPlatform() { return std::make_unique<WindowsPlatform>(); }

}  // namespace trawl::collector
