// SPDX-License-Identifier: Apache-2.0
// Renders PeInfo (core/formats/pe.h) for trawl-triage `inspect pe`: a JSON
// object per file (stable keys, hex strings for digests) and a readable text
// block with every host-controlled string escaped for the terminal. Pure
// functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/formats/pe.h"
#include "core/util/error.h"

namespace trawl::core::formats {

nlohmann::json PeToJson(const PeInfo& info, std::string_view path);
// {"path": ..., "error": "<code>: <message>"}
nlohmann::json PeErrorJson(std::string_view path, const Error& error);
std::string PeToText(const PeInfo& info, std::string_view path);

}  // namespace trawl::core::formats
