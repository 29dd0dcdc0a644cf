// SPDX-License-Identifier: Apache-2.0
// Task Scheduler XML (core/formats/task_xml.h): the real task files of
// shared/testdata/tasks/dfir-artifact-museum (Windows 10 and Server 2022 APT
// simulator VMs) against Python's ElementTree (tests/fixtures/tasks/
// task_oracle.py) field by field, hand-written golden values for the planted
// tasks (GameOver runs mimikatz, falshupdate22 a hidden-window PowerShell),
// then encodings, field rules and hostile input: truncation, deep nesting,
// broken UTF-16, oversized files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/task_xml.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path Museum() { return test::SharedTestdata() / "tasks/dfir-artifact-museum"; }

Result<TaskDefinition> Parse(const std::string& bytes) { return ParseTaskXml(AsBytes(bytes)); }

// A task as Windows writes it: UTF-16LE with a BOM, CRLF line ends.
std::string WindowsBytes(const std::string& utf8) {
  std::string crlf;
  for (char c : utf8) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  return "\xFF\xFE" + Utf8ToUtf16Le(crlf);
}

std::string MinimalTask(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n"
         "<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n" +
         body + "\n</Task>\n";
}

std::string ExecTask(const std::string& command, const std::string& arguments = "") {
  return MinimalTask("<Actions Context=\"Author\"><Exec><Command>" + command + "</Command><Arguments>" + arguments +
                     "</Arguments></Exec></Actions>");
}

bool HasWarning(const TaskDefinition& t, const std::string& needle) {
  for (const auto& w : t.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

// ---- Real files against ElementTree -----------------------------------------

TEST(TaskXml, AgreesWithElementTreeOnEveryRealTask) {
  const fs::path win10 = Museum() / "Win10", server = Museum() / "Server2022";
  if (!fs::is_directory(win10) || !fs::is_directory(server)) GTEST_SKIP() << Museum() << " is missing";
  const auto oracle =
      test::RunCommand({"/usr/bin/python3", (test::SourceDir() / "tests/fixtures/tasks/task_oracle.py").string(),
                        win10.string(), server.string()});
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;

  std::size_t files = 0, fields = 0, agreed = 0, exec = 0, com = 0;
  std::set<std::string> trigger_types;
  // One field: ours against the oracle's JSON value, counted.
  auto same = [&](const auto& ours, const json& theirs, const std::string& what) {
    const bool equal = theirs == json(ours);
    EXPECT_TRUE(equal) << what << ": trawl " << json(ours) << ", ElementTree " << theirs;
    ++fields;
    agreed += equal ? 1 : 0;
  };
  std::istringstream lines(oracle.out);
  std::string line;
  while (std::getline(lines, line)) {
    const json o = json::parse(line);
    const std::string path = o.at("path");
    SCOPED_TRACE(path);
    ASSERT_FALSE(o.contains("error")) << "ElementTree: " << o["error"];
    auto task = Parse(test::ReadFile(path));
    ASSERT_TRUE(task) << task.error().ToString();
    const TaskDefinition& t = *task;
    EXPECT_EQ(o.at("root"), "Task");
    same(t.uri, o.at("uri"), "uri");
    same(t.author, o.at("author"), "author");
    same(t.date, o.at("date"), "date");
    same(t.user_id, o.at("user_id"), "user_id");
    same(t.run_level, o.at("run_level"), "run_level");
    same(t.hidden, o.at("hidden"), "hidden");
    same(t.enabled, o.at("enabled"), "enabled");
    const json& actions = o.at("actions");
    ASSERT_EQ(t.actions.size(), std::min(actions.size(), kTaskMaxActions)) << "actions";
    for (std::size_t i = 0; i < t.actions.size(); ++i) {
      const json& a = actions[i];
      const std::string what = fmt::format("action {} ", i);
      same(t.actions[i].type, a.at("type"), what + "type");
      same(t.actions[i].command, a.at("command"), what + "command");
      same(t.actions[i].arguments, a.at("arguments"), what + "arguments");
      same(t.actions[i].class_id, a.at("class_id"), what + "class_id");
      (t.actions[i].type == "exec" ? exec : com) += 1;
    }
    const json& triggers = o.at("triggers");
    ASSERT_EQ(t.triggers.size(), std::min(triggers.size(), kTaskMaxTriggers)) << "triggers";
    for (std::size_t i = 0; i < t.triggers.size(); ++i) {
      const json& g = triggers[i];
      const std::string what = fmt::format("trigger {} ", i);
      same(t.triggers[i].type, g.at("type"), what + "type");
      same(t.triggers[i].enabled, g.at("enabled"), what + "enabled");
      same(t.triggers[i].start_boundary, g.at("start_boundary"), what + "start_boundary");
      trigger_types.insert(t.triggers[i].type);
    }
    EXPECT_TRUE(t.warnings.empty()) << t.warnings.front();
    ++files;
  }
  // Every regular file in both directories was listed (202 + 2 in the museum).
  std::size_t on_disk = 0;
  for (const auto& dir : {win10, server}) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) on_disk += e.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, on_disk);
  EXPECT_EQ(files, 204u);
  EXPECT_GT(exec, 0u);
  EXPECT_GT(com, 0u);
  EXPECT_GE(trigger_types.size(), 8u);  // Boot, Calendar, Event, Idle, Logon, Registration, Session, Time, Wnf
  EXPECT_EQ(agreed, fields);
  std::printf("[ oracle   ] %zu task files: %zu of %zu fields agree with ElementTree (%zu exec, %zu com actions)\n",
              files, agreed, fields, exec, com);
}

