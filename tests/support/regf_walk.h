// SPDX-License-Identifier: Apache-2.0
// A full walk of a registry hive (core/formats/regf.h) as the lines that
// tests/fixtures/registry/regf_oracle.py prints for libregf (pyregf), so the
// two can be compared line by line: depth-first from the root, subkeys in
// list order, each key followed by its values and then its subkeys.
//
//   {"k": path, "t": FILETIME, "nsub": N, "nval": N, "class": name|null, "off": F}
//   {"v": key path, "n": value name, "type": T, "size": S, "sha1": hex, "off": F}
//   {"err": why, "at": path}
//
// The root's path is its own name, names are joined with '\'. "off" is the
// file offset of the cell data (4096 + cell + 4), as libregf reports it; it is
// context for a failure message, not compared. Used by the oracle test and the
// log replay tests (two of our own walks compared).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/formats/regf.h"
#include "core/util/byte_reader.h"

namespace trawl::test {

// Fields in the order the oracle script prints them.
using RegfLine = nlohmann::ordered_json;

struct RegfWalk {
  std::vector<RegfLine> lines;  // in walk order
  std::size_t keys = 0;         // key lines, the root included
  std::size_t values = 0;       // value lines
  std::size_t errors = 0;       // error lines
};

struct RegfWalkOptions {
  bool lines = true;                 // false: count keys and values, keep only the error lines (fast)
  bool hash_data = true;             // "sha1" of every value's data (else left out)
  std::size_t max_keys = 4'000'000;  // stop (with an error line) after this many keys
  std::size_t max_depth = 512;       // keys deeper than this are an error line, not entered
};

// Walks `hive` from its root. A key reached a second time (a cycle, or a
// subkey listed twice) is an error line and is not entered again.
RegfWalk WalkHive(const core::formats::regf::Hive& hive, const RegfWalkOptions& options = {});

// A line as the oracle script prints it (compact JSON, non-ASCII escaped):
// equal texts are equal lines, so a comparison needs to parse only the lines
// whose texts differ.
std::string RegfLineText(const RegfLine& line);
// One line of the oracle script's stdout; a line that is not a JSON object
// becomes an error line quoting it.
RegfLine ParseRegfLine(const std::string& text);
// The oracle script's stdout, one JSON object per line.
RegfWalk ParseRegfOracle(const std::string& text);

// Compares the key and value lines of two walks ("off" ignored): keys are
// matched by path, values by key path and name (a repeated path or name by
// its occurrence). Returns "" when both hold the same lines in the same
// order; otherwise how many differ and the first `max_report` differences,
// each with both sides' lines and the line before it in `want`'s order.
// Error lines are not compared (the caller looks at them).
std::string DiffRegfWalks(const RegfWalk& want, const RegfWalk& got, std::string_view want_name,
                          std::string_view got_name, std::size_t max_report = 20);

// The first `max` error lines, one per line, for a failure message.
std::string RegfErrors(const RegfWalk& walk, std::size_t max = 20);

// A file's bytes; throws std::runtime_error naming the file.
std::vector<std::byte> ReadBytes(const std::filesystem::path& path);
// Lower-case hex digests (OpenSSL EVP).
std::string Sha1Hex(core::Bytes data);
std::string Md5Hex(core::Bytes data);

}  // namespace trawl::test
