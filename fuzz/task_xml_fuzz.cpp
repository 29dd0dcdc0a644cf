// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: ParseTaskXml over arbitrary bytes (UTF-16LE or UTF-8,
// with or without a BOM). Invariants: no crash, no sanitizer report and no
// stack exhaustion (the structure check bounds rapidxml's recursion); only
// kFormat or kLimit errors (kInternal would be an exception nobody expected);
// every string returned is valid UTF-8; the action and trigger caps hold.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/formats/task_xml.h"
#include "core/util/text.h"
#include "fuzz/fuzz_support.h"

namespace {

void CheckUtf8(const std::string& s) { FUZZ_CHECK(trawl::core::IsValidUtf8(s), "a returned string is not UTF-8"); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core::formats;
  using trawl::core::ErrorCode;
  auto task = ParseTaskXml(trawl::fuzz::AsBytes(data, size));
  if (!task) {
    FUZZ_CHECK(!task.error().message.empty(), "error without a message");
    FUZZ_CHECK(task.error().code == ErrorCode::kFormat || task.error().code == ErrorCode::kLimit,
               "an error other than kFormat or kLimit");
    return 0;
  }
  for (const std::string* s :
       {&task->uri, &task->author, &task->description, &task->source, &task->date, &task->version, &task->user_id,
        &task->logon_type, &task->run_level, &task->principal_group, &task->context})
    CheckUtf8(*s);
  FUZZ_CHECK(task->actions.size() <= kTaskMaxActions, "more actions than the cap");
  FUZZ_CHECK(task->triggers.size() <= kTaskMaxTriggers, "more triggers than the cap");
  for (const auto& a : task->actions) {
    FUZZ_CHECK(a.type == "exec" || a.type == "com" || a.type == "email" || a.type == "message", "action type");
    for (const std::string* s : {&a.command, &a.arguments, &a.working_directory, &a.class_id, &a.data}) CheckUtf8(*s);
  }
  for (const auto& t : task->triggers) {
    for (const std::string* s :
         {&t.type, &t.start_boundary, &t.end_boundary, &t.user_id, &t.delay, &t.repetition_interval, &t.subscription})
      CheckUtf8(*s);
  }
  for (const auto& w : task->warnings) CheckUtf8(w);
  return 0;
}