// ---- Hand-checked golden values ---------------------------------------------

TEST(TaskXml, GameOverRunsMimikatzEveryFiveMinutes) {
  struct Case {
    const char* dir;
    const char* author;
    const char* date;
    const char* start;
  };
  for (const Case& c : {Case{"Win10", "DESKTOP-TMKU40H\\TestUser", "2022-03-10T15:59:03", "2022-03-10T15:59:00"},
                        Case{"Server2022", "WIN-FUDU2CKJOE8\\Test", "2023-10-17T23:04:39", "2023-10-17T23:04:00"}}) {
    const fs::path file = Museum() / c.dir / "APTSimulatorVM/GameOver";
    if (!fs::exists(file)) GTEST_SKIP() << file << " is missing";
    SCOPED_TRACE(file.string());
    auto task = Parse(test::ReadFile(file));
    ASSERT_TRUE(task) << task.error().ToString();
    EXPECT_EQ(task->uri, "\\GameOver");
    EXPECT_EQ(task->author, c.author);
    EXPECT_EQ(task->date, c.date);
    EXPECT_EQ(task->user_id, c.author);
    EXPECT_EQ(task->logon_type, "InteractiveToken");
    EXPECT_EQ(task->run_level, "LeastPrivilege");
    EXPECT_EQ(task->principal_group, "");
    EXPECT_FALSE(task->hidden);
    EXPECT_TRUE(task->enabled);
    EXPECT_EQ(task->allow_start_on_demand, true);
    EXPECT_EQ(task->context, "Author");
    ASSERT_EQ(task->actions.size(), 1u);
    EXPECT_EQ(task->actions[0].type, "exec");
    EXPECT_EQ(task->actions[0].command, "C:\\TMP\\mim.exe");
    EXPECT_EQ(task->actions[0].arguments, "sekurlsa::LogonPasswords > C:\\TMP\\o.txt");  // &gt; decoded
    EXPECT_EQ(task->actions[0].working_directory, "");
    ASSERT_EQ(task->triggers.size(), 1u);
    EXPECT_EQ(task->triggers[0].type, "TimeTrigger");
    EXPECT_TRUE(task->triggers[0].enabled);
    EXPECT_EQ(task->triggers[0].start_boundary, c.start);
    EXPECT_EQ(task->triggers[0].repetition_interval, "PT5M");
    EXPECT_TRUE(task->warnings.empty());
  }
}

