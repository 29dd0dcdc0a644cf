// SPDX-License-Identifier: Apache-2.0
// Renderings of a parsed prefetch file for trawl-triage's `inspect prefetch`:
// a fixed-shape JSON object (one per file, or an error object naming the
// file) and a human-readable listing. Strings from the host are emitted as
// valid UTF-8 in JSON and escaped with EscapeForTerminal in the text form so
// a hostile file name cannot drive the terminal. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/formats/prefetch.h"
#include "core/util/error.h"

namespace trawl::core::formats {

// {"path", "version", "compressed", "executable", "hash": "0x%08x",
//  "run_count", "last_run_times": [ISO 8601 UTC, 7 fractional digits, newest
//  first, unset ones left out], "files": [full names in metrics order],
//  "volumes": [{"device_path", "serial": "0x%08x", "created" (ISO 8601, or
//  null when the FILETIME is 0), "directories": [...]}]}
nlohmann::json PrefetchToJson(const PrefetchFile& pf, std::string_view path);

// {"path", "error"} where error is Error::ToString().
nlohmann::json PrefetchErrorJson(std::string_view path, const Error& error);

// Multi-line listing (ends with a newline); every host string is escaped.
std::string PrefetchToText(const PrefetchFile& pf, std::string_view path);

}  // namespace trawl::core::formats
