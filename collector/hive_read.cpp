// SPDX-License-Identifier: Apache-2.0
#include "collector/hive_read.h"

#include <fmt/format.h>

#include "core/profile/paths.h"

namespace trawl::collector {

namespace {

constexpr std::uint64_t kMaxHiveBytes = 512ULL << 20;
constexpr std::uint64_t kMaxLogBytes = 256ULL << 20;

}  // namespace

core::Result<std::vector<std::byte>> ReadHostFile(RunState& s, const std::string& host_path, std::uint64_t cap,
                                                  FileAccess access) {
  FileRequest req;
  req.host_path = host_path;
  req.access = access;
  auto reader = OpenWithAccess(s.platform, req);
  if (!reader) return std::unexpected(reader.error());
  if ((*reader)->meta().size > cap) {
    return core::Fail(core::ErrorCode::kLimit,
                      fmt::format("{}: {} bytes, more than the {} read here", host_path, (*reader)->meta().size, cap));
  }
  std::vector<std::byte> data;
  std::vector<std::byte> buf(1 << 20);
  while (true) {
    auto n = (*reader)->Read(buf);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    if (data.size() + *n > cap)
      return core::Fail(core::ErrorCode::kLimit, host_path + ": grew past the cap while read");
    data.insert(data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return data;
}

core::Result<core::formats::regf::Hive> ReadTargetHive(RunState& s, const std::string& target_path, TargetHive& info) {
  info.target_path = target_path;
  const std::string host = profile::HostPathFor(target_path, s.ctx);
  if (host.empty()) {
    return core::Fail(core::ErrorCode::kNotFound, target_path + ": not on a drive this collection holds");
  }
  const FileAccess access = s.live ? FileAccess::kAuto : FileAccess::kApi;
  auto primary = ReadHostFile(s, host, kMaxHiveBytes, access);
  if (!primary) return std::unexpected(primary.error());
  std::vector<core::formats::regf::LogFile> logs;
  const std::string name = target_path.substr(target_path.find_last_of("\\/") + 1);
  for (const char* ext : {".LOG1", ".LOG2"}) {
    auto log = ReadHostFile(s, host + ext, kMaxLogBytes, access);
    if (log) {
      logs.push_back({name + ext, std::move(*log)});
    } else if (log.error().code != core::ErrorCode::kNotFound) {
      info.log_problems.push_back(name + ext + ": " + log.error().message);
    }
  }
  auto hive = core::formats::regf::Hive::Open(std::move(*primary), logs);
  if (!hive) return core::Fail(hive.error().code, target_path + ": " + hive.error().message);
  return hive;
}

}  // namespace trawl::collector