TEST(TaskXml, Falshupdate22RunsPowershellWithAHiddenWindow) {
  const fs::path file = Museum() / "Server2022/APTSimulatorVM/falshupdate22";
  if (!fs::exists(file)) GTEST_SKIP() << file << " is missing";
  auto task = Parse(test::ReadFile(file));
  ASSERT_TRUE(task) << task.error().ToString();
  EXPECT_EQ(task->uri, "\\falshupdate22");
  EXPECT_EQ(task->author, "Test");
  EXPECT_EQ(task->date, "2023-10-17T23:07:23");
  EXPECT_EQ(task->user_id, "WIN-FUDU2CKJOE8\\Test");
  EXPECT_FALSE(task->hidden);  // the task is visible; its window is what is hidden
  EXPECT_TRUE(task->enabled);
  ASSERT_EQ(task->actions.size(), 1u);
  EXPECT_EQ(task->actions[0].command, "powershell.exe");
  EXPECT_EQ(task->actions[0].arguments, "-WindowStyle Hidden -nop -c \"\"");
  ASSERT_EQ(task->triggers.size(), 1u);
  EXPECT_EQ(task->triggers[0].type, "TimeTrigger");
  EXPECT_EQ(task->triggers[0].start_boundary, "2023-10-17T23:06:23");
  EXPECT_EQ(task->triggers[0].repetition_interval, "PT2M");
}

TEST(TaskXml, MicrosoftTasksKeepEventQueriesGroupsAndWorkingDirectories) {
  const fs::path dir = Museum() / "Win10/APTSimulatorVM/Microsoft/Windows";
  if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " is missing";
  auto ra = Parse(test::ReadFile(dir / "RemoteAssistance/RemoteAssistanceTask"));
  ASSERT_TRUE(ra) << ra.error().ToString();
  EXPECT_EQ(ra->uri, "Microsoft\\Windows\\RemoteAssistance\\RemoteAssistanceTask");
  EXPECT_EQ(ra->author, "$(@%systemroot%\\system32\\msra.exe,-686)");
  EXPECT_EQ(ra->source, "$(@%systemroot%\\system32\\msra.exe,-687)");
  EXPECT_EQ(ra->description, "$(@%systemroot%\\system32\\msra.exe,-688)");
  EXPECT_EQ(ra->date, "2005-11-08T17:18:32");
  EXPECT_EQ(ra->user_id, "S-1-5-18");
  EXPECT_EQ(ra->run_level, "HighestAvailable");
  EXPECT_TRUE(ra->hidden);
  EXPECT_EQ(ra->allow_start_on_demand, std::nullopt);
  EXPECT_EQ(ra->context, "Creator");
  ASSERT_EQ(ra->actions.size(), 1u);
  EXPECT_EQ(ra->actions[0].command, "%windir%\\system32\\RAServer.exe");
  EXPECT_EQ(ra->actions[0].arguments, "/offerraupdate");
  EXPECT_EQ(ra->actions[0].working_directory, "%windir%");
  ASSERT_EQ(ra->triggers.size(), 2u);
  EXPECT_EQ(ra->triggers[0].type, "EventTrigger");
  EXPECT_EQ(ra->triggers[0].delay, "PT15S");
  EXPECT_EQ(ra->triggers[0].subscription,
            "<QueryList><Query Id=\"0\" Path=\"System\"><Select Path=\"System\">*[System[Provider[@Name="
            "'Microsoft-Windows-GroupPolicy'] and EventID=1502]]</Select></Query></QueryList>");
  EXPECT_EQ(ra->triggers[1].type, "RegistrationTrigger");

  auto rc = Parse(test::ReadFile(dir / "Workplace Join/Recovery-Check"));
  ASSERT_TRUE(rc) << rc.error().ToString();
  EXPECT_EQ(rc->user_id, "");
  EXPECT_EQ(rc->principal_group, "S-1-5-4");
  EXPECT_FALSE(rc->enabled);
  ASSERT_EQ(rc->triggers.size(), 2u);
  EXPECT_EQ(rc->triggers[0].type, "LogonTrigger");
  EXPECT_EQ(rc->triggers[1].type, "SessionStateChangeTrigger");

  auto ctf = Parse(test::ReadFile(dir / "TextServicesFramework/MsCtfMonitor"));
  ASSERT_TRUE(ctf) << ctf.error().ToString();
  ASSERT_EQ(ctf->actions.size(), 1u);
  EXPECT_EQ(ctf->actions[0].type, "com");
  EXPECT_EQ(ctf->actions[0].class_id, "{01575CFE-9A55-4003-A5E1-F38D1EBDCBE1}");
  EXPECT_EQ(ctf->principal_group, "S-1-5-32-545");
}

