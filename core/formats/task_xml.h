// SPDX-License-Identifier: Apache-2.0
// Windows Task Scheduler task definitions: the XML files under
// C:\Windows\System32\Tasks\** (schema "Task Scheduler Schema Elements",
// namespace http://schemas.microsoft.com/windows/2004/02/mit/task), reduced to
// what an incident responder looks at first: who registered the task, what it
// runs, as whom, when it fires, and whether it is hidden or disabled.
//
// The files come from a possibly compromised host. ParseTaskXml accepts
// UTF-16LE with or without a BOM (what Windows writes) and UTF-8 with or
// without a BOM; invalid UTF-16 or UTF-8 is repaired (U+FFFD), never
// rejected. Input over kTaskXmlMaxBytes, nesting deeper than kTaskXmlMaxDepth
// or more than kTaskXmlMaxNodes elements and attributes is refused before the
// XML parser (Boost.PropertyTree's rapidxml, which recurses per element) sees
// it; real task files have well under 200 elements. Values are returned as
// written, with surrounding XML whitespace trimmed and line ends normalized to
// "\n" as XML requires; every string is valid UTF-8 but host-controlled
// (escape before printing). A missing element is an empty string, never an
// error. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::formats {

inline constexpr std::size_t kTaskXmlMaxBytes = 4u << 20;  // larger input: kLimit error
inline constexpr std::size_t kTaskXmlMaxDepth = 64;        // deeper element nesting: kLimit error
inline constexpr std::size_t kTaskXmlMaxNodes = 20000;     // more elements + attributes: kLimit error
inline constexpr std::size_t kTaskMaxActions = 32;         // the schema's maximum; more are dropped with a warning
inline constexpr std::size_t kTaskMaxTriggers = 48;        // the schema's maximum; more are dropped with a warning

struct TaskAction {
  std::string type;  // "exec" (Exec) | "com" (ComHandler) | "email" (SendEmail) | "message" (ShowMessage)
  std::string command, arguments, working_directory;  // Exec
  std::string class_id, data;                         // ComHandler (Data is often an XML fragment)
};

struct TaskTrigger {
  // The element name: "LogonTrigger", "TimeTrigger", "CalendarTrigger",
  // "BootTrigger", "EventTrigger", "IdleTrigger", "RegistrationTrigger",
  // "SessionStateChangeTrigger", "WnfStateChangeTrigger", ...
  std::string type;
  bool enabled = true;
  std::string start_boundary, end_boundary;
  std::string user_id;              // LogonTrigger, SessionStateChangeTrigger
  std::string delay;                // e.g. "PT30S"
  std::string repetition_interval;  // Repetition/Interval, e.g. "PT5M"
  std::string subscription;         // EventTrigger: the event-log XPath query
};

struct TaskDefinition {
  // RegistrationInfo. `date` is RegistrationInfo/Date as written (local time,
  // no zone, e.g. "2023-10-17T23:04:39"); Windows does not keep it current.
  std::string uri, author, description, source, date, version;
  // Principals/Principal: the first one (a warning notes when there are more).
  std::string user_id, logon_type, run_level, principal_group;
  // Settings.
  bool hidden = false, enabled = true;
  std::optional<bool> allow_start_on_demand;  // absent: not written (Windows' default is true)
  std::string context;                        // Actions/@Context: the Principal id the actions run as
  std::vector<TaskAction> actions;
  std::vector<TaskTrigger> triggers;
  // Oddities that did not stop parsing: an unknown action element, caps hit,
  // an unexpected namespace, a boolean that is not true/false/1/0, ...
  std::vector<std::string> warnings;
};

// Parses one task file. Errors: kLimit (too large, too deeply nested, too
// many nodes),
// kFormat (not XML, with the line when the parser gives one; no root element;
// a root that is not <Task>, named in the message).
Result<TaskDefinition> ParseTaskXml(Bytes data);

}  // namespace trawl::core::formats
