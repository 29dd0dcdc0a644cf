// SPDX-License-Identifier: Apache-2.0
#include "core/util/read_at.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#ifdef _WIN32
#include <windows.h>
#include <malloc.h>
#include <winioctl.h>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace trawl::core {

Result<void> ReadAtSource::ReadExact(std::uint64_t offset, std::span<std::byte> buf, std::string_view what) const {
  std::size_t done = 0;
  while (done < buf.size()) {
    auto n = ReadAt(offset + done, buf.subspan(done));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) {
      return Fail(ErrorCode::kTruncated, fmt::format("{}: {} at offset {} needs {} bytes, source has {}", Name(), what,
                                                     offset, buf.size(), Size()));
    }
    done += *n;
  }
  return {};
}

Result<std::size_t> MemorySource::ReadAt(std::uint64_t offset, std::span<std::byte> buf) const {
  if (offset >= data_.size()) return std::size_t{0};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), data_.size() - offset));
  std::memcpy(buf.data(), data_.data() + offset, n);
  return n;
}

namespace {

class SubSource final : public ReadAtSource {
 public:
  SubSource(const ReadAtSource& parent, std::uint64_t offset, std::uint64_t length)
      : parent_(parent), offset_(offset), length_(length) {}
  std::uint64_t Size() const override { return length_; }
  Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::byte> buf) const override {
    if (offset >= length_) return std::size_t{0};
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length_ - offset));
    return parent_.ReadAt(offset_ + offset, buf.first(n));
  }
  std::string Name() const override { return fmt::format("{}@{}", parent_.Name(), offset_); }

 private:
  const ReadAtSource& parent_;
  std::uint64_t offset_, length_;
};

#ifdef _WIN32
std::wstring Widen(const std::string& s) {
  if (s.empty()) return {};
  const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), w.data(), n);
  return w;
}

class FileSource final : public ReadAtSource {
 public:
  // `device`: a volume or disk handle, which reads only whole sectors at
  // sector-aligned offsets; reads then go through an aligned bounce buffer.
  FileSource(HANDLE h, std::uint64_t size, std::string name, bool device)
      : h_(h), size_(size), name_(std::move(name)), device_(device) {}
  ~FileSource() override { CloseHandle(h_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::uint64_t Size() const override { return size_; }
  Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::byte> buf) const override {
    if (offset >= size_) return std::size_t{0};
    if (device_ && (offset % kAlign != 0 || buf.size() % kAlign != 0 ||
                    reinterpret_cast<std::uintptr_t>(buf.data()) % kAlign != 0)) {
      const std::uint64_t start = offset / kAlign * kAlign;
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - offset));
      const std::size_t span = static_cast<std::size_t>((offset + want + kAlign - 1) / kAlign * kAlign - start);
      auto* raw = static_cast<std::byte*>(_aligned_malloc(span, kAlign));
      if (!raw) return Fail(ErrorCode::kIo, fmt::format("{}: out of memory for a {}-byte read", name_, span));
      auto got = ReadAt(start, std::span<std::byte>(raw, span));
      std::size_t n = 0;
      if (got && *got > offset - start) {
        n = std::min<std::size_t>(want, *got - static_cast<std::size_t>(offset - start));
        std::memcpy(buf.data(), raw + (offset - start), n);
      }
      _aligned_free(raw);
      if (!got) return std::unexpected(got.error());
      return n;
    }
    const auto want = static_cast<DWORD>(std::min<std::uint64_t>({buf.size(), size_ - offset, 1u << 30}));
    OVERLAPPED ov{};
    ov.Offset = static_cast<DWORD>(offset & 0xffffffffu);
    ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
    DWORD got = 0;
    if (!ReadFile(h_, buf.data(), want, &got, &ov)) {
      const DWORD e = GetLastError();
      if (e == ERROR_HANDLE_EOF) return std::size_t{0};
      return Fail(ErrorCode::kIo, fmt::format("{}: read at offset {} failed (Windows error {})", name_, offset, e));
    }
    return static_cast<std::size_t>(got);
  }
  std::string Name() const override { return name_; }

 private:
  static constexpr std::uint64_t kAlign = 4096;
  HANDLE h_;
  std::uint64_t size_;
  std::string name_;
  bool device_;
};
#else
class FileSource final : public ReadAtSource {
 public:
  FileSource(int fd, std::uint64_t size, std::string name) : fd_(fd), size_(size), name_(std::move(name)) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::uint64_t Size() const override { return size_; }
  Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::byte> buf) const override {
    if (offset >= size_) return std::size_t{0};
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - offset));
    while (true) {
      const ssize_t n = ::pread(fd_, buf.data(), want, static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, fmt::format("{}: read at offset {} failed: {}", name_, offset, std::strerror(errno)));
    }
  }
  std::string Name() const override { return name_; }

 private:
  int fd_;
  std::uint64_t size_;
  std::string name_;
};
#endif

}  // namespace

Result<std::unique_ptr<ReadAtSource>> MakeSubSource(const ReadAtSource& parent, std::uint64_t offset,
                                                    std::uint64_t length) {
  if (offset > parent.Size() || length > parent.Size() - offset) {
    return Fail(ErrorCode::kFormat, fmt::format("{}: window {}+{} lies outside the source ({} bytes)", parent.Name(),
                                                offset, length, parent.Size()));
  }
  return std::unique_ptr<ReadAtSource>(new SubSource(parent, offset, length));
}

Result<std::unique_ptr<ReadAtSource>> OpenFileSource(const std::string& path) {
#ifdef _WIN32
  HANDLE h = CreateFileW(Widen(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    return Fail(ErrorCode::kIo, fmt::format("{}: cannot open (Windows error {})", path, GetLastError()));
  }
  std::uint64_t size = 0;
  LARGE_INTEGER li{};
  const bool device = path.rfind("\\\\.\\", 0) == 0;  // \\.\C:, \\.\PhysicalDrive0
  if (!device && GetFileSizeEx(h, &li)) {
    size = static_cast<std::uint64_t>(li.QuadPart);
  } else {
    // A volume or disk handle: ask the device for its length.
    GET_LENGTH_INFORMATION gli{};
    DWORD ret = 0;
    if (DeviceIoControl(h, IOCTL_DISK_GET_LENGTH_INFO, nullptr, 0, &gli, sizeof gli, &ret, nullptr)) {
      size = static_cast<std::uint64_t>(gli.Length.QuadPart);
    } else {
      const DWORD e = GetLastError();
      CloseHandle(h);
      return Fail(ErrorCode::kIo, fmt::format("{}: cannot tell its size (Windows error {})", path, e));
    }
  }
  return std::unique_ptr<ReadAtSource>(new FileSource(h, size, path, device));
#else
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return Fail(ErrorCode::kIo, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return Fail(ErrorCode::kIo, fmt::format("{}: cannot stat: {}", path, std::strerror(e)));
  }
  std::uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    const off_t end = ::lseek(fd, 0, SEEK_END);
    size = end > 0 ? static_cast<std::uint64_t>(end) : 0;
  } else {
    ::close(fd);
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{}: not a regular file or block device", path));
  }
  return std::unique_ptr<ReadAtSource>(new FileSource(fd, size, path));
#endif
}

}  // namespace trawl::core