// ---- Encodings and field rules ----------------------------------------------

TEST(TaskXml, AcceptsUtf16WithAndWithoutBomAndUtf8WithAndWithoutBom) {
  const std::string xml = ExecTask("C:\\Windows\\caf\xC3\xA9.exe", "--x");
  const std::string utf16 = WindowsBytes(xml);
  for (const std::string& bytes : {utf16, utf16.substr(2), xml, "\xEF\xBB\xBF" + xml}) {
    auto task = Parse(bytes);
    ASSERT_TRUE(task) << task.error().ToString();
    ASSERT_EQ(task->actions.size(), 1u);
    EXPECT_EQ(task->actions[0].command, "C:\\Windows\\caf\xC3\xA9.exe");
    EXPECT_EQ(task->actions[0].arguments, "--x");
    EXPECT_EQ(task->context, "Author");
    EXPECT_TRUE(task->warnings.empty()) << task->warnings.front();
  }
}

TEST(TaskXml, RealFileWithoutItsBomParsesTheSame) {
  const fs::path file = Museum() / "Win10/APTSimulatorVM/GameOver";
  if (!fs::exists(file)) GTEST_SKIP() << file << " is missing";
  const std::string bytes = test::ReadFile(file);
  ASSERT_EQ(bytes.substr(0, 2), "\xFF\xFE");
  auto with = Parse(bytes), without = Parse(bytes.substr(2));
  ASSERT_TRUE(with && without);
  EXPECT_EQ(without->actions.at(0).arguments, with->actions.at(0).arguments);
  EXPECT_EQ(without->date, with->date);
}

TEST(TaskXml, ValuesAreTrimmedAndLineEndsNormalized) {
  auto task = Parse(WindowsBytes(ExecTask("  \n\t C:\\a b\\c.exe \n ", "line1\nline2  ")));
  ASSERT_TRUE(task) << task.error().ToString();
  EXPECT_EQ(task->actions.at(0).command, "C:\\a b\\c.exe");
  EXPECT_EQ(task->actions.at(0).arguments, "line1\nline2");  // written as CRLF
}

TEST(TaskXml, MissingElementsAreEmptyAndDefaultsApply) {
  auto task = Parse(MinimalTask(""));
  ASSERT_TRUE(task) << task.error().ToString();
  EXPECT_EQ(task->uri, "");
  EXPECT_EQ(task->user_id, "");
  EXPECT_FALSE(task->hidden);
  EXPECT_TRUE(task->enabled);
  EXPECT_EQ(task->allow_start_on_demand, std::nullopt);
  EXPECT_TRUE(task->actions.empty());
  EXPECT_TRUE(task->triggers.empty());
  EXPECT_TRUE(task->warnings.empty());
}

