// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the registry hive reader (core/formats/regf.h), with
// transaction-log replay. The input is a primary file and up to two logs:
//   u32le n, then n bytes of primary (n clamped to what is left),
//   u32le m, then m bytes of the first log (clamped), the rest: the second.
// A log is offered only when it has bytes; an input shorter than 4 bytes is
// all primary. tests/fixtures/registry/make_regf_seeds.py writes seeds in this
// layout. After Open, every key is walked from the root (subkeys, values with
// their data helpers, class names) within a node budget; a key cell reached
// twice is not entered again, so a cycle or a shared subtree costs nothing.
// Invariants: no crash or sanitizer report; a value's data is never longer
// than its declared size; names and strings are valid UTF-8; values read and
// values skipped add up to the key's count; a listed subkey or value is found
// again by name when none of its siblings is unreadable; recovery says what
// it applied.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/formats/regf.h"
#include "core/util/text.h"
#include "fuzz/fuzz_support.h"

namespace regf = trawl::core::formats::regf;

namespace {

std::uint32_t TakeLength(const std::uint8_t*& data, std::size_t& size) {
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(data[i]) << (8 * i);
  data += 4;
  size -= 4;
  return n;
}

std::vector<std::byte> Take(const std::uint8_t*& data, std::size_t& size, std::size_t n) {
  n = n < size ? n : size;
  std::vector<std::byte> out(reinterpret_cast<const std::byte*>(data), reinterpret_cast<const std::byte*>(data) + n);
  data += n;
  size -= n;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> primary;
  std::vector<regf::LogFile> logs;
  if (size < 4) {
    primary = Take(data, size, size);
  } else {
    primary = Take(data, size, TakeLength(data, size));
    if (size >= 4) {
      std::vector<std::byte> log1 = Take(data, size, TakeLength(data, size));
      if (!log1.empty()) logs.push_back({"fuzz.LOG1", std::move(log1)});
    }
    if (size > 0) logs.push_back({"fuzz.LOG2", Take(data, size, size)});
  }
  std::size_t offered = primary.size();
  for (const auto& l : logs) offered += l.data.size();

  auto hive = regf::Hive::Open(std::move(primary), logs);
  if (!hive) {
    FUZZ_CHECK(!hive.error().message.empty(), "error without a message");
    return 0;
  }
  const regf::Recovery& rec = hive->recovery();
  FUZZ_CHECK(rec.applied.empty() == rec.format.empty(), "applied log entries and the recovery format disagree");
  FUZZ_CHECK(rec.applied.empty() || rec.dirty, "log entries applied to a clean hive");
  FUZZ_CHECK(hive->bytes().size() <= offered + (std::size_t{1} << 20) + offered * 2,
             "recovery grew the hive unbounded");
  FUZZ_CHECK(trawl::core::IsValidUtf8(hive->header().file_name), "base block file name is not UTF-8");

  auto root = hive->Root();
  FUZZ_CHECK(root.has_value(), "Open succeeded but the root key does not read");
  std::vector<std::pair<regf::Key, int>> stack{{*root, 0}};
  std::unordered_set<std::uint32_t> entered;
  int budget = 2048;  // keys and values together
  while (!stack.empty() && budget > 0) {
    auto [key, depth] = std::move(stack.back());
    stack.pop_back();
    if (!entered.insert(key.cell).second) continue;
    --budget;
    FUZZ_CHECK(trawl::core::IsValidUtf8(key.name), "key name is not UTF-8");
    if (auto cls = hive->ClassName(key)) FUZZ_CHECK(trawl::core::IsValidUtf8(*cls), "class name is not UTF-8");
    std::vector<std::string> bad;
    if (auto values = hive->Values(key, &bad)) {
      FUZZ_CHECK((values->empty() && bad.empty()) || values->size() + bad.size() == key.value_count,
                 "values read and values skipped do not add up to the key's count");
      for (const regf::Value& v : *values) {
        if (--budget <= 0) break;
        FUZZ_CHECK(v.data.size() <= v.declared_size, "value data longer than its declared size");
        FUZZ_CHECK(trawl::core::IsValidUtf8(v.name), "value name is not UTF-8");
        FUZZ_CHECK(trawl::core::IsValidUtf8(regf::ValueString(v)), "value string is not UTF-8");
        for (const auto& s : regf::ValueMultiString(v)) FUZZ_CHECK(trawl::core::IsValidUtf8(s), "multi-string");
        (void)regf::ValueInteger(v);
        (void)regf::TypeName(v.type);
      }
      // GetValue reads the whole list without skipping: with an unreadable
      // sibling it fails (regf.h), so the lookup is only checked without one.
      if (!values->empty() && bad.empty()) {
        auto again = hive->GetValue(key, values->front().name);
        FUZZ_CHECK(again && again->has_value(), "a listed value is not found by its name");
      }
    }
    bad.clear();
    auto subkeys = hive->Subkeys(key, &bad);
    if (!subkeys) continue;
    if (!subkeys->empty() && bad.empty()) {
      auto again = hive->Subkey(key, subkeys->front().name);
      FUZZ_CHECK(again && again->has_value(), "a listed subkey is not found by its name");
    }
    if (depth >= 64) continue;
    for (auto it = subkeys->rbegin(); it != subkeys->rend(); ++it) stack.push_back({std::move(*it), depth + 1});
  }
  return 0;
}
