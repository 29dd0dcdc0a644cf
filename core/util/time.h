// SPDX-License-Identifier: Apache-2.0
// Time conversions for evidence: Windows FILETIME (100 ns ticks since
// 1601-01-01 UTC) and Unix times to ISO 8601 UTC strings. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace trawl::core {

// 100-ns ticks between 1601-01-01 and 1970-01-01.
inline constexpr std::uint64_t kFiletimeUnixEpoch = 116444736000000000ULL;

// "2019-03-29T12:34:56.1234567Z" (7 fractional digits, FILETIME precision).
std::string FiletimeToIso(std::uint64_t filetime);
// Unix seconds + nanoseconds to "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (9 digits) or,
// with digits == 0, to whole seconds.
std::string UnixToIso(std::int64_t seconds, std::uint32_t nanos = 0, int digits = 0);
// Nanoseconds since the Unix epoch (negative before 1970) to 9 fractional
// digits; "" for 0, which file metadata uses for "not known".
std::string UnixNsToIso(std::int64_t ns);
// Current UTC time as "YYYYMMDDTHHMMSSZ" (archive names) and as ISO 8601.
std::string CompactUtcNow();
std::string IsoUtcNow();
// Seconds since the Unix epoch for a FILETIME (floor), for timelines.
std::int64_t FiletimeToUnixSeconds(std::uint64_t filetime);

}  // namespace trawl::core