TEST(TaskXml, BooleansAcceptTrueFalseOneZeroInAnyCase) {
  auto task = Parse(MinimalTask(
      "<Settings><Hidden>TRUE</Hidden><Enabled> 0 </Enabled><AllowStartOnDemand>False</AllowStartOnDemand></Settings>"
      "<Triggers><BootTrigger><Enabled>1</Enabled></BootTrigger><LogonTrigger><Enabled>yes</Enabled></LogonTrigger>"
      "</Triggers>"));
  ASSERT_TRUE(task) << task.error().ToString();
  EXPECT_TRUE(task->hidden);
  EXPECT_FALSE(task->enabled);
  EXPECT_EQ(task->allow_start_on_demand, false);
  ASSERT_EQ(task->triggers.size(), 2u);
  EXPECT_TRUE(task->triggers[0].enabled);
  EXPECT_TRUE(task->triggers[1].enabled);  // "yes": the default, with a warning
  EXPECT_TRUE(HasWarning(*task, "LogonTrigger/Enabled")) << task->warnings.size();

  auto bad = Parse(MinimalTask("<Settings><Hidden>maybe</Hidden><Enabled/></Settings>"));
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->hidden);
  EXPECT_TRUE(bad->enabled);
  EXPECT_TRUE(HasWarning(*bad, "Settings/Hidden"));
  EXPECT_TRUE(HasWarning(*bad, "Settings/Enabled"));
}

TEST(TaskXml, TriggerFieldsAndEveryTriggerType) {
  auto task = Parse(MinimalTask(
      "<Triggers>"
      "<LogonTrigger id=\"x\"><Enabled>false</Enabled><StartBoundary>2024-01-01T00:00:00</StartBoundary>"
      "<EndBoundary>2025-01-01T00:00:00</EndBoundary><UserId>CORP\\alice</UserId><Delay>PT30S</Delay>"
      "<Repetition><Interval>PT1H</Interval><Duration>P1D</Duration></Repetition></LogonTrigger>"
      "<EventTrigger><Subscription>&lt;QueryList/&gt;</Subscription></EventTrigger>"
      "<CalendarTrigger/><IdleTrigger/><SessionStateChangeTrigger><UserId>bob</UserId></SessionStateChangeTrigger>"
      "<FutureTrigger/>"
      "</Triggers>"));
  ASSERT_TRUE(task) << task.error().ToString();
  ASSERT_EQ(task->triggers.size(), 6u);
  const TaskTrigger& l = task->triggers[0];
  EXPECT_EQ(l.type, "LogonTrigger");
  EXPECT_FALSE(l.enabled);
  EXPECT_EQ(l.start_boundary, "2024-01-01T00:00:00");
  EXPECT_EQ(l.end_boundary, "2025-01-01T00:00:00");
  EXPECT_EQ(l.user_id, "CORP\\alice");
  EXPECT_EQ(l.delay, "PT30S");
  EXPECT_EQ(l.repetition_interval, "PT1H");
  EXPECT_EQ(task->triggers[1].subscription, "<QueryList/>");
  EXPECT_EQ(task->triggers[4].user_id, "bob");
  EXPECT_EQ(task->triggers[5].type, "FutureTrigger");  // unknown trigger types are kept by name
}

TEST(TaskXml, AllActionKindsUnknownActionsAndTheCap) {
  auto task = Parse(MinimalTask(
      "<Actions Context=\"System\"><ComHandler><ClassId>{X}</ClassId><Data><![CDATA[<x a=\"1\"/>]]></Data></ComHandler>"
      "<SendEmail><Server>smtp</Server></SendEmail><ShowMessage><Title>t</Title></ShowMessage>"
      "<Exec><Command>a.exe</Command><WorkingDirectory>C:\\w</WorkingDirectory></Exec><Bogus/></Actions>"));
  ASSERT_TRUE(task) << task.error().ToString();
  ASSERT_EQ(task->actions.size(), 4u);
  EXPECT_EQ(task->actions[0].type, "com");
  EXPECT_EQ(task->actions[0].class_id, "{X}");
  EXPECT_EQ(task->actions[0].data, "<x a=\"1\"/>");
  EXPECT_EQ(task->actions[1].type, "email");
  EXPECT_EQ(task->actions[2].type, "message");
  EXPECT_EQ(task->actions[3].working_directory, "C:\\w");
  EXPECT_TRUE(HasWarning(*task, "Bogus"));

  std::string many;
  for (int i = 0; i < 40; ++i) many += fmt::format("<Exec><Command>c{}.exe</Command></Exec>", i);
  auto capped = Parse(MinimalTask("<Actions>" + many + "</Actions>"));
  ASSERT_TRUE(capped) << capped.error().ToString();
  ASSERT_EQ(capped->actions.size(), kTaskMaxActions);
  EXPECT_EQ(capped->actions.back().command, "c31.exe");
  EXPECT_TRUE(HasWarning(*capped, "40 actions"));
}

