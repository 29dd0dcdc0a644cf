// SPDX-License-Identifier: Apache-2.0
// The typed manifest parser (core/archive/manifest.h) against what a forger
// can write: every wrong type issue #18 found crashing `analyze`, missing
// fields, numbers out of range, duplicate keys, deep nesting and cheap
// inputs that used to cost gigabytes. Each must be an Error naming the
// field, never an exception or an abort.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/archive/manifest.h"
#include "tests/support/zip_builder.h"

namespace trawl::core::archive {
namespace {

using nlohmann::json;

json Entry() { return test::MemberEntry("records/a.jsonl", "x"); }

std::string With(const json& fields, const json& entries = json::array({Entry()})) {
  return test::ManifestText(entries, fields);
}

Result<Manifest> Parse(const std::string& text, const ManifestEntryFn& fn = nullptr,
                       const ManifestLimits& limits = {}) {
  return ParseManifest(std::string_view(text), "m.json", fn, limits);
}

void ExpectRefused(const std::string& text, const std::string& needle) {
  Result<Manifest> r = std::unexpected(Error{});
  ASSERT_NO_THROW(r = Parse(text)) << text.substr(0, 200);
  ASSERT_FALSE(r) << "accepted: " << text.substr(0, 200);
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
}

TEST(ManifestParser, ReadsAGenuineManifestAndStreamsItsEntries) {
  json skipped = Entry();
  skipped["archive_path"] = nullptr;
  skipped["sha256"] = nullptr;
  skipped["status"] = "skipped";
  skipped["type"] = "artifact";
  std::vector<ManifestEntry> seen;
  auto m = Parse(With({{"counts", {{"files", 3}}}, {"limits_hit", {"max_output"}}, {"result", "partial"}},
                      json::array({Entry(), skipped})),
                 [&](const ManifestEntry& e, std::uint64_t) -> Result<void> {
                   seen.push_back(e);
                   return {};
                 });
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->part, 1u);
  EXPECT_EQ(m->host.hostname, "test-host");
  EXPECT_EQ(m->result, "partial");
  EXPECT_EQ(m->limits_hit, std::vector<std::string>{"max_output"});
  EXPECT_EQ(m->counts["files"], 3);
  EXPECT_EQ(m->entry_count, 2u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].archive_path.value_or(""), "records/a.jsonl");
  // What a collection that hit --max-output writes (issue #18, finding 1).
  EXPECT_FALSE(seen[1].archive_path);
  EXPECT_FALSE(seen[1].sha256);
}

// Finding 1: each of these aborted `analyze` with nlohmann's type_error.
TEST(ManifestParser, WrongTypesAreErrorsNamingTheField) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"part", "1"}}, "part: expected an unsigned integer, got a string"},
      {{{"part", nullptr}}, "required field 'part' is missing"},  // null removes it (test helper)
      {{{"part", json::array()}}, "part: expected a scalar, got an array"},
      {{{"part", json::object()}}, "part: expected a scalar, got an object"},
      {{{"host", json::array()}}, "host: expected an object, got an array"},
      {{{"host", "pc"}}, "host: expected an object, got a string"},
      {{{"host", {{"hostname", 5}}}}, "host.hostname: expected a string, got an unsigned integer"},
      {{{"started", 5}}, "started: expected a string"},
      {{{"ended", json::object()}}, "ended: expected a scalar, got an object"},
      {{{"result", 7}}, "result: expected a string"},
      {{{"limits_hit", "time_limit"}}, "limits_hit: expected an array"},
      {{{"counts", json::array()}}, "counts: expected an object"},
  };
  for (const auto& [fields, needle] : cases) ExpectRefused(With(fields), needle);
  for (const char* key : {"source_path", "type", "artifact", "status", "error"}) {
    json e = Entry();
    e[key] = 12;
    ExpectRefused(With(json::object(), json::array({e})), std::string("entries[0].") + key + ": expected a string");
  }
  json e = Entry();
  e["archive_path"] = 1;
  ExpectRefused(With(json::object(), json::array({e})), "entries[0].archive_path: expected a string or null");
  e = Entry();
  e["sha256"] = "abc";
  ExpectRefused(With(json::object(), json::array({e})), "entries[0].sha256: not 64 lower-case hex digits");
  ExpectRefused(With({{"entries", json::array({1})}}), "entries[0]: expected an object");
}

