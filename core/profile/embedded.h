// SPDX-License-Identifier: Apache-2.0
// The shipped profiles and artifacts compiled into the binary, so a static
// trawl-collect carries them. The definition is generated at build time by
// cmake/EmbedFiles.cmake from every *.yaml file under profiles/. Immutable
// data; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace trawl::core::profile {

struct EmbeddedFile {
  std::string_view path;  // relative to profiles/, '/' separated, e.g. "default.yaml"
  std::string_view text;
};

// Sorted by path.
std::span<const EmbeddedFile> EmbeddedProfileFiles();

}  // namespace trawl::core::profile
