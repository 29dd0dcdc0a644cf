// SPDX-License-Identifier: Apache-2.0
#include "core/profile/model.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace trawl::core::profile {

const ParamValue* Parameters::Find(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

bool Parameters::GetBool(std::string_view name) const {
  const ParamValue* v = Find(name);
  const bool* b = v ? std::get_if<bool>(v) : nullptr;
  return b ? *b : false;
}

std::int64_t Parameters::GetInt(std::string_view name) const {
  const ParamValue* v = Find(name);
  const std::int64_t* i = v ? std::get_if<std::int64_t>(v) : nullptr;
  return i ? *i : 0;
}

std::uint64_t Parameters::GetSize(std::string_view name) const {
  const ParamValue* v = Find(name);
  const std::uint64_t* u = v ? std::get_if<std::uint64_t>(v) : nullptr;
  return u ? *u : 0;
}

const std::string& Parameters::GetString(std::string_view name) const {
  static const std::string kEmpty;
  const ParamValue* v = Find(name);
  const std::string* s = v ? std::get_if<std::string>(v) : nullptr;
  return s ? *s : kEmpty;
}

const std::vector<std::string>& Parameters::GetList(std::string_view name) const {
  static const std::vector<std::string> kEmpty;
  const ParamValue* v = Find(name);
  const auto* l = v ? std::get_if<std::vector<std::string>>(v) : nullptr;
  return l ? *l : kEmpty;
}

std::string FormatSize(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  std::uint64_t v = bytes;
  while (unit + 1 < std::size(kUnits) && v != 0 && v % 1024 == 0) {
    v /= 1024;
    ++unit;
  }
  return std::to_string(v) + kUnits[unit];
}

std::string FormatParamValue(const ParamValue& value) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(std::uint64_t u) const { return FormatSize(u); }
    std::string operator()(const std::string& s) const { return "'" + s + "'"; }
    std::string operator()(const std::vector<std::string>& l) const {
      std::string out = "[";
      for (std::size_t i = 0; i < l.size(); ++i) {
        if (i) out += ", ";
        out += "'" + l[i] + "'";
      }
      return out + "]";
    }
  };
  return std::visit(Visitor{}, value);
}

bool ResolvedArtifact::AppliesTo(TargetOs os) const {
  return std::find(platforms.begin(), platforms.end(), os) != platforms.end();
}

int ResolvedArtifact::WalkDepth() const {
  std::uint64_t depth = limits.max_depth;
  if (const ParamValue* v = parameters.Find("max_depth")) {
    if (const auto* i = std::get_if<std::int64_t>(v); i && *i >= 0) {
      depth = std::min<std::uint64_t>(depth, static_cast<std::uint64_t>(*i));
    }
  }
  return static_cast<int>(std::min<std::uint64_t>(depth, 64));
}

std::vector<const ResolvedArtifact*> ResolvedProfile::ForTarget(TargetOs os) const {
  std::vector<const ResolvedArtifact*> out;
  for (const ResolvedArtifact& a : artifacts) {
    if (a.AppliesTo(os)) out.push_back(&a);
  }
  return out;
}

std::string CanonicalText(const ResolvedProfile& profile) {
  using nlohmann::json;
  json doc;
  doc["name"] = profile.name;
  doc["limits"] = {{"time_limit", profile.limits.time_limit},
                   {"max_output", profile.limits.max_output},
                   {"max_file_size", profile.limits.max_file_size}};
  json arts = json::array();
  for (const ResolvedArtifact& a : profile.artifacts) {
    json art;
    art["name"] = a.name;
    art["kind"] = a.kind ? std::string(a.kind->name) : std::string();
    json platforms = json::array();
    for (TargetOs os : a.platforms) platforms.push_back(std::string(TargetOsName(os)));
    art["platforms"] = platforms;
    json params = json::object();
    for (const auto& [name, value] : a.parameters.values()) {
      std::visit([&](const auto& v) { params[name] = v; }, value);
    }
    art["parameters"] = params;
    art["limits"] = {{"max_file_size", a.limits.max_file_size},
                     {"max_files", a.limits.max_files},
                     {"max_total_bytes", a.limits.max_total_bytes},
                     {"max_depth", a.limits.max_depth},
                     {"copy_max_size", a.limits.copy_max_size}};
    arts.push_back(std::move(art));
  }
  doc["artifacts"] = std::move(arts);
  // nlohmann::json objects keep keys sorted; dump() without indent is compact.
  return doc.dump();
}

}  // namespace trawl::core::profile
