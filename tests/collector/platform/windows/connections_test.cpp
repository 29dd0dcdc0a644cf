// SPDX-License-Identifier: Apache-2.0
// The Windows socket tables (iphlpapi), built only for Windows and run under
// Wine by dist/test-wine.sh: a listener this test opens is listed with its
// address, port, state and owner.
#include <winsock2.h>
#include <ws2tcpip.h>

#include <gtest/gtest.h>

#include "collector/platform/platform.h"

namespace trawl::collector {
namespace {

// Wine (8.0) fills the owner-pid tables with pid 0; Windows names the owner.
bool UnderWine() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

TEST(WindowsConnections, ListsThisProcessListener) {
  WSADATA wsa;
  ASSERT_EQ(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
  SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  ASSERT_NE(s, INVALID_SOCKET);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 1), 0);
  int len = sizeof a;
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  auto list = MakeHostPlatform()->ListConnections();
  closesocket(s);
  WSACleanup();
  ASSERT_TRUE(list) << list.error().ToString();
  bool found = false;
  for (const ConnectionInfo& c : list->sockets) {
    if (c.protocol != "tcp" || c.local_port != port) continue;
    found = true;
    EXPECT_EQ(c.local_address, "127.0.0.1");
    EXPECT_EQ(c.state, "LISTEN");
    if (UnderWine()) {
      EXPECT_TRUE(c.pid == 0 || c.pid == static_cast<std::int64_t>(GetCurrentProcessId())) << c.pid;
    } else {
      EXPECT_EQ(c.pid, static_cast<std::int64_t>(GetCurrentProcessId()));
    }
  }
  EXPECT_TRUE(found) << "listener on 127.0.0.1:" << port << " not in GetExtendedTcpTable";
}

}  // namespace
}  // namespace trawl::collector
