// SPDX-License-Identifier: Apache-2.0
#include "collector/platform/linux/proc_net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>

namespace trawl::collector {
namespace {

// proc(5): the kernel's TCP state numbers (include/net/tcp_states.h).
std::string_view TcpState(unsigned code) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "",      "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
      "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
  return code < kNames.size() ? kNames[code] : std::string_view("UNKNOWN");
}

bool Hex(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

bool Dec(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && p == s.data() + s.size();
}

// "0100007F:1F90" -> ("127.0.0.1", 8080). The address is the kernel's
// __be32 words printed as host-order integers: on a little-endian host each
// 32-bit word's bytes come out reversed.
bool Endpoint(std::string_view s, bool v6, std::string& address, std::int64_t& port) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view hex = s.substr(0, colon);
  std::uint64_t p = 0;
  if (!Hex(s.substr(colon + 1), p) || p > 0xFFFF) return false;
  const std::size_t words = v6 ? 4 : 1;
  if (hex.size() != words * 8) return false;
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t w = 0; w < words; ++w) {
    std::uint64_t word = 0;
    if (!Hex(hex.substr(w * 8, 8), word)) return false;
    const auto host = static_cast<std::uint32_t>(word);
    std::memcpy(bytes.data() + 4 * w, &host, 4);  // back to the kernel's byte order
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text) == nullptr) return false;
  address = text;
  port = static_cast<std::int64_t>(p);
  return true;
}

}  // namespace

std::vector<ConnectionInfo> ParseProcNet(std::string_view text, std::string_view protocol, std::size_t* bad_lines) {
  std::vector<ConnectionInfo> out;
  const bool v6 = protocol.ends_with('6');
  const bool tcp = protocol.starts_with("tcp");
  bool header = true;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (header) {  // "  sl  local_address rem_address   st ..."
      header = false;
      continue;
    }
    std::vector<std::string_view> f;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && line[i] == ' ') ++i;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ') ++i;
      if (i > start) f.push_back(line.substr(start, i - start));
    }
    if (f.empty()) continue;
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    ConnectionInfo c;
    c.protocol = std::string(protocol);
    std::uint64_t st = 0, inode = 0;
    if (f.size() < 10 || !Endpoint(f[1], v6, c.local_address, c.local_port) ||
        !Endpoint(f[2], v6, c.remote_address, c.remote_port) || !Hex(f[3], st) || !Dec(f[9], inode)) {
      if (bad_lines != nullptr) ++*bad_lines;
      continue;
    }
    // UDP sockets report 07 (unconnected) or 01 (connected); not TCP states.
    if (tcp) c.state = std::string(TcpState(static_cast<unsigned>(st)));
    c.inode = inode;
    out.push_back(std::move(c));
  }
  return out;
}

std::map<std::uint64_t, std::int64_t> SocketOwners(const std::string& proc) {
  std::map<std::uint64_t, std::int64_t> owners;
  DIR* d = opendir(proc.c_str());
  if (d == nullptr) return owners;
  while (const dirent* e = readdir(d)) {
    std::int64_t pid = 0;
    const std::string_view name = e->d_name;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || p != name.data() + name.size() || pid <= 0) continue;
    const std::string fd_dir = proc + "/" + std::string(name) + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;  // exited, or not ours to read
    while (const dirent* fd = readdir(fds)) {
      if (fd->d_name[0] == '.') continue;
      char target[64] = {};
      const std::string link = fd_dir + "/" + fd->d_name;
      const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      const std::string_view t(target, static_cast<std::size_t>(n));
      if (!t.starts_with("socket:[") || !t.ends_with(']')) continue;
      std::uint64_t inode = 0;
      if (!Dec(t.substr(8, t.size() - 9), inode)) continue;
      auto [it, added] = owners.emplace(inode, pid);
      if (!added && pid < it->second) it->second = pid;
    }
    closedir(fds);
  }
  closedir(d);
  return owners;
}

}  // namespace trawl::collector
