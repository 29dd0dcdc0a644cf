// SPDX-License-Identifier: Apache-2.0
// The Sigma engine on hand-written rules and events: every selection form,
// value modifier and condition form; rules that must be refused (with the
// reason and where); the log-source mapping (trawl's own file and the
// schema of SigmaHQ's thor.yml); the regex matcher against std::regex on
// random small patterns; and hostile rules and events (deep conditions,
// huge or pathological regexes and wildcards, long values, broken YAML and
// UTF-8) that must end in a refusal or a bounded-time answer, never a crash.
#include "triage/sigma.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <random>
#include <regex>

#include "tests/support/test_env.h"
#include "triage/sigma_regex.h"

namespace trawl::triage::sigma {
namespace {

namespace fs = std::filesystem;

// Owns the strings an Event points into.
struct TestEvent {
  std::vector<std::pair<std::string, std::string>> fields;
  std::string channel, provider, computer;
  std::optional<std::uint32_t> event_id;
  Event View() const {
    Event e;
    e.channel = channel;
    e.provider = provider;
    e.computer = computer;
    e.event_id = event_id;
    for (const auto& [n, v] : fields) e.fields.push_back({n, v});
    return e;
  }
};

TestEvent Ev(std::vector<std::pair<std::string, std::string>> fields) {
  return TestEvent{std::move(fields), "", "", "", std::nullopt};
}

// A rule around a detection block (already indented by 4).
std::string Rule(const std::string& detection, const std::string& extra = "") {
  return "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    product: test\n" + extra +
         "detection:\n" + detection;
}

// An engine that applies every rule to every event (no log-source mapping).
class SigmaTest : public ::testing::Test {
 protected:
  Engine engine_{LogSourceMap{}, EngineOptions{.require_logsource = false}};

