// SPDX-License-Identifier: Apache-2.0
#include "core/archive/archive_paths.h"

#include <gtest/gtest.h>

namespace trawl::core::archive {
namespace {

TEST(ArchivePathsTest, KeepsSourcePathsReadable) {
  EXPECT_EQ(ArchivePathForSource("/usr/lib/libc.so.6", false), "files/usr/lib/libc.so.6");
  EXPECT_EQ(ArchivePathForSource("C:\\Windows\\Prefetch\\CMD.EXE-4A81B364.pf", true),
            "files/C/Windows/Prefetch/CMD.EXE-4A81B364.pf");
  EXPECT_EQ(ArchivePathForSource("c:/ProgramData/TPM/winscard.dll", true), "files/C/ProgramData/TPM/winscard.dll");
  EXPECT_EQ(ArchivePathForSource("\\\\srv\\share\\x.dll", true), "files/UNC/srv/share/x.dll");
  EXPECT_EQ(ArchivePathForSource("\\\\?\\C:\\long\\p", true), "files/C/long/p");
}

TEST(ArchivePathsTest, HostileNamesCannotEscape) {
  EXPECT_EQ(ArchivePathForSource("/tmp/../etc/passwd", false), "files/tmp/%2E%2E/etc/passwd");
  EXPECT_EQ(ArchivePathForSource("/tmp/a\\b", false), "files/tmp/a%5Cb");
  EXPECT_EQ(ArchivePathForSource("/tmp/100%\x1b[31m", false), "files/tmp/100%25%1B[31m");
  EXPECT_EQ(ArchivePathForSource("/tmp/bad\xff", false), "files/tmp/bad%FF");
  EXPECT_EQ(ArchivePathForSource("C:\\Users\\J\xc3\xbcrgen\\a.dll", true), "files/C/Users/J%C3%BCrgen/a.dll");
  // Names a Windows analyst's file system would refuse on extraction.
  EXPECT_EQ(ArchivePathForSource("/tmp/<img src=x onerror=alert(1)>.dll", false),
            "files/tmp/%3Cimg src=x onerror=alert(1)%3E.dll");
  EXPECT_EQ(ArchivePathForSource("/tmp/a|b?c*d\"e", false), "files/tmp/a%7Cb%3Fc%2Ad%22e");
  EXPECT_EQ(ArchivePathForSource("/tmp/trailing. /dot.", false), "files/tmp/trailing.%20/dot%2E");
  EXPECT_EQ(ArchivePathForSource("/dev/null/NUL/con.txt/Com1/lpt9.log/console", false),
            "files/dev/null/%4EUL/%63on.txt/%43om1/%6Cpt9.log/console");
  EXPECT_EQ(ArchivePathForSource("/tmp/COM0/LPT10", false), "files/tmp/COM0/LPT10");
  for (const char* p : {"/tmp/../x", "/a/./b", "/x\\..\\y"}) {
    EXPECT_TRUE(CheckSafeEntryName(ArchivePathForSource(p, false))) << p;
    EXPECT_TRUE(CheckSafeEntryName(ArchivePathForSource(p, true))) << p;
  }
}

TEST(ArchivePathsTest, RefusesEscapingEntryNames) {
  for (const char* n : {"../x", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\b", "a//b", "./a", ""}) {
    auto r = CheckSafeEntryName(n);
    EXPECT_FALSE(r) << n;
  }
  EXPECT_TRUE(CheckSafeEntryName("files/C/Windows/x.pf"));
  EXPECT_TRUE(CheckSafeEntryName("records/"));
}

}  // namespace
}  // namespace trawl::core::archive