TEST(TaskXml, FirstPrincipalIsReportedAndTheCountWarned) {
  auto task = Parse(MinimalTask(
      "<Principals><Principal id=\"a\"><UserId>S-1-5-18</UserId><LogonType>ServiceAccount</LogonType></Principal>"
      "<Principal id=\"b\"><GroupId>S-1-5-32-544</GroupId></Principal></Principals>"));
  ASSERT_TRUE(task) << task.error().ToString();
  EXPECT_EQ(task->user_id, "S-1-5-18");
  EXPECT_EQ(task->logon_type, "ServiceAccount");
  EXPECT_EQ(task->principal_group, "");
  EXPECT_TRUE(HasWarning(*task, "2 principals"));
}

TEST(TaskXml, NamespacePrefixesAndForeignNamespaces) {
  auto prefixed = Parse(
      "<t:Task xmlns:t=\"http://schemas.microsoft.com/windows/2004/02/mit/task\"><t:RegistrationInfo>"
      "<t:Author>x</t:Author></t:RegistrationInfo></t:Task>");
  ASSERT_TRUE(prefixed) << prefixed.error().ToString();
  EXPECT_EQ(prefixed->author, "x");
  EXPECT_TRUE(prefixed->warnings.empty());

  auto foreign = Parse("<Task xmlns=\"urn:other\"><RegistrationInfo><Author>y</Author></RegistrationInfo></Task>");
  ASSERT_TRUE(foreign) << foreign.error().ToString();
  EXPECT_EQ(foreign->author, "y");
  EXPECT_TRUE(HasWarning(*foreign, "namespace"));
}

// ---- Hostile input ----------------------------------------------------------

