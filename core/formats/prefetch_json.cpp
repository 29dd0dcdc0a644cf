// SPDX-License-Identifier: Apache-2.0
#include "core/formats/prefetch_json.h"

#include <fmt/format.h>

#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::core::formats {
namespace {

std::string Hex32(std::uint32_t v) { return fmt::format("0x{:08x}", v); }

// Parsed strings are valid UTF-8 already (UTF-16 decoding never yields
// invalid sequences); the caller's path may not be, and nlohmann::json
// throws on invalid UTF-8 when dumping.
std::string Utf8(std::string_view s) { return RepairUtf8(s); }

std::string VersionLabel(const PrefetchFile& pf) {
  if (pf.variant != 0) return fmt::format("{} (variant {})", pf.version, pf.variant);
  return fmt::format("{}", pf.version);
}

}  // namespace

nlohmann::json PrefetchToJson(const PrefetchFile& pf, std::string_view path) {
  nlohmann::json runs = nlohmann::json::array();
  for (const std::uint64_t t : pf.last_run_times) {
    if (t != 0) runs.push_back(FiletimeToIso(t));
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& m : pf.file_metrics) files.push_back(Utf8(m.filename));
  nlohmann::json volumes = nlohmann::json::array();
  for (const auto& v : pf.volumes) {
    nlohmann::json dirs = nlohmann::json::array();
    for (const auto& d : v.directories) dirs.push_back(Utf8(d));
    volumes.push_back({
        {"device_path", Utf8(v.device_path)},
        {"serial", Hex32(v.serial_number)},
        {"created", v.creation_time == 0 ? nlohmann::json(nullptr) : nlohmann::json(FiletimeToIso(v.creation_time))},
        {"directories", std::move(dirs)},
    });
  }
  return {
      {"path", Utf8(path)},
      {"version", pf.version},
      {"compressed", pf.compressed},
      {"executable", Utf8(pf.executable)},
      {"hash", Hex32(pf.prefetch_hash)},
      {"run_count", pf.run_count},
      {"last_run_times", std::move(runs)},
      {"files", std::move(files)},
      {"volumes", std::move(volumes)},
  };
}

nlohmann::json PrefetchErrorJson(std::string_view path, const Error& error) {
  return {{"path", Utf8(path)}, {"error", Utf8(error.ToString())}};
}

std::string PrefetchToText(const PrefetchFile& pf, std::string_view path) {
  std::string out;
  auto line = [&out](std::string_view text) {
    out += text;
    out += '\n';
  };
  line(fmt::format("{}", EscapeForTerminal(path)));
  line(fmt::format("  format version   : {}{}", VersionLabel(pf), pf.compressed ? ", compressed (MAM\\x04)" : ""));
  line(fmt::format("  executable       : {}", EscapeForTerminal(pf.executable)));
  line(fmt::format("  prefetch hash    : {}", Hex32(pf.prefetch_hash)));
  line(fmt::format("  run count        : {}", pf.run_count));
  if (pf.last_run_times.empty()) line("  last run time    : (not set)");
  for (const std::uint64_t t : pf.last_run_times) {
    line(fmt::format("  last run time    : {}", FiletimeToIso(t)));
  }
  line(fmt::format("  volumes          : {}", pf.volumes.size()));
  for (std::size_t i = 0; i < pf.volumes.size(); ++i) {
    const auto& v = pf.volumes[i];
    line(fmt::format("    [{}] {}", i + 1, EscapeForTerminal(v.device_path)));
    line(fmt::format("        serial {}, created {}", Hex32(v.serial_number),
                     v.creation_time == 0 ? std::string("(not set)") : FiletimeToIso(v.creation_time)));
    line(fmt::format("        directories: {}", v.directories.size()));
    for (const auto& d : v.directories) line(fmt::format("          {}", EscapeForTerminal(d)));
  }
  line(fmt::format("  files            : {}", pf.file_metrics.size()));
  for (std::size_t i = 0; i < pf.file_metrics.size(); ++i) {
    line(fmt::format("    {:>4} {}", i + 1, EscapeForTerminal(pf.file_metrics[i].filename)));
  }
  return out;
}

}  // namespace trawl::core::formats
