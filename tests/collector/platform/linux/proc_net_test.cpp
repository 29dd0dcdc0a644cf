// SPDX-License-Identifier: Apache-2.0
// /proc/net socket tables: the parser on lines in the kernel's format, and
// the live listing against a socket this test opens and against ss(8).
#include "collector/platform/linux/proc_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <set>
#include <string>

namespace trawl::collector {
namespace {

constexpr const char* kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 "
    "0000000000000000 100 0 0 10 0\n"
    "   1: 0F02000A:C350 5DB8D822:01BB 01 00000000:00000000 02:000A7B3C 00000000  1000        0 4343 2 "
    "0000000000000000 20 4 30 10 -1\n"
    "   2: garbage\n";

// ::1 port 22 listening; 2001:db8::1 port 443 from fe80::1 port 50000 (words in host order).
constexpr const char* kTcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
    "tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n"
    "   1: B80D0120000000000000000001000000:01BB 000080FE000000000000000001000000:C350 01 00000000:00000000 "
    "00:00000000 00000000     0        0 778 1 0000000000000000 100 0 0 10 0\n";

TEST(ProcNet, ParsesIpv4AndIpv6InTheKernelsByteOrder) {
  std::size_t bad = 0;
  auto v4 = ParseProcNet(kTcp, "tcp", &bad);
  ASSERT_EQ(v4.size(), 2u);
  EXPECT_EQ(bad, 1u);  // the garbage line, counted, not dropped silently
  EXPECT_EQ(v4[0].local_address, "127.0.0.1");
  EXPECT_EQ(v4[0].local_port, 8080);
  EXPECT_EQ(v4[0].remote_address, "0.0.0.0");
  EXPECT_EQ(v4[0].state, "LISTEN");
  EXPECT_EQ(v4[0].inode, 4242u);
  EXPECT_EQ(v4[1].local_address, "10.0.2.15");
  EXPECT_EQ(v4[1].local_port, 50000);
  EXPECT_EQ(v4[1].remote_address, "34.216.184.93");
  EXPECT_EQ(v4[1].remote_port, 443);
  EXPECT_EQ(v4[1].state, "ESTABLISHED");
  bad = 0;
  auto v6 = ParseProcNet(kTcp6, "tcp6", &bad);
  ASSERT_EQ(v6.size(), 2u);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(v6[0].local_address, "::1");
  EXPECT_EQ(v6[0].local_port, 22);
  EXPECT_EQ(v6[1].local_address, "2001:db8::1");
  EXPECT_EQ(v6[1].remote_address, "fe80::1");
  EXPECT_EQ(v6[1].remote_port, 50000);
  EXPECT_EQ(v6[1].protocol, "tcp6");
}

TEST(ProcNet, UdpHasNoTcpState) {
  std::size_t bad = 0;
  auto udp = ParseProcNet(
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer "
      "drops\n"
      "  123: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 9999 2 "
      "0000000000000000 0\n",
      "udp", &bad);
  ASSERT_EQ(udp.size(), 1u);
  EXPECT_EQ(udp[0].local_address, "127.0.0.53");
  EXPECT_EQ(udp[0].local_port, 53);
  EXPECT_EQ(udp[0].state, "");
}

TEST(ProcNet, ShortOrHostileLinesAreCountedNotParsed) {
  std::size_t bad = 0;
  const std::string header = "sl local rem st\n";
  for (const char* line : {"0: 0100007F:1F90", "0: 0100007F:FFFFF 00000000:0000 0A a b c d e 1",
                           "0: 0100007F 00000000:0000 0A a b c d e 1", "0: 0100007X:0050 00000000:0000 0A a b c d e 1",
                           "0: 0100007F:0050 00000000:0000 0A a b c d e notanumber"}) {
    EXPECT_TRUE(ParseProcNet(header + line + "\n", "tcp", &bad).empty()) << line;
  }
  EXPECT_EQ(bad, 5u);
}

struct Fd {
  int fd;
  ~Fd() { close(fd); }
};

// A listener of this process is found with its port, state and our pid.
TEST(ProcNet, FindsThisProcessListenerWithItsPid) {
  Fd s{socket(AF_INET, SOCK_STREAM, 0)};
  ASSERT_GE(s.fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s.fd, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  auto platform = MakeHostPlatform();
  auto list = platform->ListConnections();
  ASSERT_TRUE(list) << list.error().ToString();
  EXPECT_TRUE(list->problems.empty());
  bool found = false;
  for (const ConnectionInfo& c : list->sockets) {
    if (c.protocol == "tcp" && c.local_port == port && c.state == "LISTEN") {
      found = true;
      EXPECT_EQ(c.local_address, "127.0.0.1");
      EXPECT_EQ(c.pid, getpid());
    }
  }
  EXPECT_TRUE(found) << "listener on 127.0.0.1:" << port << " not listed";
}

// Oracle: the TCP listeners ss(8) (iproute2) reports are the ones we list.
TEST(ProcNet, TcpListenersAgreeWithSs) {
  if (std::system("command -v ss >/dev/null 2>&1") != 0) GTEST_SKIP() << "ss (iproute2) not installed";
  auto ours = [] {
    std::set<std::string> out;
    auto list = MakeHostPlatform()->ListConnections();
    if (!list) return out;
    for (const ConnectionInfo& c : list->sockets) {
      if (c.state != "LISTEN") continue;
      const bool v6 = c.protocol == "tcp6";
      out.insert((v6 ? "[" + c.local_address + "]" : c.local_address) + ":" + std::to_string(c.local_port));
    }
    return out;
  };
  auto theirs = [] {
    std::set<std::string> out;
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen("ss -H -ltn 2>/dev/null", "r"), pclose);
    std::array<char, 4096> line{};
    while (p && fgets(line.data(), line.size(), p.get()) != nullptr) {
      // LISTEN 0 4096 127.0.0.1:631 0.0.0.0:*   (ss may add %interface to the address)
      char state[64], local[256], peer[256];
      unsigned recvq = 0, sendq = 0;
      if (std::sscanf(line.data(), "%63s %u %u %255s %255s", state, &recvq, &sendq, local, peer) != 5) continue;
      std::string l = local;
      if (auto pct = l.find('%'); pct != std::string::npos) l.erase(pct, l.rfind(':') - pct);
      if (l.starts_with("*:")) l = "0.0.0.0" + l.substr(1);  // ss's "any" on dual-stack
      out.insert(l);
    }
    return out;
  };
  // Sockets come and go on a live host: three tries for a quiet moment.
  std::set<std::string> a, b;
  for (int i = 0; i < 3; ++i) {
    a = ours();
    b = theirs();
    if (a == b) break;
  }
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace trawl::collector