TEST(TaskXml, NotATaskRootIsAFormatErrorNamingTheRoot) {
  auto r = Parse(WindowsBytes("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Job><Command>x</Command></Job>\n"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFormat);
  EXPECT_NE(r.error().message.find("<Job>"), std::string::npos) << r.error().message;
}

TEST(TaskXml, EmptyAndNearlyEmptyFilesAreFormatErrors) {
  for (const std::string& bytes :
       {std::string(), std::string("\xFF\xFE"), std::string("\xEF\xBB\xBF"), std::string(" \r\n\t"),
        std::string(8, '\0'), std::string("<?xml version=\"1.0\"?>"), std::string("<!-- only -->")}) {
    auto r = Parse(bytes);
    ASSERT_FALSE(r) << "accepted " << bytes.size() << " bytes";
    EXPECT_EQ(r.error().code, ErrorCode::kFormat) << r.error().message;
  }
}

TEST(TaskXml, MalformedXmlErrorNamesTheLine) {
  auto r = Parse(WindowsBytes(MinimalTask("<Actions>\n<Exec>\n<Command>x</Command>\n<Exec attr=>\n</Actions>")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFormat);
  EXPECT_NE(r.error().message.find("line 6"), std::string::npos) << r.error().message;
}

TEST(TaskXml, OversizedFileIsALimitError) {
  std::string big =
      MinimalTask("<RegistrationInfo><Description>" + std::string(5u << 20, 'A') + "</Description></RegistrationInfo>");
  auto r = Parse(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);
  // Just under the cap is fine.
  const std::string head = MinimalTask("<RegistrationInfo><Description>");
  big = MinimalTask("<RegistrationInfo><Description>" + std::string(kTaskXmlMaxBytes - head.size() - 64, 'A') +
                    "</Description></RegistrationInfo>");
  ASSERT_LE(big.size(), kTaskXmlMaxBytes);
  auto ok = Parse(big);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->description.size(), kTaskXmlMaxBytes - head.size() - 64);
}

TEST(TaskXml, DeepNestingIsRefusedBeforeTheParser) {
  const std::size_t n = 100000;
  std::string deep = "<Task>";
  for (std::size_t i = 0; i < n; ++i) deep += "<a>";
  for (std::size_t i = 0; i < n; ++i) deep += "</a>";
  deep += "</Task>";
  auto r = Parse(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimit) << r.error().message;
  auto r16 = Parse(WindowsBytes(deep));
  ASSERT_FALSE(r16);
  EXPECT_EQ(r16.error().code, ErrorCode::kLimit);

  // Unclosed, and disguised: "/>" or '>' inside attribute values, a closing
  // tag inside a DOCTYPE subset, tags spread over comments and CDATA.
  for (const std::string& unit :
       {std::string("<a>"), std::string("<a x=\"/>\">"), std::string("<a x='>' y=\"'\">"),
        std::string("<a><!DOCTYPE d [ </a> ]>"), std::string("<a><!-- </a> -->"), std::string("<a><![CDATA[</a>]]>"),
        std::string("<a\n>"), std::string("<a\"b>"), std::string("<a b\"c='1'>")}) {
    std::string s = "<Task>";
    for (std::size_t i = 0; i < n; ++i) s += unit;
    auto e = Parse(s);
    ASSERT_FALSE(e) << unit;
    EXPECT_EQ(e.error().code, ErrorCode::kLimit) << unit << ": " << e.error().message;
  }
}

TEST(TaskXml, NestingLimitIsExact) {
  auto nested = [](std::size_t levels) {  // <Task> is level 1
    std::string s = "<Task>";
    for (std::size_t i = 1; i < levels; ++i) s += "<a>";
    for (std::size_t i = 1; i < levels; ++i) s += "</a>";
    return s + "</Task>";
  };
  EXPECT_TRUE(Parse(nested(kTaskXmlMaxDepth)));
  auto r = Parse(nested(kTaskXmlMaxDepth + 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);
  // Self-closing elements, comments and PIs do not count as levels.
  std::string flat = "<Task>";
  for (int i = 0; i < 1000; ++i) flat += "<a/><b x='1' /><!-- <c> --><?pi <d> ?><![CDATA[<e>]]>";
  EXPECT_TRUE(Parse(flat + "</Task>"));
}

TEST(TaskXml, TooManyNodesIsALimitError) {
  std::string s = "<Task>";
  for (std::size_t i = 0; i <= kTaskXmlMaxNodes; ++i) s += "<a/>";
  auto r = Parse(s + "</Task>");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);
  auto attrs = Parse("<Task " + [] {
    std::string a;
    for (std::size_t i = 0; i <= kTaskXmlMaxNodes; ++i) a += fmt::format("a{}='' ", i);
    return a;
  }() + "/>");
  ASSERT_FALSE(attrs);
  EXPECT_EQ(attrs.error().code, ErrorCode::kLimit);
}

TEST(TaskXml, EveryTruncatedPrefixOfARealFileIsAnErrorOrAPartialTask) {
  const fs::path file = Museum() / "Win10/APTSimulatorVM/GameOver";
  if (!fs::exists(file)) GTEST_SKIP() << file << " is missing";
  const std::string bytes = test::ReadFile(file);
  std::size_t errors = 0;
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    auto r = Parse(bytes.substr(0, len));
    if (!r) {
      ++errors;
      EXPECT_TRUE(r.error().code == ErrorCode::kFormat) << len << ": " << r.error().ToString();
    }
  }
  EXPECT_GT(errors, bytes.size() / 2);
  auto whole = Parse(bytes);
  ASSERT_TRUE(whole) << whole.error().ToString();
}

