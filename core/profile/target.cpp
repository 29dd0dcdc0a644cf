// SPDX-License-Identifier: Apache-2.0
#include "core/profile/target.h"

#ifndef _WIN32
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#endif

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <unordered_set>

#include "core/util/file.h"
#include "core/util/text.h"

namespace trawl::core::profile {

bool IsAsciiAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

std::string EnvValue(const ExpansionContext& ctx, std::string_view name) {
  for (const auto& [key, value] : ctx.env) {
    if (EqualsIgnoreCaseAscii(key, name)) return value;
  }
  return {};
}

std::string SystemDrive(const ExpansionContext& ctx) {
  std::string drive = EnvValue(ctx, "SystemDrive");
  if (drive.size() != 2 || !IsAsciiAlpha(drive[0]) || drive[1] != ':') drive = "C:";
  return drive;
}

std::string HostRootForDrive(const ExpansionContext& ctx, std::string_view drive) {
  if (drive.size() != 2 || !IsAsciiAlpha(drive[0]) || drive[1] != ':') return {};
  if (EqualsIgnoreCaseAscii(drive, SystemDrive(ctx))) return NormalizeRoot(ctx.root);
  std::string key(drive);
  key[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(key[0])));
  const auto it = ctx.drives.find(key);
  return it == ctx.drives.end() ? std::string() : NormalizeRoot(it->second);
}

