// SPDX-License-Identifier: Apache-2.0
#include "core/util/file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace trawl::core {

Result<std::vector<std::byte>> ReadFileBytes(const std::filesystem::path& path, std::uint64_t max_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kIo, fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  std::vector<std::byte> data;
  // One allocation for a regular file of known size (a hive is read whole).
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(path, ec); !ec && size <= max_size) data.reserve(size);
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    const auto got = static_cast<std::size_t>(in.gcount());
    if (data.size() + got > max_size) {
      return Fail(ErrorCode::kLimit, fmt::format("{}: larger than the {} byte limit", path.string(), max_size));
    }
    const auto* p = reinterpret_cast<const std::byte*>(buf);
    data.insert(data.end(), p, p + got);
  }
  if (in.bad()) return Fail(ErrorCode::kIo, fmt::format("{}: read error", path.string()));
  return data;
}

Result<std::string> ReadFileText(const std::filesystem::path& path, std::uint64_t max_size) {
  auto bytes = ReadFileBytes(path, max_size);
  if (!bytes) return std::unexpected(bytes.error());
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

Result<void> WriteFileText(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return Fail(ErrorCode::kIo, fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
  }
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) return Fail(ErrorCode::kIo, fmt::format("{}: write failed", path.string()));
  return {};
}

}  // namespace trawl::core
