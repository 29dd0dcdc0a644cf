// SPDX-License-Identifier: Apache-2.0
// Task Scheduler XML: decode to UTF-8, bound the nesting, let
// Boost.PropertyTree (rapidxml inside) build the tree, then read the fields by
// local element name. No Boost exception leaves this file.
#include "core/formats/task_xml.h"

#include <algorithm>
#include <exception>
#include <initializer_list>
#include <new>
#include <sstream>
#include <string_view>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::core::formats {
namespace {

namespace bpt = boost::property_tree;
using Tree = bpt::ptree;

constexpr std::string_view kTaskNamespace = "http://schemas.microsoft.com/windows/2004/02/mit/task";
constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";
constexpr std::size_t kMaxQuoted = 64;  // bytes of a host-controlled name quoted in a message

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string Quote(std::string_view s) { return EscapeForTerminal(s.substr(0, kMaxQuoted)); }

std::size_t LineAt(std::string_view text, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n'));
}

// Any supported encoding to valid UTF-8 with XML line ends ("\r\n" and "\r"
// become "\n"), trailing NULs dropped and other NULs (which would end
// rapidxml's zero-terminated input early) replaced by U+FFFD.
std::string DecodeToUtf8(Bytes data, std::vector<std::string>& warnings) {
  auto byte = [&](std::size_t i) { return i < data.size() ? static_cast<unsigned>(data[i]) : 0x100u; };
  std::string raw;
  const bool bom16 = byte(0) == 0xFF && byte(1) == 0xFE;
  if (bom16 || (byte(0) != 0 && byte(1) == 0)) {  // UTF-16LE, with a BOM or starting "<\0"
    if (bom16) data = data.subspan(2);
    if (data.size() % 2 != 0) warnings.push_back("UTF-16 text has an odd byte count; the last byte is ignored");
    raw = Utf16LeToUtf8(data);
  } else {
    std::string_view s(reinterpret_cast<const char*>(data.data()), data.size());
    if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
    raw = IsValidUtf8(s) ? std::string(s) : RepairUtf8(s);
  }
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r') {
      out.push_back('\n');
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else if (c == '\0') {
      out.append(kReplacementUtf8);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Checks kTaskXmlMaxDepth and kTaskXmlMaxNodes before rapidxml (recursive,
// and about 100 bytes of tree per element or attribute) sees the text.
// Follows rapidxml's own tokenizing (its name and attribute-name character
// sets, quoted attribute values, comments, CDATA, processing instructions,
// DOCTYPE with [...] subsets, other "<!...>" skipped to '>') so that a quote
// or "/>" inside an attribute value cannot hide a level from the count. Stops
// where rapidxml would stop with an error: nothing past that point is parsed.
Result<void> CheckStructure(std::string_view s) {
  const std::size_t n = s.size();
  std::size_t i = 0, depth = 0, nodes = 0;
  auto too_many = [&](std::size_t at_offset, std::string_view what, std::size_t limit) {
    return Fail(ErrorCode::kLimit,
                fmt::format("task XML: line {}: more than {} {}", LineAt(s, at_offset), limit, what));
  };
  auto at = [&](std::size_t k) { return k < n ? s[k] : '\0'; };
  auto name_char = [](char c) { return c != '\0' && !IsXmlSpace(c) && c != '/' && c != '>' && c != '?'; };
  auto attr_char = [&](char c) { return name_char(c) && c != '<' && c != '=' && c != '!'; };
  auto skip_space = [&] {
    while (IsXmlSpace(at(i))) ++i;
  };
  auto skip_past = [&](std::string_view end) {  // false at end of input
    const std::size_t f = s.find(end, i);
    i = f == std::string_view::npos ? n : f + end.size();
    return f != std::string_view::npos;
  };
  while (i < n) {
    const std::size_t lt = s.find('<', i);
    if (lt == std::string_view::npos) break;
    i = lt + 1;
    const std::string_view rest = s.substr(i);
    if (rest.starts_with('/')) {  // closing tag
      if (!skip_past(">")) break;
      if (depth > 0) --depth;
    } else if (rest.starts_with('?')) {
      ++i;
      if (!skip_past("?>")) break;
    } else if (rest.starts_with("!--")) {
      i += 3;
      if (!skip_past("-->")) break;
    } else if (rest.starts_with("![CDATA[")) {
      i += 8;
      if (!skip_past("]]>")) break;
    } else if (rest.starts_with("!DOCTYPE") && IsXmlSpace(at(i + 8))) {
      for (i += 9; i < n && s[i] != '>';) {
        if (s[i++] != '[') continue;
        for (std::size_t brackets = 1; brackets > 0 && i < n; ++i) {
          if (s[i] == '[') ++brackets;
          if (s[i] == ']') --brackets;
        }
      }
      if (i >= n) break;
      ++i;
    } else if (rest.starts_with('!')) {
      if (!skip_past(">")) break;
    } else {  // start tag: name, attributes, then '>' (one level deeper) or "/>"
      const std::size_t name = i;
      while (name_char(at(i))) ++i;
      if (i == name) break;
      if (++nodes > kTaskXmlMaxNodes) return too_many(lt, "elements and attributes", kTaskXmlMaxNodes);
      skip_space();
      bool ok = true;
      while (ok && attr_char(at(i))) {  // name = 'value' or name = "value"
        if (++nodes > kTaskXmlMaxNodes) return too_many(i, "elements and attributes", kTaskXmlMaxNodes);
        while (attr_char(at(i))) ++i;
        skip_space();
        ok = at(i) == '=';
        if (!ok) break;
        ++i;
        skip_space();
        const char quote = at(i++);
        ok = (quote == '"' || quote == '\'') && skip_past(std::string_view(&quote, 1));
        skip_space();
      }
      if (!ok) break;
      if (at(i) == '>') {
        ++i;
        if (++depth > kTaskXmlMaxDepth) return too_many(lt, "levels of nested elements", kTaskXmlMaxDepth);
      } else if (at(i) == '/' && at(i + 1) == '>') {
        i += 2;
      } else {
        break;
      }
    }
  }
  return {};
}

std::string_view LocalName(std::string_view key) {
  const std::size_t colon = key.rfind(':');
  return colon == std::string_view::npos ? key : key.substr(colon + 1);
}

bool IsElement(std::string_view key) { return !key.starts_with('<'); }  // not <xmlattr>

const Tree* Child(const Tree* node, std::string_view name) {
  if (!node) return nullptr;
  for (const auto& [key, child] : *node) {
    if (IsElement(key) && LocalName(key) == name) return &child;
  }
  return nullptr;
}

const Tree* Path(const Tree* node, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) node = Child(node, name);
  return node;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  // Character references such as &#xD800; come out of rapidxml as invalid UTF-8.
  return IsValidUtf8(s) ? std::string(s) : RepairUtf8(s);
}

std::string Text(const Tree* node) { return node ? Trimmed(node->data()) : std::string(); }

std::string Attribute(const Tree* node, std::string_view name) {
  if (!node) return {};
  for (const auto& [key, attrs] : *node) {
    if (key != "<xmlattr>") continue;
    for (const auto& [attr, value] : attrs) {
      if (attr == name) return Trimmed(value.data());
    }
  }
  return {};
}

// "true"/"false"/"1"/"0" in any case; nullopt when absent or invalid (the
// latter with a warning naming `where`).
std::optional<bool> Boolean(const Tree* node, std::string_view where, std::vector<std::string>& warnings) {
  if (!node) return std::nullopt;
  const std::string v = Text(node);
  if (v == "1" || EqualsIgnoreCaseAscii(v, "true")) return true;
  if (v == "0" || EqualsIgnoreCaseAscii(v, "false")) return false;
  warnings.push_back(fmt::format("{}: '{}' is not a boolean; using the default", where, Quote(v)));
  return std::nullopt;
}

void ReadActions(const Tree* actions, TaskDefinition& task) {
  if (!actions) return;
  task.context = Attribute(actions, "Context");
  std::size_t total = 0;
  for (const auto& [key, node] : *actions) {
    if (!IsElement(key)) continue;
    const std::string_view name = LocalName(key);
    TaskAction a;
    if (name == "Exec") {
      a.type = "exec";
      a.command = Text(Child(&node, "Command"));
      a.arguments = Text(Child(&node, "Arguments"));
      a.working_directory = Text(Child(&node, "WorkingDirectory"));
    } else if (name == "ComHandler") {
      a.type = "com";
      a.class_id = Text(Child(&node, "ClassId"));
      a.data = Text(Child(&node, "Data"));
    } else if (name == "SendEmail") {
      a.type = "email";
    } else if (name == "ShowMessage") {
      a.type = "message";
    } else {
      task.warnings.push_back(fmt::format("Actions: unknown action element <{}> ignored", Quote(key)));
      continue;
    }
    if (++total <= kTaskMaxActions) task.actions.push_back(std::move(a));
  }
  if (total > kTaskMaxActions) {
    task.warnings.push_back(fmt::format("Actions: {} actions, more than the schema's {}; only the first {} are kept",
                                        total, kTaskMaxActions, kTaskMaxActions));
  }
}

void ReadTriggers(const Tree* triggers, TaskDefinition& task) {
  if (!triggers) return;
  std::size_t total = 0;
  for (const auto& [key, node] : *triggers) {
    if (!IsElement(key) || ++total > kTaskMaxTriggers) continue;
    TaskTrigger t;
    t.type = std::string(LocalName(key));
    t.enabled = Boolean(Child(&node, "Enabled"), t.type + "/Enabled", task.warnings).value_or(true);
    t.start_boundary = Text(Child(&node, "StartBoundary"));
    t.end_boundary = Text(Child(&node, "EndBoundary"));
    t.user_id = Text(Child(&node, "UserId"));
    t.delay = Text(Child(&node, "Delay"));
    t.repetition_interval = Text(Path(&node, {"Repetition", "Interval"}));
    t.subscription = Text(Child(&node, "Subscription"));
    task.triggers.push_back(std::move(t));
  }
  if (total > kTaskMaxTriggers) {
    task.warnings.push_back(fmt::format("Triggers: {} triggers, more than the schema's {}; only the first {} are kept",
                                        total, kTaskMaxTriggers, kTaskMaxTriggers));
  }
}

void ReadPrincipals(const Tree* principals, TaskDefinition& task) {
  if (!principals) return;
  std::size_t count = 0;
  for (const auto& [key, node] : *principals) {
    if (!IsElement(key) || LocalName(key) != "Principal" || ++count > 1) continue;
    task.user_id = Text(Child(&node, "UserId"));
    task.logon_type = Text(Child(&node, "LogonType"));
    task.run_level = Text(Child(&node, "RunLevel"));
    task.principal_group = Text(Child(&node, "GroupId"));
  }
  if (count > 1) task.warnings.push_back(fmt::format("Principals: {} principals; only the first is reported", count));
}

TaskDefinition ReadTask(const std::string& root_key, const Tree& root, std::vector<std::string> warnings) {
  TaskDefinition task;
  task.warnings = std::move(warnings);
  const std::size_t colon = root_key.rfind(':');
  const std::string xmlns_attr = colon == std::string::npos ? "xmlns" : "xmlns:" + root_key.substr(0, colon);
  if (const std::string ns = Attribute(&root, xmlns_attr); ns != kTaskNamespace) {
    task.warnings.push_back(fmt::format("root namespace is '{}', not the Task Scheduler namespace", Quote(ns)));
  }
  const Tree* info = Child(&root, "RegistrationInfo");
  task.uri = Text(Child(info, "URI"));
  task.author = Text(Child(info, "Author"));
  task.description = Text(Child(info, "Description"));
  task.source = Text(Child(info, "Source"));
  task.date = Text(Child(info, "Date"));
  task.version = Text(Child(info, "Version"));
  ReadPrincipals(Child(&root, "Principals"), task);
  const Tree* settings = Child(&root, "Settings");
  task.hidden = Boolean(Child(settings, "Hidden"), "Settings/Hidden", task.warnings).value_or(false);
  task.enabled = Boolean(Child(settings, "Enabled"), "Settings/Enabled", task.warnings).value_or(true);
  task.allow_start_on_demand =
      Boolean(Child(settings, "AllowStartOnDemand"), "Settings/AllowStartOnDemand", task.warnings);
  ReadActions(Child(&root, "Actions"), task);
  ReadTriggers(Child(&root, "Triggers"), task);
  return task;
}

Result<TaskDefinition> ParseText(const std::string& text, std::vector<std::string> warnings) {
  TRAWL_TRY_VOID(CheckStructure(text));
  Tree doc;
  std::istringstream in(text);
  bpt::read_xml(in, doc, bpt::xml_parser::no_comments);
  const std::pair<const std::string, Tree>* root = nullptr;
  std::size_t roots = 0;
  for (const auto& entry : doc) {
    if (!IsElement(entry.first)) continue;
    if (++roots == 1) root = &entry;
  }
  if (!root) return Fail(ErrorCode::kFormat, "task XML: no root element");
  if (LocalName(root->first) != "Task") {
    return Fail(ErrorCode::kFormat, fmt::format("task XML: root element is <{}>, not <Task>", Quote(root->first)));
  }
  if (roots > 1) warnings.push_back(fmt::format("{} top-level elements; only the first <Task> is read", roots));
  return ReadTask(root->first, root->second, std::move(warnings));
}

}  // namespace

Result<TaskDefinition> ParseTaskXml(Bytes data) {
  if (data.size() > kTaskXmlMaxBytes) {
    return Fail(ErrorCode::kLimit,
                fmt::format("task XML: {} bytes, over the {} byte limit", data.size(), kTaskXmlMaxBytes));
  }
  try {
    std::vector<std::string> warnings;
    const std::string text = DecodeToUtf8(data, warnings);
    if (text.find_first_not_of(" \t\n") == std::string::npos) return Fail(ErrorCode::kFormat, "task XML: empty file");
    return ParseText(text, std::move(warnings));
  } catch (const bpt::xml_parser_error& e) {
    const std::string line = e.line() > 0 ? fmt::format("line {}: ", e.line()) : "";
    return Fail(ErrorCode::kFormat, fmt::format("task XML: {}{}", line, e.message()));
  } catch (const bpt::ptree_error& e) {
    return Fail(ErrorCode::kFormat, fmt::format("task XML: {}", e.what()));
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kLimit, "task XML: out of memory");
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, fmt::format("task XML: {}", e.what()));
  } catch (...) {
    return Fail(ErrorCode::kInternal, "task XML: unknown exception");
  }
}

}  // namespace trawl::core::formats