std::string JoinHost(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

std::string NormalizeRoot(std::string root) {
  if (root.empty()) root = "/";
  // A drive root ("C:", "C:\\", "C:/") stays "C:/": on Windows "C:" alone
  // names the current directory on drive C:, not its root.
  if (root.size() <= 3 && root.size() >= 2 && IsAsciiAlpha(root[0]) && root[1] == ':' &&
      (root.size() == 2 || root[2] == '/' || root[2] == '\\')) {
    return root.substr(0, 2) + "/";
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

std::string TargetPathOf(const std::vector<std::string>& comps, PathStyle style) {
  std::string out;
  if (style == PathStyle::kWindows) {
    if (comps.empty()) return out;
    out = comps[0];
    out.push_back('\\');
    for (std::size_t i = 1; i < comps.size(); ++i) {
      if (i > 1) out.push_back('\\');
      out += comps[i];
    }
    return out;
  }
  out = "/";
  for (std::size_t i = 0; i < comps.size(); ++i) {
    if (i > 0) out.push_back('/');
    out += comps[i];
  }
  return out;
}

bool FoldCaseFor(TargetOs os) { return os != TargetOs::kLinux; }

std::vector<DirEntry> SortedListing(std::vector<DirEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

// Finds the entries of host dir `dir` named `name` (folding case if asked).
std::vector<DirEntry> Lookup(DirectoryLister& lister, const std::string& dir, std::string_view name, bool fold) {
  std::vector<DirEntry> out;
  auto listing = lister.List(dir);
  if (!listing) return out;
  for (DirEntry& e : *listing) {
    if (fold ? EqualsIgnoreCaseAscii(e.name, name) : e.name == name) out.push_back(std::move(e));
  }
  return out;
}

// Resolves a chain of literal components to a host directory, never through a
// symlink; empty when absent.
std::string ResolveDir(DirectoryLister& lister, const std::string& root, const std::vector<std::string>& comps,
                       bool fold) {
  std::string host = root;
  for (const std::string& c : comps) {
    if (c == "." || c == "..") return {};
    bool found = false;
    for (const DirEntry& e : Lookup(lister, host, c, fold)) {
      if (e.is_dir && !e.is_symlink) {
        host = JoinHost(host, e.name);
        found = true;
        break;
      }
    }
    if (!found) return {};
  }
  return host;
}

// ---- OS names and the lister -------------------------------------------------

std::string_view TargetOsName(TargetOs os) {
  switch (os) {
    case TargetOs::kLinux: return "linux";
    case TargetOs::kWindows: return "windows";
    case TargetOs::kMacos: return "macos";
  }
  return "?";
}

std::optional<TargetOs> ParseTargetOs(std::string_view name) {
  if (name == "linux") return TargetOs::kLinux;
  if (name == "windows") return TargetOs::kWindows;
  if (name == "macos") return TargetOs::kMacos;
  return std::nullopt;
}

#ifndef _WIN32
// POSIX: readdir's d_type answers without a stat per entry (a walk of a
// million files saves a million syscalls); a file system that does not fill
// it in (DT_UNKNOWN) gets one fstatat, as before.
Result<std::vector<DirEntry>> FsDirectoryLister::List(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail(ErrorCode::kIo, dir + ": cannot list directory: " + std::strerror(errno));
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    close(fd);
    return Fail(ErrorCode::kIo, dir + ": cannot list directory: " + std::strerror(err));
  }
  std::vector<DirEntry> entries;
  errno = 0;
  while (const dirent* de = readdir(d)) {
    const std::string_view name = de->d_name;
    if (name == "." || name == "..") continue;
    if (entries.size() >= max_entries_) {
      closedir(d);
      return Fail(ErrorCode::kLimit, dir + ": more than " + std::to_string(max_entries_) + " entries");
    }
    DirEntry e;
    e.name = std::string(name);
    unsigned char type = de->d_type;
    if (dir.size() + 1 + name.size() >= PATH_MAX) {
      // Opened by name later, which must fail: an entry of unknown type,
      // so it is recorded with that error rather than walked into silently.
      type = DT_UNKNOWN;
    } else if (type == DT_UNKNOWN) {
      struct stat st {};
      if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = S_ISLNK(st.st_mode) ? DT_LNK : S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
      }
    }
    e.is_symlink = type == DT_LNK;
    e.is_dir = type == DT_DIR;
    e.is_regular = type == DT_REG;
    entries.push_back(std::move(e));
    errno = 0;
  }
  const int err = errno;
  closedir(d);
  if (err != 0) return Fail(ErrorCode::kIo, dir + ": error while listing: " + std::strerror(err));
  return entries;
}
#else
Result<std::vector<DirEntry>> FsDirectoryLister::List(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(fs::path(dir), fs::directory_options::none, ec);
  if (ec) return Fail(ErrorCode::kIo, dir + ": cannot list directory: " + ec.message());
  std::vector<DirEntry> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (entries.size() >= max_entries_) {
      return Fail(ErrorCode::kLimit, dir + ": more than " + std::to_string(max_entries_) + " entries");
    }
    DirEntry e;
    e.name = it->path().filename().string();
    std::error_code sec;
    const fs::file_status st = it->symlink_status(sec);
    if (!sec) {
      e.is_symlink = fs::is_symlink(st);
      e.is_dir = fs::is_directory(st);
      e.is_regular = fs::is_regular_file(st);
    }
    entries.push_back(std::move(e));
  }
  if (ec) return Fail(ErrorCode::kIo, dir + ": error while listing: " + ec.message());
  return entries;
}
#endif

// ---- context -----------------------------------------------------------------

Result<ExpansionContext> MakeExpansionContext(TargetOs os, std::string root, DirectoryLister& lister) {
  ExpansionContext ctx;
  ctx.os = os;
  ctx.root = NormalizeRoot(std::move(root));
  std::unordered_set<std::string> homes;
  auto add_user = [&](std::string name, std::string home) {
    if (homes.insert(os == TargetOs::kLinux ? home : ToLowerAscii(home)).second) {
      ctx.users.push_back({std::move(name), std::move(home)});
    }
  };
  const bool fold = FoldCaseFor(os);
  if (os == TargetOs::kWindows) {
    const std::string users_dir = ResolveDir(lister, ctx.root, {"Users"}, true);
    if (users_dir.empty()) return ctx;
    auto listing = lister.List(users_dir);
    if (!listing) return ctx;
    const std::string drive = SystemDrive(ctx);
    for (const DirEntry& e : SortedListing(std::move(*listing))) {
      if (!e.is_dir || e.is_symlink) continue;  // "All Users" / "Default User" are junctions
      if (EqualsIgnoreCaseAscii(e.name, "Public") || EqualsIgnoreCaseAscii(e.name, "Default") ||
          EqualsIgnoreCaseAscii(e.name, "Default User") || EqualsIgnoreCaseAscii(e.name, "All Users")) {
        continue;
      }
      add_user(e.name, drive + "\\Users\\" + e.name);
    }
    return ctx;
  }
  // Unix: etc/passwd first, read as a plain file (never NSS: the host's
  // resolver knows nothing of an offline root and may call out to LDAP).
  const std::string etc = ResolveDir(lister, ctx.root, {"etc"}, fold);
  if (!etc.empty()) {
    auto text = ReadFileText(JoinHost(etc, "passwd"), 16ULL << 20);
    if (text) {
      const long min_uid = os == TargetOs::kMacos ? 500 : 1000;
      std::size_t pos = 0;
      while (pos < text->size()) {
        std::size_t end = text->find('\n', pos);
        if (end == std::string::npos) end = text->size();
        const std::string_view line(text->data() + pos, end - pos);
        pos = end + 1;
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string_view> f;
        std::size_t start = 0;
        for (std::size_t k = 0; k <= line.size(); ++k) {
          if (k == line.size() || line[k] == ':') {
            f.push_back(line.substr(start, k - start));
            start = k + 1;
          }
        }
        if (f.size() < 7 || f[0].empty()) continue;
        long uid = -1;
        auto [p, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), uid);
        if (ec != std::errc() || p != f[2].data() + f[2].size()) continue;
        if (uid != 0 && (uid < min_uid || uid == 65534)) continue;
        const std::string_view home = f[5];
        if (home.empty() || home[0] != '/' || home == "/") continue;
        const std::vector<std::string> comps = SplitPath(home, PathStyle::kUnix);
        if (ResolveDir(lister, ctx.root, comps, fold).empty()) continue;
        add_user(std::string(f[0]), TargetPathOf(comps, PathStyle::kUnix));
      }
    }
  }
  for (std::string_view base : {std::string_view("home"), std::string_view("Users")}) {
    const std::string dir = ResolveDir(lister, ctx.root, {std::string(base)}, fold);
    if (dir.empty()) continue;
    auto listing = lister.List(dir);
    if (!listing) continue;
    for (const DirEntry& e : SortedListing(std::move(*listing))) {
      if (!e.is_dir || e.is_symlink || e.name == "Shared" || e.name.starts_with('.')) continue;
      add_user(e.name, "/" + std::string(base) + "/" + e.name);
    }
  }
  return ctx;
}

Result<ExpansionContext> MakeExpansionContext(TargetOs os, std::string root) {
  FsDirectoryLister lister;
  return MakeExpansionContext(os, std::move(root), lister);
}

TargetOs DetectTargetOs(const std::string& root, DirectoryLister& lister) {
  const std::string r = NormalizeRoot(root);
  if (!ResolveDir(lister, r, {"Windows", "System32"}, true).empty()) return TargetOs::kWindows;
  if (!ResolveDir(lister, r, {"System", "Library", "CoreServices"}, false).empty()) {
    return TargetOs::kMacos;
  }
  return TargetOs::kLinux;
}

}  // namespace trawl::core::profile