TEST(ManifestParser, DuplicateKeysAreRefused) {
  std::string text = With(json::object());
  text.insert(1, "\"part\": 7, ");
  ExpectRefused(text, "m.json: (root): duplicate key 'part'");
  std::string nested = With({{"host", {{"hostname", "a"}}}});
  nested.replace(nested.find("\"hostname\""), 0, "\"hostname\":\"b\",");
  ExpectRefused(nested, "m.json: host: duplicate key 'hostname'");
}

// Finding 6: part was narrowed (4294967297 -> 1, 1e300 -> INT_MIN).
TEST(ManifestParser, NumbersOutOfRangeAreRefused) {
  ExpectRefused(With({{"part", 4294967297ull}}), "part: 4294967297 is out of range");
  ExpectRefused(With({{"part", 0}}), "part: 0 is out of range");
  ExpectRefused(With({{"part", -1}}), "part: expected an unsigned integer, got a negative integer");
  ExpectRefused(With({{"part", 1e300}}), "part: expected an unsigned integer, got a number that is not an integer");
  std::string big = With(json::object());
  big.insert(1, "\"format_version\": 1180591620717411303424, ");  // 2^70
  big.erase(big.find(",\"format_version\":1"), std::string(",\"format_version\":1").size());
  ExpectRefused(big, "format_version: expected an integer, got a number that is not an integer or is out of range");
  json e = Entry();
  e["size"] = 1.5;
  ExpectRefused(With(json::object(), json::array({e})), "entries[0].size: expected an unsigned integer");
}

// Finding 6: unknown format names and versions were accepted.
TEST(ManifestParser, UnknownFormatAndVersionAreRefused) {
  ExpectRefused(With({{"format_version", 99}}), "version 99 is not supported");
  ExpectRefused(With({{"format", "not-trawl"}}), "format 'not-trawl' is not a trawl archive");
  ExpectRefused(With({{"format", nullptr}}), "required field 'format' is missing");
}

TEST(ManifestParser, MissingFieldsAreNamed) {
  for (const char* k : {"format_version", "host", "started", "result", "entries"}) {
    ExpectRefused(With({{k, nullptr}}), std::string("required field '") + k + "' is missing");
  }
  ExpectRefused(With({{"host", {{"os", "linux"}}}}), "required field 'host.hostname' is missing");
  json e = Entry();
  e.erase("sha256");
  ExpectRefused(With(json::object(), json::array({e})), "entries[0]: required field 'sha256' is missing");
  e = Entry();
  e["sha256"] = nullptr;
  ExpectRefused(With(json::object(), json::array({e})),
                "entries[0]: a stored member (archive_path set) needs a sha256");
}

TEST(ManifestParser, DeepNestingIsRefusedWithoutRecursion) {
  const std::string deep = "{\"x\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
  ExpectRefused(deep, "nested deeper than 32 levels");
  const std::string deeper = "{\"counts\":{\"a\":" + std::string(1000000, '[') + std::string(1000000, ']') + "}}";
  ExpectRefused(deeper, "nested deeper than");
}

// Finding 2: 100 MB of [{},{},...] took 3.4 GB in verify and analyze. The
// values outside the entries are counted; entries are not kept at all.
TEST(ManifestParser, ManyCheapValuesAreCappedNotKept) {
  std::string text = With(json::object());
  std::string many = "\"artifacts\": [";
  for (int i = 0; i < 300000; ++i) many += i ? ",{}" : "{}";
  many += "], ";
  text.insert(1, many);
  ExpectRefused(text, "more than 200000 values outside the entries");
  ManifestLimits limits;
  limits.max_entries = 10;
  json entries = json::array();
  for (int i = 0; i < 11; ++i) entries.push_back(Entry());
  auto r = Parse(With(json::object(), entries), nullptr, limits);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("more than 10 entries"), std::string::npos) << r.error().message;
  limits = {};
  limits.max_bytes = 100;
  r = Parse(With(json::object()), nullptr, limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);
}

TEST(ManifestParser, NotJsonAndTrailingGarbageAreErrors) {
  ExpectRefused("", "not valid JSON");
  ExpectRefused("[]", "not a JSON object");
  ExpectRefused(With(json::object()) + "{}", "not valid JSON");
  ExpectRefused(With(json::object()).substr(0, 50), "not valid JSON");
}

TEST(ManifestParser, EntryCallbackErrorsStopTheParse) {
  int calls = 0;
  auto r = Parse(With(json::object(), json::array({Entry(), Entry(), Entry()})),
                 [&](const ManifestEntry&, std::uint64_t i) -> Result<void> {
                   ++calls;
                   if (i == 1) return Fail(ErrorCode::kLimit, "stop here");
                   return {};
                 });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "stop here");
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace trawl::core::archive
