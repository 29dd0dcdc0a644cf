// SPDX-License-Identifier: Apache-2.0
// trawl.yaml beside the binary: a prepared USB stick runs with no arguments.
// The command line wins over the file (docs in README.md).
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "collector/collect.h"
#include "core/util/file.h"

namespace trawl::collector {

using core::ErrorCode;

core::Result<void> ApplyConfigFile(const std::filesystem::path& path, CollectOptions& o) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  auto text = core::ReadFileText(path, 1 << 20);
  if (!text) return std::unexpected(text.error());
  // Files named in the config are relative to the stick, like `output`.
  const auto beside = [&](const std::string& name) {
    const std::filesystem::path p = name;
    return p.is_absolute() ? p : path.parent_path() / p;
  };
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) return core::Fail(ErrorCode::kFormat, path.string() + ": expected a mapping");
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      // By value: the iterator yields a temporary pair, a reference would dangle
      // (found by ASan with CollectConfigTest).
      const YAML::Node v = it->second;
      const auto where = fmt::format("{}:{}:{}", path.string(), v.Mark().line + 1, v.Mark().column + 1);
      if (key == "recipients") {
        if (!v.IsSequence()) return core::Fail(ErrorCode::kFormat, where + ": 'recipients' must be a list");
        if (o.recipients.empty()) {
          for (const auto& r : v) o.recipients.push_back(r.as<std::string>());
        }
      } else if (key == "profile") {
        if (o.profile == "default") {
          // A profile file named relative to the stick, like `output`; a bare
          // name is a built-in profile.
          std::string name = v.as<std::string>();
          const std::filesystem::path p = name;
          if (!p.is_absolute() && (name.ends_with(".yaml") || name.ends_with(".yml"))) {
            name = (path.parent_path() / p).string();
          }
          o.profile = name;
        }
      } else if (key == "output") {
        if (o.output_dir.empty()) {
          std::filesystem::path p = v.as<std::string>();
          o.output_dir = p.is_absolute() ? p : path.parent_path() / p;
        }
      } else if (key == "time_limit") {
        if (o.time_limit == 0) o.time_limit = v.as<std::uint64_t>();
      } else if (key == "max_output") {
        if (o.max_output == 0) o.max_output = v.as<std::uint64_t>();
      } else if (key == "split_size") {
        if (o.split_size == 0) o.split_size = v.as<std::uint64_t>();
      } else if (key == "upload") {
        // A URL or a list of them; the command line's --upload replaces them.
        if (o.upload.urls.empty()) {
          if (v.IsSequence()) {
            for (const auto& u : v) o.upload.urls.push_back(u.as<std::string>());
          } else {
            o.upload.urls.push_back(v.as<std::string>());
          }
        }
      } else if (key == "upload_key") {
        if (o.upload.key_file.empty()) o.upload.key_file = beside(v.as<std::string>());
      } else if (key == "upload_host_key") {
        if (o.upload.host_key.empty()) o.upload.host_key = v.as<std::string>();
      } else if (key == "upload_ca") {
        if (o.upload.ca_file.empty()) o.upload.ca_file = beside(v.as<std::string>());
      } else if (key == "upload_delete_local") {
        o.upload.delete_local = o.upload.delete_local || v.as<bool>();
      } else {
        return core::Fail(ErrorCode::kFormat, fmt::format("{}: unknown key '{}' (recipients, profile, output, "
                                                          "time_limit, max_output, split_size, upload, upload_key, "
                                                          "upload_host_key, upload_ca, upload_delete_local)",
                                                          where, key));
      }
    }
  } catch (const YAML::Exception& e) {
    return core::Fail(ErrorCode::kFormat,
                      fmt::format("{}:{}:{}: {}", path.string(), e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return {};
}

}  // namespace trawl::collector
