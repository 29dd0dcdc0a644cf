// SPDX-License-Identifier: Apache-2.0
// winsock2.h before windows.h (iphlpapi pulls it in).
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "collector/platform/windows/connections.h"

namespace trawl::collector {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Result;

// MIB_TCP_STATE, named as Linux names them so one column reads the same.
std::string TcpState(DWORD s) {
  static constexpr std::array<const char*, 13> kNames = {
      "UNKNOWN",   "CLOSE",      "LISTEN",  "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT1",
      "FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "DELETE_TCB"};
  return s < kNames.size() ? kNames[s] : "UNKNOWN";
}

std::string Address(int family, const void* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, const_cast<void*>(bytes), text, sizeof text) == nullptr) return {};
  return text;
}

std::int64_t Port(DWORD p) { return ntohs(static_cast<u_short>(p & 0xFFFF)); }

// Calls the table function until the buffer is large enough (the table can
// grow between the size query and the read), then hands each row to `fill`.
// A table that cannot be read is a problem of the list, not its end.
template <typename Table, typename Get, typename Fill>
void ReadTable(const char* what, Get&& get, Fill&& fill, ConnectionList& out, int& tables) {
  std::vector<std::byte> buf(64 * 1024);
  DWORD rc = ERROR_INSUFFICIENT_BUFFER;
  DWORD size = 0;
  for (int attempt = 0; attempt < 8 && rc == ERROR_INSUFFICIENT_BUFFER; ++attempt) {
    size = static_cast<DWORD>(buf.size());
    rc = get(buf.data(), &size);
    if (rc == ERROR_INSUFFICIENT_BUFFER) buf.resize(static_cast<std::size_t>(size) + 16 * 1024);
  }
  if (rc != NO_ERROR) {
    out.problems.push_back(rc == ERROR_INSUFFICIENT_BUFFER ? fmt::format("{}: the table kept growing", what)
                                                           : fmt::format("{}: error {}", what, rc));
    return;
  }
  ++tables;
  const auto* table = reinterpret_cast<const Table*>(buf.data());
  const std::size_t room = (buf.size() - offsetof(Table, table)) / sizeof(table->table[0]);
  const std::size_t n = std::min<std::size_t>(table->dwNumEntries, room);
  for (std::size_t i = 0; i < n; ++i) {
    ConnectionInfo c;
    fill(table->table[i], c);
    out.sockets.push_back(std::move(c));
  }
}

}  // namespace

Result<ConnectionList> ListWindowsConnections() {
  ConnectionList out;
  int tables = 0;
  ReadTable<MIB_TCPTABLE_OWNER_PID>(
      "GetExtendedTcpTable(AF_INET)",
      [](void* b, DWORD* n) { return GetExtendedTcpTable(b, n, FALSE, AF_INET, TCP_TABLE_OWNER_PID_ALL, 0); },
      [](const MIB_TCPROW_OWNER_PID& r, ConnectionInfo& c) {
        c.protocol = "tcp";
        c.local_address = Address(AF_INET, &r.dwLocalAddr);
        c.local_port = Port(r.dwLocalPort);
        c.remote_address = Address(AF_INET, &r.dwRemoteAddr);
        c.remote_port = Port(r.dwRemotePort);
        c.state = TcpState(r.dwState);
        c.pid = r.dwOwningPid;
      },
      out, tables);
  ReadTable<MIB_TCP6TABLE_OWNER_PID>(
      "GetExtendedTcpTable(AF_INET6)",
      [](void* b, DWORD* n) { return GetExtendedTcpTable(b, n, FALSE, AF_INET6, TCP_TABLE_OWNER_PID_ALL, 0); },
      [](const MIB_TCP6ROW_OWNER_PID& r, ConnectionInfo& c) {
        c.protocol = "tcp6";
        c.local_address = Address(AF_INET6, r.ucLocalAddr);
        c.local_port = Port(r.dwLocalPort);
        c.remote_address = Address(AF_INET6, r.ucRemoteAddr);
        c.remote_port = Port(r.dwRemotePort);
        c.state = TcpState(r.dwState);
        c.pid = r.dwOwningPid;
      },
      out, tables);
  ReadTable<MIB_UDPTABLE_OWNER_PID>(
      "GetExtendedUdpTable(AF_INET)",
      [](void* b, DWORD* n) { return GetExtendedUdpTable(b, n, FALSE, AF_INET, UDP_TABLE_OWNER_PID, 0); },
      [](const MIB_UDPROW_OWNER_PID& r, ConnectionInfo& c) {
        c.protocol = "udp";
        c.local_address = Address(AF_INET, &r.dwLocalAddr);
        c.local_port = Port(r.dwLocalPort);
        c.remote_address = "0.0.0.0";
        c.pid = r.dwOwningPid;
      },
      out, tables);
  ReadTable<MIB_UDP6TABLE_OWNER_PID>(
      "GetExtendedUdpTable(AF_INET6)",
      [](void* b, DWORD* n) { return GetExtendedUdpTable(b, n, FALSE, AF_INET6, UDP_TABLE_OWNER_PID, 0); },
      [](const MIB_UDP6ROW_OWNER_PID& r, ConnectionInfo& c) {
        c.protocol = "udp6";
        c.local_address = Address(AF_INET6, r.ucLocalAddr);
        c.local_port = Port(r.dwLocalPort);
        c.remote_address = "::";
        c.pid = r.dwOwningPid;
      },
      out, tables);
  if (tables == 0) return Fail(ErrorCode::kIo, out.problems.empty() ? "no socket table" : out.problems.front());
  return out;
}

}  // namespace trawl::collector
