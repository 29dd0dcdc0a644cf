// SPDX-License-Identifier: Apache-2.0
// Files compiled into trawl-triage by cmake/EmbedFiles.cmake: the case
// schema (db/schema.sql) and the shipped rules (rules/<area>/<id>.yaml), so a
// static binary needs nothing beside it. Immutable; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace trawl::triage {

struct EmbeddedFile {
  std::string_view path;  // relative to triage/, '/'-separated
  std::string_view text;
};

std::span<const EmbeddedFile> EmbeddedTriageFiles();
// The text of one embedded file, or empty when absent.
std::string_view EmbeddedTriageFile(std::string_view path);

}  // namespace trawl::triage
