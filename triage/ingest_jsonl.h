// SPDX-License-Identifier: Apache-2.0
// The fast path of JSON Lines ingest (RFC 8259): one collector record, a flat
// JSON object whose values are strings, numbers, true, false or null, parsed
// in place without building a DOM (the DOM was half of ingest time).
//
// The fast path only ever accepts a subset of what nlohmann::json accepts and
// yields the same values: integers that fit int64 (negative) or uint64 (not
// negative) as such and every other number as the correctly rounded double,
// strings unescaped (\uXXXX surrogate pairs combined) and UTF-8 checked with
// nlohmann's byte ranges, duplicate keys kept in order (the last one wins, as
// in nlohmann's DOM). Everything else is declined (nested values, a byte
// order mark, non-finite or underflowing numbers, any syntax error), and the
// caller parses the line with nlohmann::json, whose behaviour and error
// messages stay the reference. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace trawl::triage {

struct FlatValue {
  enum class Type { kNull, kBool, kInt, kUInt, kDouble, kString };
  Type type = Type::kNull;
  std::string_view text;  // kString: the unescaped value
  std::int64_t i = 0;     // kInt; kBool as 0/1
  std::uint64_t u = 0;    // kUInt
  double d = 0;           // kDouble
};

// The value as nlohmann would have parsed it (for what is kept as JSON).
nlohmann::json FlatToJson(const FlatValue& v);

struct FlatField {
  std::string_view key;  // unescaped
  FlatValue value;
};

// Parses `line` into `fields` (cleared first), members in document order.
// Returns false to decline (see above). Keys and strings view into `line` or,
// when they held escapes, into `scratch`; both must stay unchanged while the
// views are used, and the next call reuses `scratch`.
bool ParseFlatRecord(std::string_view line, std::vector<FlatField>& fields, std::string& scratch);

}  // namespace trawl::triage