TEST(TaskXml, OddByteCountUtf16) {
  const std::string bytes = WindowsBytes(ExecTask("x.exe"));
  auto extra = Parse(bytes + "\x41");  // a stray byte after the text: ignored, noted
  ASSERT_TRUE(extra) << extra.error().ToString();
  EXPECT_EQ(extra->actions.at(0).command, "x.exe");
  EXPECT_TRUE(HasWarning(*extra, "odd byte count"));
  auto cut = Parse(bytes.substr(0, bytes.size() - 7));  // "...</Task" and half of '>'

  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, ErrorCode::kFormat);
}

TEST(TaskXml, InvalidUtf16SurrogatesAreRepairedAndKept) {
  // UTF-16LE without a BOM: a high surrogate followed by 'A' in the command
  // (repaired to U+FFFD, the command kept), a valid pair in the arguments.
  std::string bytes = Utf8ToUtf16Le(ExecTask("C:\\evil@.exe", "$"));
  auto patch = [&](char marker, const std::string& units) {
    const std::size_t at = bytes.find(Utf8ToUtf16Le(std::string(1, marker)));
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 2, units);
  };
  patch('@', std::string("\x00\xD8\x41\x00", 4));  // D800 'A'
  patch('$', std::string("\x3D\xD8\x00\xDE", 4));  // D83D DE00 = U+1F600
  auto task = Parse(bytes);
  ASSERT_TRUE(task) << task.error().ToString();
  ASSERT_EQ(task->actions.size(), 1u);
  EXPECT_EQ(task->actions[0].command,
            "C:\\evil\xEF\xBF\xBD"
            "A.exe");
  EXPECT_EQ(task->actions[0].arguments, "\xF0\x9F\x98\x80");
}

TEST(TaskXml, LoneSurrogatesAndBadCharacterReferencesBecomeReplacementCharacters) {
  std::string bytes = Utf8ToUtf16Le(ExecTask("a@b#c"));
  auto replace = [&](char marker, char high_byte) {
    const std::size_t at = bytes.find(Utf8ToUtf16Le(std::string(1, marker)));
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 2, std::string{'\0', high_byte});
  };
  replace('@', '\xD8');  // lone high surrogate (U+D800, little-endian)
  replace('#', '\xDC');  // lone low surrogate
  auto task = Parse(bytes);
  ASSERT_TRUE(task) << task.error().ToString();
  EXPECT_EQ(task->actions.at(0).command,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c");

  auto refs = Parse(ExecTask("x&#xD800;y"));  // a surrogate by character reference
  ASSERT_TRUE(refs) << refs.error().ToString();
  EXPECT_TRUE(IsValidUtf8(refs->actions.at(0).command));
  EXPECT_EQ(refs->actions.at(0).command.front(), 'x');
  EXPECT_EQ(refs->actions.at(0).command.back(), 'y');

  auto utf8 = Parse(ExecTask("bad\xFF\xC3("));  // invalid UTF-8 input
  ASSERT_TRUE(utf8) << utf8.error().ToString();
  EXPECT_TRUE(IsValidUtf8(utf8->actions.at(0).command));
}

TEST(TaskXml, EmbeddedNulsDoNotCutTheText) {
  std::string xml = ExecTask("a.exe", "x");
  xml.replace(xml.find("x</Arguments>"), 1, std::string("x\0y", 3));
  auto task = Parse(xml + std::string(4, '\0'));  // trailing NUL padding is dropped
  ASSERT_TRUE(task) << task.error().ToString();
  EXPECT_EQ(task->actions.at(0).arguments, "x\xEF\xBF\xBDy");
}

}  // namespace
}  // namespace trawl::core::formats