  std::size_t Add(const std::string& yaml) {
    auto r = engine_.AddRule(yaml, "test.yml");
    EXPECT_TRUE(r) << (r ? "" : r.error().reason);
    return r ? *r : 0;
  }
  Refusal Refuse(const std::string& yaml) {
    auto r = engine_.AddRule(yaml, "test.yml");
    EXPECT_FALSE(r) << "compiled but should be refused:\n" << yaml;
    return r ? Refusal{} : r.error();
  }
  bool Matches(const std::string& detection, const TestEvent& ev) {
    auto r = engine_.AddRule(Rule(detection), "test.yml");
    EXPECT_TRUE(r) << (r ? "" : r.error().reason);
    if (!r) return false;
    Evaluator e(engine_);
    return e.MatchRule(*r, ev.View());
  }
};

// --- rule metadata

TEST_F(SigmaTest, ReadsMetadata) {
  const std::size_t i = Add(R"(title: Whoami Execution
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
status: test
description: Detects whoami
references:
    - https://example.org/a
author: Someone, Other
date: 2019-10-23
modified: 2020-01-01
tags:
    - attack.discovery
    - attack.t1033
logsource:
    category: process_creation
    product: Windows
detection:
    selection:
        Image|endswith: '\whoami.exe'
    condition: selection
fields:
    - CommandLine
falsepositives: Admin activity
level: high
)");
  const RuleInfo& r = engine_.rule(i);
  EXPECT_EQ(r.title, "Whoami Execution");
  EXPECT_EQ(r.id, "929a690e-bef0-4204-a928-ef5e620d6fcc");
  EXPECT_EQ(r.status, "test");
  EXPECT_EQ(r.level, "high");
  EXPECT_EQ(r.author, "Someone, Other");
  EXPECT_EQ(r.date, "2019-10-23");
  EXPECT_EQ(r.modified, "2020-01-01");
  EXPECT_EQ(r.references, std::vector<std::string>{"https://example.org/a"});
  EXPECT_EQ(r.tags, (std::vector<std::string>{"attack.discovery", "attack.t1033"}));
  EXPECT_EQ(r.fields, std::vector<std::string>{"CommandLine"});
  EXPECT_EQ(r.falsepositives, std::vector<std::string>{"Admin activity"});
  EXPECT_EQ(r.logsource.category, "process_creation");
  EXPECT_EQ(r.logsource.product, "windows");  // lower-cased
  EXPECT_EQ(r.file, "test.yml");
}

// --- selections

TEST_F(SigmaTest, MapIsAndListOfMapsIsOr) {
  const std::string and_sel = "    sel:\n        Image: 'a.exe'\n        User: 'bob'\n    condition: sel\n";
  EXPECT_TRUE(Matches(and_sel, Ev({{"Image", "A.EXE"}, {"User", "Bob"}})));
  EXPECT_FALSE(Matches(and_sel, Ev({{"Image", "a.exe"}, {"User", "alice"}})));
  EXPECT_FALSE(Matches(and_sel, Ev({{"Image", "a.exe"}})));
  const std::string or_sel = "    sel:\n        - Image: 'a.exe'\n        - User: 'bob'\n    condition: sel\n";
  EXPECT_TRUE(Matches(or_sel, Ev({{"User", "bob"}})));
  EXPECT_TRUE(Matches(or_sel, Ev({{"Image", "a.exe"}})));
  EXPECT_FALSE(Matches(or_sel, Ev({{"Image", "b.exe"}, {"User", "eve"}})));
}

TEST_F(SigmaTest, FieldListIsOrUnlessAll) {
  const std::string any =
      "    sel:\n        Image:\n            - 'a.exe'\n            - 'b.exe'\n    condition: sel\n";
  EXPECT_TRUE(Matches(any, Ev({{"Image", "b.exe"}})));
  EXPECT_FALSE(Matches(any, Ev({{"Image", "c.exe"}})));
  const std::string all =
      "    sel:\n        CommandLine|contains|all:\n            - ' -a'\n            - ' -b'\n    condition: sel\n";
  EXPECT_TRUE(Matches(all, Ev({{"CommandLine", "x -b -a"}})));
  EXPECT_FALSE(Matches(all, Ev({{"CommandLine", "x -a"}})));
}

TEST_F(SigmaTest, FieldNamesAndValuesAreCaseInsensitive) {
  const std::string d = "    sel:\n        commandline: 'Net User'\n    condition: sel\n";
  EXPECT_TRUE(Matches(d, Ev({{"CommandLine", "NET USER"}})));
  // Non-ASCII letters fold too (Latin-1, Cyrillic, Greek).
  const std::string u = "    sel:\n        Path|contains: 'ÉTÉ\\Привет\\ΣΩ'\n    condition: sel\n";
  EXPECT_TRUE(Matches(u, Ev({{"Path", "c:\\été\\привет\\σω\\x"}})));
}

TEST_F(SigmaTest, KeywordsSearchEveryValue) {
  const std::string d = "    keywords:\n        - 'mimikatz'\n        - 'sekurlsa::'\n    condition: keywords\n";
  EXPECT_TRUE(Matches(d, Ev({{"A", "x"}, {"B", "run Mimikatz now"}})));
  EXPECT_TRUE(Matches(d, Ev({{"A", "sekurlsa::logonpasswords"}})));
  EXPECT_FALSE(Matches(d, Ev({{"A", "mimi katz"}})));
  const std::string all =
      "    keywords:\n        '|all':\n            - 'oab'\n            - ' -url '\n    condition: keywords\n";
  EXPECT_TRUE(Matches(all, Ev({{"A", "OAB"}, {"B", "x -url y"}})));
  EXPECT_FALSE(Matches(all, Ev({{"A", "OAB"}})));
  // A single keyword written as a scalar; numbers are keywords too.
  EXPECT_TRUE(Matches("    kw: 'evil'\n    condition: kw\n", Ev({{"A", "an evil thing"}})));
  EXPECT_TRUE(Matches("    kw:\n        - 4444\n    condition: kw\n", Ev({{"Port", "4444"}})));
  // Keywords do not search the system values (channel, provider).
  TestEvent ev = Ev({{"A", "x"}});
  ev.provider = "Evil-Provider";
  EXPECT_FALSE(Matches("    kw: 'evil'\n    condition: kw\n", ev));
}

TEST_F(SigmaTest, NullEmptyNumbersAndBooleans) {
  const std::string null_sel = "    sel:\n        A: 'x'\n        B: null\n    condition: sel\n";
  EXPECT_TRUE(Matches(null_sel, Ev({{"A", "x"}})));
  EXPECT_TRUE(Matches(null_sel, Ev({{"A", "x"}, {"B", ""}})));
  EXPECT_FALSE(Matches(null_sel, Ev({{"A", "x"}, {"B", "y"}})));
  const std::string empty = "    sel:\n        B: ''\n    condition: sel\n";
  EXPECT_TRUE(Matches(empty, Ev({{"B", ""}})));
  EXPECT_FALSE(Matches(empty, Ev({{"B", "y"}})));
  EXPECT_FALSE(Matches(empty, Ev({})));
  EXPECT_TRUE(Matches("    sel:\n        EventID: 4688\n    condition: sel\n", Ev({{"EventID", "4688"}})));
  EXPECT_TRUE(Matches("    sel:\n        Flag: true\n    condition: sel\n", Ev({{"Flag", "True"}})));
  EXPECT_FALSE(Matches("    sel:\n        Flag: false\n    condition: sel\n", Ev({{"Flag", "true"}})));
  // Hex written in YAML stays as written.
  EXPECT_TRUE(
      Matches("    sel:\n        GrantedAccess: 0x1410\n    condition: sel\n", Ev({{"GrantedAccess", "0x1410"}})));
}

TEST_F(SigmaTest, SystemValuesAreFields) {
  TestEvent ev = Ev({{"Image", "x"}});
  ev.event_id = 4688;
  ev.channel = "Security";
  ev.provider = "Microsoft-Windows-Security-Auditing";
  ev.computer = "HOST1";
  EXPECT_TRUE(Matches("    sel:\n        EventID: 4688\n        Channel: security\n    condition: sel\n", ev));
  EXPECT_TRUE(
      Matches("    sel:\n        Provider_Name|startswith: 'Microsoft-Windows-Security'\n    condition: sel\n", ev));
  EXPECT_TRUE(Matches("    sel:\n        Computer: host1\n    condition: sel\n", ev));
  EXPECT_FALSE(Matches("    sel:\n        EventID: 4689\n    condition: sel\n", ev));
}

TEST_F(SigmaTest, RepeatedFieldNamesHoldSeveralValues) {
  const std::string d = "    sel:\n        Data: 'second'\n    condition: sel\n";
  EXPECT_TRUE(Matches(d, Ev({{"Data", "first"}, {"Data", "second"}})));
}

// --- wildcards and escapes

TEST_F(SigmaTest, Wildcards) {
  auto m = [&](const std::string& pattern, const std::string& value) {
    return Matches("    sel:\n        F: '" + pattern + "'\n    condition: sel\n", Ev({{"F", value}}));
  };
  EXPECT_TRUE(m("prog?.exe", "progA.exe"));
  EXPECT_FALSE(m("prog?.exe", "prog.exe"));
  EXPECT_TRUE(m("prog?.exe", "progé.exe"));  // ? is one character, not one byte
  EXPECT_TRUE(m("av_V*.exe", "av_V21.2.1.exe"));
  EXPECT_TRUE(m("*\\cmd.exe", "C:\\Windows\\cmd.exe"));
  EXPECT_TRUE(m("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(m("a*b*c", "aXXcYYb"));
  EXPECT_TRUE(m("*a?c*", "zzabczz"));
  EXPECT_TRUE(m("*", ""));
  EXPECT_TRUE(m("a*?", "ab"));
  EXPECT_FALSE(m("a*?", "a"));
  EXPECT_TRUE(m("*?b", "éb"));
  // Escapes: \* and \? are literal; \\ is one backslash; a lone \ stays.
  EXPECT_TRUE(m("a\\*b", "a*b"));
  EXPECT_FALSE(m("a\\*b", "aXb"));
  EXPECT_TRUE(m("a\\?b", "a?b"));
  EXPECT_FALSE(m("a\\?b", "aXb"));
  EXPECT_TRUE(m("c:\\\\*", "c:\\anything"));  // \\* = backslash then wildcard
  EXPECT_TRUE(m("x\\\\\\*", "x\\*"));         // \\\* = backslash and a literal *
  EXPECT_FALSE(m("x\\\\\\*", "x\\y"));
  EXPECT_TRUE(m("\\\\\\\\server", "\\\\server"));  // \\\\ = two backslashes
  EXPECT_TRUE(m("C:\\Windows\\", "c:\\windows\\"));
}

// --- modifiers

TEST_F(SigmaTest, ContainsStartswithEndswith) {
  EXPECT_TRUE(Matches("    s:\n        F|contains: 'mid'\n    condition: s\n", Ev({{"F", "aMIDb"}})));
  EXPECT_TRUE(Matches("    s:\n        F|startswith: 'pre'\n    condition: s\n", Ev({{"F", "PREfix"}})));
  EXPECT_FALSE(Matches("    s:\n        F|startswith: 'pre'\n    condition: s\n", Ev({{"F", "xpre"}})));
  EXPECT_TRUE(Matches("    s:\n        F|endswith: '.EXE'\n    condition: s\n", Ev({{"F", "a.exe"}})));
  EXPECT_FALSE(Matches("    s:\n        F|endswith: '.exe'\n    condition: s\n", Ev({{"F", "a.exe.txt"}})));
  // Wildcards inside still work.
  EXPECT_TRUE(Matches("    s:\n        F|contains: 'a*c'\n    condition: s\n", Ev({{"F", "xxabbbcxx"}})));
  // cased: exact case.
  EXPECT_TRUE(Matches("    s:\n        F|contains|cased: 'Abc'\n    condition: s\n", Ev({{"F", "xAbc"}})));
  EXPECT_FALSE(Matches("    s:\n        F|contains|cased: 'Abc'\n    condition: s\n", Ev({{"F", "xabc"}})));
}

TEST_F(SigmaTest, RegularExpressions) {
  auto re = [&](const std::string& mods, const std::string& pattern, const std::string& value) {
    return Matches("    s:\n        F|re" + mods + ": '" + pattern + "'\n    condition: s\n", Ev({{"F", value}}));
  };
  EXPECT_TRUE(re("", "\\\\dat[0-9A-Z]{4}\\.tmp", "C:\\Temp\\dat1A2B.tmp"));
  EXPECT_FALSE(re("", "\\\\dat[0-9A-Z]{4}\\.tmp", "C:\\Temp\\dat1a2b.tmp"));  // case-sensitive by default
  EXPECT_TRUE(re("", "(?i)\\\\dat[0-9A-Z]{4}\\.tmp", "C:\\Temp\\dat1a2b.tmp"));
  EXPECT_TRUE(re("|i", "^c:\\\\users\\\\[^\\\\]+\\\\ntuser\\.dat$", "C:\\Users\\bob\\NTUSER.DAT"));
  EXPECT_FALSE(re("", "^abc$", "xabc"));
  EXPECT_TRUE(re("", "b.d", "abcde"));  // a search, not a full match
  EXPECT_FALSE(re("", "^b$", "a\nb\nc"));
  EXPECT_TRUE(re("|m", "^b$", "a\nb\nc"));
  EXPECT_FALSE(re("", "a.c", "a\nc"));
  EXPECT_TRUE(re("|s", "a.c", "a\nc"));
  EXPECT_TRUE(re("", "\\bnet\\s+user\\b", "cmd /c net  user x"));
  EXPECT_FALSE(re("", "\\bnet\\s+user\\b", "cmd /c internet user"));
  EXPECT_TRUE(re("", "(?:a|b){3,}c", "xxbabc"));
  EXPECT_TRUE(re("", ".{5,}", "12345"));
  EXPECT_FALSE(re("", ".{5,}", "1234"));
}

TEST_F(SigmaTest, Base64AndOffsets) {
  // base64('evil') = ZXZpbA==
  EXPECT_TRUE(Matches("    s:\n        F|base64: 'evil'\n    condition: s\n", Ev({{"F", "ZXZpbA=="}})));
  EXPECT_TRUE(Matches("    s:\n        F|base64|contains: 'evil'\n    condition: s\n", Ev({{"F", "xxZXZpbA==xx"}})));
  // base64offset: the value inside a longer encoded text at each of the
  // three alignments (here base64 of "?IEX (", "??IEX (", "???IEX (").
  const std::string d = "    s:\n        F|base64offset|contains: 'IEX ('\n    condition: s\n";
  EXPECT_TRUE(Matches(d, Ev({{"F", "powershell -enc P0lFWCAo"}})));  // "?IEX ("
  EXPECT_TRUE(Matches(d, Ev({{"F", "powershell -enc Pz9JRVggKA=="}})));
  EXPECT_TRUE(Matches(d, Ev({{"F", "powershell -enc Pz8/SUVYICg="}})));
  EXPECT_TRUE(Matches(d, Ev({{"F", "SUVYICg="}})));
  EXPECT_FALSE(Matches(d, Ev({{"F", "powershell -enc SUVZICg="}})));
  // UTF-16LE before base64 (PowerShell -EncodedCommand): "IEX" -> SQBFAFgA.
  const std::string w = "    s:\n        F|wide|base64offset|contains: 'IEX'\n    condition: s\n";
  EXPECT_TRUE(Matches(w, Ev({{"F", "-enc SQBFAFgAIAA="}})));      // "IEX "
  EXPECT_TRUE(Matches(w, Ev({{"F", "-enc JABhAD0ASQBFAFgA"}})));  // "$a=IEX"
  EXPECT_TRUE(Matches(w, Ev({{"F", "-enc YQBJAEUAWAA="}})));      // "aIEX"
  EXPECT_TRUE(Matches("    s:\n        F|utf16le|base64: 'ab'\n    condition: s\n", Ev({{"F", "YQBiAA=="}})));
  EXPECT_TRUE(Matches("    s:\n        F|utf16be|base64: 'ab'\n    condition: s\n", Ev({{"F", "AGEAYg=="}})));
  EXPECT_TRUE(Matches("    s:\n        F|utf16|base64: 'ab'\n    condition: s\n", Ev({{"F", "//5hAGIA"}})));
}

TEST_F(SigmaTest, Windash) {
  const std::string d = "    s:\n        CommandLine|contains|windash: ' -enc '\n    condition: s\n";
  for (const char* dash : {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"}) {
    EXPECT_TRUE(Matches(d, Ev({{"CommandLine", std::string("powershell ") + dash + "enc abc"}}))) << dash;
  }
  EXPECT_FALSE(Matches(d, Ev({{"CommandLine", "powershell +enc abc"}})));
  // Every dash of the value varies independently.
  const std::string two = "    s:\n        C|windash: '-a -b'\n    condition: s\n";
  EXPECT_TRUE(Matches(two, Ev({{"C",
                                "/a \xE2\x80\x94"
                                "b"}})));
  EXPECT_FALSE(Matches(two, Ev({{"C", "/a b"}})));
  EXPECT_TRUE(Matches("    s:\n        C|endswith|windash: ' -x'\n    condition: s\n", Ev({{"C", "t /x"}})));
}

TEST_F(SigmaTest, Cidr) {
  const std::string v4 =
      "    s:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n            - '192.168.1.0/24'\n"
      "    condition: s\n";
  EXPECT_TRUE(Matches(v4, Ev({{"DestinationIp", "10.1.2.3"}})));
  EXPECT_TRUE(Matches(v4, Ev({{"DestinationIp", "192.168.1.255"}})));
  EXPECT_FALSE(Matches(v4, Ev({{"DestinationIp", "192.168.2.1"}})));
  EXPECT_FALSE(Matches(v4, Ev({{"DestinationIp", "not an ip"}})));
  EXPECT_FALSE(Matches(v4, Ev({{"DestinationIp", "10.1.2"}})));
  EXPECT_TRUE(Matches(v4, Ev({{"DestinationIp", "::ffff:10.9.9.9"}})));  // IPv4-mapped
  const std::string v6 = "    s:\n        Ip|cidr: 'fe80::/10'\n    condition: s\n";
  EXPECT_TRUE(Matches(v6, Ev({{"Ip", "fe80::1%12"}})));
  EXPECT_TRUE(Matches(v6, Ev({{"Ip", "FEBF:ffff::1"}})));
  EXPECT_FALSE(Matches(v6, Ev({{"Ip", "fec0::1"}})));
  EXPECT_FALSE(Matches(v6, Ev({{"Ip", "10.0.0.1"}})));
  EXPECT_TRUE(Matches("    s:\n        Ip|cidr: '::1/128'\n    condition: s\n", Ev({{"Ip", "0:0:0:0:0:0:0:1"}})));
  EXPECT_TRUE(Matches("    s:\n        Ip|cidr: '2001:db8::/32'\n    condition: s\n", Ev({{"Ip", "[2001:db8:1::5]"}})));
}

TEST_F(SigmaTest, ExistsAndComparisons) {
  const std::string yes = "    s:\n        A: 'x'\n        B|exists: true\n    condition: s\n";
  EXPECT_TRUE(Matches(yes, Ev({{"A", "x"}, {"B", ""}})));
  EXPECT_FALSE(Matches(yes, Ev({{"A", "x"}})));
  const std::string no = "    s:\n        B|exists: false\n    condition: s\n";
  EXPECT_TRUE(Matches(no, Ev({{"A", "x"}})));
  EXPECT_FALSE(Matches(no, Ev({{"B", "1"}})));
  auto cmp = [&](const std::string& op, const std::string& n, const std::string& v) {
    return Matches("    s:\n        N|" + op + ": " + n + "\n    condition: s\n", Ev({{"N", v}}));
  };
  EXPECT_TRUE(cmp("gt", "10", "11"));
  EXPECT_FALSE(cmp("gt", "10", "10"));
  EXPECT_TRUE(cmp("gte", "10", "10"));
  EXPECT_TRUE(cmp("lt", "10", "-3"));
  EXPECT_FALSE(cmp("lt", "10", "10"));
  EXPECT_TRUE(cmp("lte", "10.5", "10.5"));
  EXPECT_TRUE(cmp("gt", "15", "0x10"));  // hex event values
  EXPECT_FALSE(cmp("gt", "1", "abc"));   // not a number: no match
  EXPECT_FALSE(cmp("gt", "1", ""));
}

TEST_F(SigmaTest, FieldRef) {
  const std::string eq = "    s:\n        ParentImage|fieldref: Image\n    condition: s\n";
  EXPECT_TRUE(Matches(eq, Ev({{"Image", "C:\\A.exe"}, {"ParentImage", "c:\\a.exe"}})));
  EXPECT_FALSE(Matches(eq, Ev({{"Image", "C:\\A.exe"}, {"ParentImage", "c:\\b.exe"}})));
  EXPECT_FALSE(Matches(eq, Ev({{"ParentImage", "c:\\b.exe"}})));
  const std::string ends = "    s:\n        TargetFilename|endswith|fieldref: Name\n    condition: s\n";
  EXPECT_TRUE(Matches(ends, Ev({{"TargetFilename", "C:\\x\\evil.dll"}, {"Name", "EVIL.dll"}})));
}

// --- conditions

class SigmaConditions : public SigmaTest {
 protected:
  // Selections a, b, c and _d, each true when the field of its name is "1".
  bool Eval(const std::string& cond, const std::string& truth) {
    TestEvent ev;
    for (char c : std::string("abcd"))
      ev.fields.emplace_back(std::string(1, c), truth.find(c) != std::string::npos ? "1" : "0");
    const std::string det =
        "    sel_a:\n        a: 1\n    sel_b:\n        b: 1\n    filter_c:\n        c: 1\n"
        "    _d:\n        d: 1\n    condition: " +
        cond + "\n";
    return Matches(det, ev);
  }
};

TEST_F(SigmaConditions, AndOrNot) {
  EXPECT_TRUE(Eval("sel_a and sel_b", "ab"));
  EXPECT_FALSE(Eval("sel_a and sel_b", "a"));
  EXPECT_TRUE(Eval("sel_a or sel_b", "b"));
  EXPECT_FALSE(Eval("sel_a or sel_b", "c"));
  EXPECT_TRUE(Eval("sel_a and not filter_c", "a"));
  EXPECT_FALSE(Eval("sel_a and not filter_c", "ac"));
  EXPECT_TRUE(Eval("sel_a AND NOT filter_c", "a"));
}

TEST_F(SigmaConditions, Precedence) {
  // not > and > or
  EXPECT_TRUE(Eval("sel_a or sel_b and filter_c", "a"));  // a or (b and c)
  EXPECT_FALSE(Eval("(sel_a or sel_b) and filter_c", "a"));
  EXPECT_TRUE(Eval("not sel_a and sel_b", "b"));  // (not a) and b
  EXPECT_FALSE(Eval("not (sel_a and sel_b)", "ab"));
  EXPECT_TRUE(Eval("not sel_a or sel_b", ""));  // (not a) or b
  EXPECT_TRUE(Eval("not not sel_a", "a"));
  EXPECT_TRUE(Eval("((sel_a) and ((sel_b)))", "ab"));
}

TEST_F(SigmaConditions, OfForms) {
  EXPECT_TRUE(Eval("1 of sel_*", "b"));
  EXPECT_FALSE(Eval("1 of sel_*", "c"));
  EXPECT_TRUE(Eval("all of sel_*", "ab"));
  EXPECT_FALSE(Eval("all of sel_*", "a"));
  EXPECT_TRUE(Eval("1 of them", "c"));
  EXPECT_FALSE(Eval("1 of them", "d"));     // _d is left out of 'them'
  EXPECT_TRUE(Eval("all of them", "abc"));  // _d is not needed
  EXPECT_TRUE(Eval("2 of them", "ac"));
  EXPECT_FALSE(Eval("2 of them", "a"));
  EXPECT_TRUE(Eval("1 of sel_* and not 1 of filter_*", "a"));
  EXPECT_FALSE(Eval("1 of sel_* and not 1 of filter_*", "ac"));
  EXPECT_TRUE(Eval("all of *_a", "a"));
  EXPECT_TRUE(Eval("1 of _*", "d"));  // a pattern may name underscored identifiers
}

TEST_F(SigmaConditions, ConditionListIsOr) {
  const std::string det = "    a:\n        a: 1\n    b:\n        b: 1\n    condition:\n        - a\n        - b\n";
  EXPECT_TRUE(Matches(det, Ev({{"b", "1"}})));
  EXPECT_FALSE(Matches(det, Ev({{"c", "1"}})));
}

// --- refusals

TEST_F(SigmaTest, RefusesUnsupportedForms) {
  struct Case {
    std::string yaml, code;
    RefusalKind kind;
    std::string says;
  };
  const std::string sel = "    sel:\n        A: x\n";
  const std::vector<Case> cases = {
      {Rule("    sel:\n        User|expand: '%Admins%'\n    condition: sel\n"), "modifier expand",
       RefusalKind::kUnsupported, "'expand'"},
      {Rule("    sel:\n        A|neq: x\n    condition: sel\n"), "modifier neq", RefusalKind::kUnsupported, "'neq'"},
      {Rule("    sel:\n        A|frobnicate: x\n    condition: sel\n"), "unknown modifier", RefusalKind::kUnsupported,
       "frobnicate"},
      {Rule(sel + "    condition: sel | count() by User > 5\n"), "aggregation", RefusalKind::kUnsupported, "count()"},
      {Rule(sel + "    sel2:\n        B: y\n    condition: sel near sel2\n"), "near", RefusalKind::kUnsupported,
       "near"},
      {Rule(sel + "    timeframe: 5m\n    condition: sel\n"), "timeframe", RefusalKind::kUnsupported, "timeframe"},
      {"title: c\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 1h\n", "correlation rule",
       RefusalKind::kUnsupported, "correlation"},
      {"title: f\nfilter:\n    rules: [a]\n    selection: {A: x}\n    condition: not selection\n", "filter rule",
       RefusalKind::kUnsupported, "filter"},
      {"action: global\ntitle: g\n---\nlogsource: {product: x}\n", "rule collection", RefusalKind::kUnsupported,
       "collection"},
      {Rule(sel + "    condition: sel and other\n"), "condition names unknown identifier", RefusalKind::kInvalid,
       "'other'"},
      {Rule(sel + "    condition: 1 of filter_*\n"), "condition names unknown identifier", RefusalKind::kInvalid,
       "filter_*"},
      {Rule(sel + "    condition: sel and\n"), "condition syntax", RefusalKind::kInvalid, "ends"},
      {Rule(sel + "    condition: (sel\n"), "condition syntax", RefusalKind::kInvalid, "')'"},
      {Rule(sel + "    condition: sel sel\n"), "condition syntax", RefusalKind::kInvalid, "unexpected"},
      {Rule(sel), "missing condition", RefusalKind::kInvalid, "condition"},
      {"logsource: {product: x}\ndetection:\n" + sel + "    condition: sel\n", "missing title", RefusalKind::kInvalid,
       "title"},
      {"title: t\ndetection:\n" + sel + "    condition: sel\n", "missing logsource", RefusalKind::kInvalid,
       "logsource"},
      {"title: t\nlogsource: {product: x}\n", "missing detection", RefusalKind::kInvalid, "detection"},
      {Rule("    sel:\n        A|re: '(?=x)y'\n    condition: sel\n"), "regex feature", RefusalKind::kUnsupported,
       "lookaround"},
      {Rule("    sel:\n        A|re: '(a)\\1'\n    condition: sel\n"), "regex feature", RefusalKind::kUnsupported,
       "back-references"},
      {Rule("    sel:\n        A|re: 'a(b'\n    condition: sel\n"), "regex syntax", RefusalKind::kInvalid, "')'"},
      {Rule("    sel:\n        A|base64: 'a*b'\n    condition: sel\n"), "wildcard under base64",
       RefusalKind::kUnsupported, "wildcards"},
      {Rule("    sel:\n        A|wide: 'abc'\n    condition: sel\n"), "utf16 without base64", RefusalKind::kUnsupported,
       "UTF-16"},
      {Rule("    sel:\n        A|base64|wide: 'abc'\n    condition: sel\n"), "modifier order",
       RefusalKind::kUnsupported, "after base64"},
      {Rule("    sel:\n        A|re|contains: 'x'\n    condition: sel\n"), "modifier conflict", RefusalKind::kInvalid,
       "re/cidr"},
      {Rule("    sel:\n        A|i: 'x'\n    condition: sel\n"), "modifier conflict", RefusalKind::kInvalid, "'re'"},
      {Rule("    sel:\n        A|contains|startswith: 'x'\n    condition: sel\n"), "modifier conflict",
       RefusalKind::kInvalid, "more than one"},
      {Rule("    sel:\n        A|cidr: '10.0.0.300/8'\n    condition: sel\n"), "bad cidr", RefusalKind::kInvalid,
       "network"},
      {Rule("    sel:\n        A|gt: ten\n    condition: sel\n"), "bad number", RefusalKind::kInvalid, "number"},
      {Rule("    sel:\n        A|exists: maybe\n    condition: sel\n"), "bad exists value", RefusalKind::kInvalid,
       "true or false"},
      {Rule("    sel:\n        A: []\n    condition: sel\n"), "empty value list", RefusalKind::kInvalid, "empty"},
      {Rule("    sel:\n        A:\n            B: c\n    condition: sel\n"), "nested value", RefusalKind::kInvalid,
       "mapping"},
      {Rule("    sel:\n    condition: sel\n"), "empty selection", RefusalKind::kInvalid, "empty"},
      {Rule("    sel:\n        - [a, b]\n    condition: sel\n"), "nested list", RefusalKind::kInvalid, "list"},
      {"title: [unclosed\n", "yaml", RefusalKind::kInvalid, "test.yml:"},
      {"", "empty file", RefusalKind::kInvalid, "empty"},
      {"- just\n- a list\n", "not a mapping", RefusalKind::kInvalid, "mapping"},
  };
  for (const auto& c : cases) {
    const Refusal r = Refuse(c.yaml);
    EXPECT_EQ(r.code, c.code) << c.yaml << "\n" << r.reason;
    EXPECT_EQ(r.kind, c.kind) << c.yaml << "\n" << r.reason;
    EXPECT_NE(r.reason.find(c.says), std::string::npos) << r.reason;
    EXPECT_EQ(r.file, "test.yml");
  }
  EXPECT_EQ(engine_.size(), 0u);
  EXPECT_EQ(engine_.refusals().size(), cases.size());
}

TEST_F(SigmaTest, RefusalNamesLineAndRule) {
  const Refusal r = Refuse(
      "title: Bad one\nid: 11111111-2222-3333-4444-555555555555\nlogsource: {product: x}\ndetection:\n"
      "    sel:\n        CommandLine|expand: '%x%'\n    condition: sel\n");
  EXPECT_EQ(r.id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(r.title, "Bad one");
  EXPECT_NE(r.reason.find("test.yml:6:9: detection.sel: 'CommandLine|expand'"), std::string::npos) << r.reason;
}

TEST_F(SigmaTest, RefusedRuleLeavesEngineUsable) {
  Refuse(Rule("    sel:\n        A|contains: ['x', 'y']\n        B|re: '(?=bad)'\n    condition: sel\n"));
  const std::size_t i = Add(Rule("    sel:\n        A: x\n    condition: sel\n"));
  Evaluator e(engine_);
  TestEvent ev = Ev({{"A", "x"}});
  EXPECT_EQ(e.Match(ev.View()), std::vector<std::size_t>{i});
}

// --- evaluator

TEST_F(SigmaTest, MatchListsRulesInOrder) {
  const std::size_t a = Add(Rule("    s:\n        A: x\n    condition: s\n"));
  const std::size_t b = Add(Rule("    s:\n        B: y\n    condition: s\n"));
  const std::size_t c = Add(Rule("    s:\n        A|startswith: x\n    condition: s\n"));
  Evaluator e(engine_);
  TestEvent both = Ev({{"A", "x"}, {"B", "y"}});
  EXPECT_EQ(e.Match(both.View()), (std::vector<std::size_t>{a, b, c}));
  TestEvent one = Ev({{"B", "y"}});
  EXPECT_EQ(e.Match(one.View()), std::vector<std::size_t>{b});
  TestEvent none = Ev({});
  EXPECT_TRUE(e.Match(none.View()).empty());
  Engine moved = std::move(engine_);
  Evaluator e2(moved);
  EXPECT_EQ(e2.Match(both.View()).size(), 3u);
}

// --- log-source mapping

fs::path OurMapping() { return test::SourceDir() / "triage/rules/sigma/logsources.yaml"; }

const char* kProcCreation = R"(title: proc
id: p-1
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\whoami.exe'
        ParentImage|endswith: '\cmd.exe'
    condition: sel
)";

TEST(SigmaLogSources, OursMapsProcessCreationToSysmonAndSecurity) {
  auto map = LogSourceMap::Load(OurMapping());
  ASSERT_TRUE(map) << map.error().ToString();
  Engine engine(std::move(*map));
  auto i = engine.AddRule(kProcCreation, "p.yml");
  ASSERT_TRUE(i) << i.error().reason;
  Evaluator e(engine);
  TestEvent sysmon{{{"Image", "C:\\Windows\\System32\\whoami.exe"}, {"ParentImage", "C:\\Windows\\System32\\cmd.exe"}},
                   "Microsoft-Windows-Sysmon/Operational",
                   "Microsoft-Windows-Sysmon",
                   "h",
                   1};
  EXPECT_TRUE(e.MatchRule(*i, sysmon.View()));
  sysmon.event_id = 11;  // file create: not process creation
  EXPECT_FALSE(e.MatchRule(*i, sysmon.View()));
  sysmon.event_id = 1;
  sysmon.channel = "Application";
  EXPECT_FALSE(e.MatchRule(*i, sysmon.View()));
  // Security 4688 names the fields differently.
  TestEvent sec{{{"NewProcessName", "C:\\Windows\\System32\\whoami.exe"},
                 {"ParentProcessName", "C:\\Windows\\System32\\cmd.exe"}},
                "Security",
                "Microsoft-Windows-Security-Auditing",
                "h",
                4688};
  EXPECT_TRUE(e.MatchRule(*i, sec.View()));
  EXPECT_EQ(e.Match(sec.View()), std::vector<std::size_t>{*i});
  // Under Security 4688 the Sigma name Image means NewProcessName only.
  TestEvent sec2{{{"Image", "C:\\Windows\\System32\\whoami.exe"}, {"ParentImage", "C:\\Windows\\System32\\cmd.exe"}},
                 "Security",
                 "",
                 "h",
                 4688};
  EXPECT_FALSE(e.MatchRule(*i, sec2.View()));
}

TEST(SigmaLogSources, OursCoversRegistryServicesAndAntivirus) {
  auto map = LogSourceMap::Load(OurMapping());
  ASSERT_TRUE(map) << map.error().ToString();
  Engine engine(std::move(*map));
  auto add = [&](const std::string& ls, const std::string& sel) {
    auto r = engine.AddRule("title: t\nlogsource: " + ls + "\ndetection:\n    sel:\n" + sel + "    condition: sel\n",
                            "t.yml");
    EXPECT_TRUE(r) << r.error().reason;
    return r ? *r : 0;
  };
  const std::size_t add_key =
      add("{category: registry_add, product: windows}", "        TargetObject|contains: 'Run'\n");
  const std::size_t reg_set =
      add("{category: registry_set, product: windows}", "        TargetObject|contains: 'Run'\n");
  const std::size_t reg_ev =
      add("{category: registry_event, product: windows}", "        TargetObject|contains: 'Run'\n");
  const std::size_t sec = add("{product: windows, service: security}", "        EventID: 4720\n");
  const std::size_t av =
      add("{category: antivirus}", "        Signature|contains: 'Mimikatz'\n        Filename|endswith: '.exe'\n");
  const std::string sysmon = "Microsoft-Windows-Sysmon/Operational";
  Evaluator e(engine);
  TestEvent create{{{"EventType", "CreateKey"}, {"TargetObject", "HKLM\\...\\Run"}}, sysmon, "", "", 12};
  EXPECT_EQ(e.Match(create.View()), (std::vector<std::size_t>{add_key, reg_ev}));
  TestEvent del{{{"EventType", "DeleteKey"}, {"TargetObject", "HKLM\\...\\Run"}}, sysmon, "", "", 12};
  EXPECT_EQ(e.Match(del.View()), (std::vector<std::size_t>{reg_ev}));
  TestEvent set{{{"EventType", "SetValue"}, {"TargetObject", "HKLM\\...\\Run\\x"}}, sysmon, "", "", 13};
  EXPECT_EQ(e.Match(set.View()), (std::vector<std::size_t>{reg_set, reg_ev}));
  TestEvent user{{{"TargetUserName", "x"}}, "Security", "", "", 4720};
  EXPECT_EQ(e.Match(user.View()), (std::vector<std::size_t>{sec}));
  user.channel = "System";
  EXPECT_TRUE(e.Match(user.View()).empty());
  TestEvent det{{{"Threat Name", "HackTool:Win32/Mimikatz.A"}, {"Path", "file:_C:\\t\\m.exe"}},
                "Microsoft-Windows-Windows Defender/Operational",
                "",
                "",
                1116};
  EXPECT_EQ(e.Match(det.View()), (std::vector<std::size_t>{av}));
}

TEST(SigmaLogSources, UnmappedLogSourceIsRefusedWithTheReason) {
  auto map = LogSourceMap::Load(OurMapping());
  ASSERT_TRUE(map) << map.error().ToString();
  Engine engine(std::move(*map));
  auto r = engine.AddRule(
      "title: t\nid: l-1\nlogsource: {product: linux, service: auditd}\ndetection:\n"
      "    sel: {type: EXECVE}\n    condition: sel\n",
      "lnx.yml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, RefusalKind::kLogSource);
  EXPECT_EQ(r.error().id, "l-1");
  EXPECT_NE(r.error().reason.find("product=linux service=auditd has no mapping"), std::string::npos)
      << r.error().reason;
  // A Windows-only rule with neither category nor service is not applied to every Windows event.
  auto w = engine.AddRule("title: t\nlogsource: {product: windows}\ndetection:\n    sel: {A: x}\n    condition: sel\n",
                          "w.yml");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().kind, RefusalKind::kLogSource);
}

TEST(SigmaLogSources, BuiltinIsTheSourceFile) {
  auto builtin = LogSourceMap::Builtin();
  ASSERT_TRUE(builtin) << builtin.error().ToString();
  auto file = LogSourceMap::Load(OurMapping());
  ASSERT_TRUE(file);
  EXPECT_EQ(builtin->size(), file->size());
  EXPECT_GT(builtin->size(), 60u);
}

TEST(SigmaLogSources, ReadsThorSchemaFiles) {
  const fs::path thor = test::SharedTestdata() / "sigma/thor.yml";
  if (!fs::exists(thor)) GTEST_SKIP() << "no " << thor;
  auto map = LogSourceMap::Load(thor);
  ASSERT_TRUE(map) << map.error().ToString();
  auto b = map->Resolve(LogSource{"process_creation", "windows", ""});
  ASSERT_TRUE(b) << b.error();
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].channels, std::vector<std::string>{"Microsoft-Windows-Sysmon/Operational"});
  EXPECT_EQ((*b)[1].channels, std::vector<std::string>{"Security"});
  ASSERT_FALSE((*b)[1].renames.empty());
  EXPECT_EQ((*b)[1].renames[0].sigma_field, "Image");
  EXPECT_EQ((*b)[1].renames[0].event_fields, std::vector<std::string>{"NewProcessName"});
  // File sources are not event logs.
  auto web = map->Resolve(LogSource{"webserver", "", ""});
  ASSERT_FALSE(web);
  EXPECT_NE(web.error().find("names no event log channel"), std::string::npos) << web.error();
}

TEST(SigmaLogSources, MappingErrorsNameTheLine) {
  auto bad = LogSourceMap::Parse("logsources:\n  x:\n    category: a\n    colour: red\n", "m.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("m.yaml:4:5: logsources.x.colour: unknown key"), std::string::npos)
      << bad.error().message;
  auto nomap = LogSourceMap::Parse("title: x\n", "m.yaml");
  ASSERT_FALSE(nomap);
  EXPECT_NE(nomap.error().message.find("'logsources' must be a mapping"), std::string::npos);
  auto yaml = LogSourceMap::Parse("logsources: [\n", "m.yaml");
  ASSERT_FALSE(yaml);
  EXPECT_NE(yaml.error().message.find("m.yaml:"), std::string::npos);
  auto cond = LogSourceMap::Parse("logsources:\n  x:\n    conditions:\n      EventID: {a: b}\n", "m.yaml");
  ASSERT_FALSE(cond);
  EXPECT_NE(cond.error().message.find("logsources.x.conditions.EventID"), std::string::npos) << cond.error().message;
}

// --- the regex matcher

TEST(SigmaRegex, Syntax) {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  const Case cases[] = {
      {"abc", "xxabcxx", true},
      {"^abc", "xabc", false},
      {"abc$", "abc\n", true},  // $ before a final newline (PCRE)
      {"abc\\z", "abc\n", false},
      {"\\Aabc", "abc", true},
      {"a|b|c", "zzc", true},
      {"(ab)+c", "ababc", true},
      {"(ab)+c", "ac", false},
      {"a{2,3}b", "aab", true},
      {"^a{2,3}b", "ab", false},
      {"a{2}", "a", false},
      {"a{,2}", "a{,2}", true},  // not a quantifier: literal
      {"[a-c]+z", "bcaz", true},
      {"[^a-c]z", "az", false},
      {"[\\d_]+$", "12_3", true},
      {"[\\W]", "abc", false},
      {"\\d\\D\\w\\W\\s\\S", "1a_a\tx", false},
      {"\\d\\D\\w\\W\\s\\S", "1ab! x", true},
      {"[[:alpha:]]+[[:digit:]]", "abc1", true},
      {"\\x41\\u0042\\x{43}", "ABC", true},
      {"\\.\\*\\?\\(\\)\\[\\]\\{\\}\\|\\\\\\/", ".*?()[]{}|\\/", true},
      {"caf\xC3\xA9", "CAF\xC3\x89", false},
      {"(?i)caf\xC3\xA9", "CAF\xC3\x89", true},
      {"(?i:a)b", "Ab", true},
      {"(?i:a)b", "AB", false},
      {"a(?i)b", "aB", true},
      {"(?-i)a", "A", false},
      {"(?s)a.b", "a\nb", true},
      {"(?m)^b", "a\nb", true},
      {"(?#comment)ab", "ab", true},
      {"(?P<n>a)(?<m>b)", "ab", true},
      {"\\bfoo\\b", "a foo b", true},
      {"\\bfoo\\b", "afoo", false},
      {"\\Bfoo", "afoo", true},
      {"a.c",
       "a\xC3\xA9"
       "c",
       true},  // . is one code point
      {"^.{3}$", "\xC3\xA9\xC3\xA9\xC3\xA9", true},
      {"x*", "", true},
      {"(a*)*b", "aaab", true},
      {"(a|ab)(c|bcd)(d*)", "abcd", true},
      {"a+?b", "aab", true},
  };
  for (const auto& c : cases) {
    auto re = Regex::Compile(c.pattern);
    ASSERT_TRUE(re) << c.pattern << ": " << re.error().message;
    EXPECT_EQ(re->Search(c.text), c.match) << c.pattern << " on " << c.text;
  }
  for (const char* bad : {"(?=a)", "(?!a)", "(?<=a)", "(?<!a)", "(?>a)", "a++", "\\1", "\\p{L}", "\\Q.\\E", "\\K",
                          "(?x)a", "[[:foo:]]"}) {
    auto re = Regex::Compile(bad);
    ASSERT_FALSE(re) << bad;
    EXPECT_EQ(re.error().code, core::ErrorCode::kUnsupported) << bad << ": " << re.error().message;
  }
  for (const char* bad : {"(", ")", "a(", "[a", "*a", "a{3,2}", "\\", "[b-a]", "\\x4"}) {
    auto re = Regex::Compile(bad);
    ASSERT_FALSE(re) << bad;
    EXPECT_EQ(re.error().code, core::ErrorCode::kFormat) << bad << ": " << re.error().message;
  }
}

// Random small patterns from the subset both engines read alike, on random
// short texts: this matcher and std::regex (ECMAScript) agree.
TEST(SigmaRegex, AgreesWithStdRegexOnRandomPatterns) {
  std::mt19937 rng(20240611);
  const std::string alphabet = "abc";
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    switch (depth > 3 ? pick(4) : pick(9)) {
      case 0: return std::string(1, alphabet[pick(3)]);
      case 1: return ".";
      case 2: return "[" + std::string(pick(2) ? "^" : "") + "a-b]";
      case 3: return std::string(1, alphabet[pick(3)]) + alphabet[pick(3)];
      case 4: return "(" + gen(depth + 1) + "|" + gen(depth + 1) + ")";
      case 5: return "(" + gen(depth + 1) + ")" + (pick(2) ? "*" : "+");
      case 6: return gen(depth + 1) + "?";
      case 7: return gen(depth + 1) + gen(depth + 1);
      default: return "(" + gen(depth + 1) + "){" + std::to_string(pick(3)) + "," + std::to_string(2 + pick(2)) + "}";
    }
  };
  int compared = 0;
  for (int i = 0; i < 400; ++i) {
    std::string pattern = gen(0);
    if (pick(4) == 0) pattern = "^" + pattern;
    if (pick(4) == 0) pattern += "$";
    auto ours = Regex::Compile(pattern);
    ASSERT_TRUE(ours) << pattern << ": " << ours.error().message;
    const std::regex theirs(pattern, std::regex::ECMAScript);
    for (int j = 0; j < 12; ++j) {
      std::string text;
      for (std::size_t k = pick(9); k > 0; --k) text += alphabet[pick(3)];
      EXPECT_EQ(ours->Search(text), std::regex_search(text, theirs)) << "/" << pattern << "/ on '" << text << "'";
      ++compared;
    }
  }
  EXPECT_EQ(compared, 4800);
}

// --- hostile rules and events

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

TEST_F(SigmaTest, DeepConditionsAreRefusedNotRecursed) {
  const std::string sel = "    sel:\n        A: x\n";
  const std::string deep = std::string(100000, '(') + "sel" + std::string(100000, ')');
  Refusal r = Refuse(Rule(sel + "    condition: '" + deep + "'\n"));
  EXPECT_EQ(r.kind, RefusalKind::kLimit) << r.reason;
  std::string nots;
  for (int i = 0; i < 3000; ++i) nots += "not ";
  r = Refuse(Rule(sel + "    condition: '" + nots + "sel'\n"));
  EXPECT_EQ(r.kind, RefusalKind::kLimit) << r.reason;
  // 60 levels is fine.
  const std::string ok = std::string(60, '(') + "sel" + std::string(60, ')');
  EXPECT_TRUE(Matches(sel + "    condition: '" + ok + "'\n", Ev({{"A", "x"}})));
  // A long flat condition is not deep: it compiles (it is only long).
  std::string flat = "sel";
  for (int i = 0; i < 1500; ++i) flat += " or sel";
  EXPECT_TRUE(Matches(sel + "    condition: '" + flat + "'\n", Ev({{"A", "x"}})));
  std::string too_long = flat;
  while (too_long.size() <= 16384) too_long += " or sel";
  r = Refuse(Rule(sel + "    condition: '" + too_long + "'\n"));
  EXPECT_EQ(r.code, "condition too long");
}

TEST_F(SigmaTest, HostileYamlIsRefused) {
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  Refusal r = Refuse("title: t\nlogsource: {product: x}\ndetection:\n    sel: " + deep + "\n    condition: sel\n");
  EXPECT_NE(r.kind, RefusalKind::kLogSource);
  r = Refuse(std::string("title: \"\xff\xfe\"\nlogsource: [\n"));
  EXPECT_EQ(r.code, "yaml");
  // yaml-cpp 0.7's LoadAll never returns (and eats all memory) on a document
  // that starts with ','; the engine reads the first document only.
  for (const char* text : {",", ",title: x\n", "# c\n ,", "&x ,"}) {
    const auto start = Clock::now();
    r = Refuse(text);
    EXPECT_LT(Seconds(start), 5.0);
    EXPECT_EQ(r.code, "empty file") << r.reason;
  }
  r = Refuse(Rule("    sel:\n        A: x\n    condition: sel\n") + "---\n,\n");
  EXPECT_EQ(r.code, "rule collection") << r.reason;
  EXPECT_TRUE(engine_.AddRule("---\n" + Rule("    sel:\n        A: x\n    condition: sel\n") + "...\n", "t.yml"));
  // Over the size cap.
  Engine small(LogSourceMap{}, EngineOptions{.require_logsource = false, .max_rule_bytes = 1000});
  auto big =
      small.AddRule(Rule("    sel:\n        A: '" + std::string(2000, 'x') + "'\n    condition: sel\n"), "big.yml");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, "file too large");
  // Many aliases of one value are only as many values as the file holds.
  std::string aliases = "title: t\nlogsource: {product: x}\nv: &v 'abc'\ndetection:\n    sel:\n        A:\n";
  for (int i = 0; i < 20000; ++i) aliases += "            - *v\n";
  aliases += "    condition: sel\n";
  EXPECT_TRUE(engine_.AddRule(aliases, "alias.yml"));
}

TEST_F(SigmaTest, HugeRegexesAreRefused) {
  Refusal r = Refuse(Rule("    sel:\n        A|re: '" + std::string(20000, 'a') + "'\n    condition: sel\n"));
  EXPECT_EQ(r.code, "regex too large") << r.reason;
  r = Refuse(Rule("    sel:\n        A|re: '((a{1000}){1000}){1000}'\n    condition: sel\n"));
  EXPECT_EQ(r.code, "regex too large") << r.reason;
  r = Refuse(Rule("    sel:\n        A|re: 'a{1000001}'\n    condition: sel\n"));
  EXPECT_EQ(r.code, "regex too large") << r.reason;
  r = Refuse(Rule("    sel:\n        A|re: '" + std::string(300, '(') + "a" + std::string(300, ')') +
                  "'\n    condition: sel\n"));
  EXPECT_EQ(r.kind, RefusalKind::kLimit) << r.reason;
}

TEST_F(SigmaTest, PathologicalPatternsRunInBoundedTime) {
  // Patterns that make backtracking matchers exponential, on long values.
  const std::size_t a = Add(Rule("    sel:\n        A|re: '(a|a)*b'\n    condition: sel\n"));
  const std::size_t b = Add(Rule("    sel:\n        A|re: '(a*)*(a*)*c'\n    condition: sel\n"));
  const std::size_t c = Add(Rule("    sel:\n        A|re: '(x+x+)+y'\n    condition: sel\n"));
  const std::size_t d = Add(Rule("    sel:\n        A|re: '.{1000,}z'\n    condition: sel\n"));
  const std::size_t e = Add(Rule("    sel:\n        A: '*a*a*a*a*a*a*a*a*a*b'\n    condition: sel\n"));
  const std::size_t f = Add(Rule("    sel:\n        A|contains: '?a?a?a?a?a?b'\n    condition: sel\n"));
  const std::size_t g =
      Add(Rule("    sel:\n        A|windash|contains: '-a-a-a-a-a-a-a-a-a-a-a-a-a-b'\n    condition: sel\n"));
  const std::size_t h = Add(Rule("    kw:\n        - '*a*a*a*a*b*'\n    condition: kw\n"));
  Evaluator ev(engine_);
  for (const std::string& v : {std::string(100000, 'a'), std::string(100000, 'x'), std::string(100000, '-'),
                               std::string(20000, 'a') + std::string(20000, '-') + "\xE2\x80\x94"}) {
    TestEvent event;
    for (int i = 0; i < 8; ++i) event.fields.emplace_back("A", v);
    const auto start = Clock::now();
    const auto& m = ev.Match(event.View());
    EXPECT_LT(Seconds(start), 20.0) << "a hostile value took too long";
    for (std::size_t r : {a, b, c, d, e, f, g, h}) EXPECT_EQ(std::count(m.begin(), m.end(), r), 0) << r;
  }
  // And they still match what they should.
  TestEvent yes = Ev({{"A", std::string(50000, 'a') + "b"}});
  const auto& m = ev.Match(yes.View());
  EXPECT_EQ(std::count(m.begin(), m.end(), a), 1);
  EXPECT_EQ(std::count(m.begin(), m.end(), e), 1);
  EXPECT_EQ(std::count(m.begin(), m.end(), f), 1);
  EXPECT_EQ(std::count(m.begin(), m.end(), h), 1);
}

TEST_F(SigmaTest, BrokenUtf8AndOddValues) {
  const std::size_t r = Add(Rule("    sel:\n        A|contains: 'ab'\n    condition: sel\n"));
  const std::size_t q = Add(Rule("    sel:\n        A: '?'\n    condition: sel\n"));
  const std::size_t x = Add(Rule("    sel:\n        A|re: '^.b'\n    condition: sel\n"));
  Evaluator ev(engine_);
  for (const std::string& v :
       {std::string("\xff\xfe"
                    "ab"),
        std::string("\xc3"), std::string("\xe2\x80"), std::string("\x80", 1), std::string("a\0b", 3),
        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80") + "b"}) {
    TestEvent e = Ev({{"A", v}, {"\xff", v}, {"", ""}});
    const auto& m = ev.Match(e.View());
    EXPECT_LE(m.size(), 3u);
  }
  TestEvent one = Ev({{"A", "\xff"}});
  EXPECT_TRUE(ev.MatchRule(q, one.View()));  // one invalid byte is one character
  TestEvent ib = Ev({{"A",
                      "\xff"
                      "b"}});
  EXPECT_TRUE(ev.MatchRule(x, ib.View()));
  TestEvent ab = Ev({{"A",
                      "\xff"
                      "ab"}});
  EXPECT_TRUE(ev.MatchRule(r, ab.View()));
}

}  // namespace
}  // namespace trawl::triage::sigma
