// SPDX-License-Identifier: Apache-2.0
#include "core/util/time.h"

#include <chrono>

#include <fmt/format.h>

namespace trawl::core {
namespace {

struct Civil {
  std::int64_t year;
  unsigned month, day, hour, minute, second;
};

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
Civil CivilFromSeconds(std::int64_t secs) {
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{m <= 2 ? y + 1 : y,
               m,
               d,
               static_cast<unsigned>(rem / 3600),
               static_cast<unsigned>((rem % 3600) / 60),
               static_cast<unsigned>(rem % 60)};
}

}  // namespace

std::int64_t FiletimeToUnixSeconds(std::uint64_t filetime) {
  const auto ticks = static_cast<std::int64_t>(filetime / 10000000ULL);
  return ticks - static_cast<std::int64_t>(kFiletimeUnixEpoch / 10000000ULL);
}

std::string FiletimeToIso(std::uint64_t filetime) {
  const std::int64_t secs = FiletimeToUnixSeconds(filetime);
  const auto frac = static_cast<unsigned>(filetime % 10000000ULL);
  const Civil c = CivilFromSeconds(secs);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z", c.year, c.month, c.day, c.hour, c.minute, c.second,
                     frac);
}

std::string UnixToIso(std::int64_t seconds, std::uint32_t nanos, int digits) {
  const Civil c = CivilFromSeconds(seconds);
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second);
  if (digits > 0) {
    std::string frac = fmt::format("{:09}", nanos);
    out += "." + frac.substr(0, static_cast<std::size_t>(digits > 9 ? 9 : digits));
  }
  return out + "Z";
}

std::string CompactUtcNow() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const Civil c = CivilFromSeconds(secs);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second);
}

std::string IsoUtcNow() {
  const auto now = std::chrono::system_clock::now();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  return UnixToIso(ns / 1000000000, static_cast<std::uint32_t>(ns % 1000000000), 3);
}

std::string UnixNsToIso(std::int64_t ns) {
  if (ns == 0) return {};
  std::int64_t secs = ns / 1000000000;
  std::int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    secs -= 1;
  }
  return UnixToIso(secs, static_cast<std::uint32_t>(rem), 9);
}

}  // namespace trawl::core
