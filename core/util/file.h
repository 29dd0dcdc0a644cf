// SPDX-License-Identifier: Apache-2.0
// Small file helpers for offline tools (triage, tests): read a whole file with
// a size cap, write a file. The collector does not use these on evidence; it
// streams through its platform layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace trawl::core {

// Reads a regular file completely; fails with kLimit when it exceeds max_size.
Result<std::vector<std::byte>> ReadFileBytes(const std::filesystem::path& path, std::uint64_t max_size = 1ULL << 30);
Result<std::string> ReadFileText(const std::filesystem::path& path, std::uint64_t max_size = 64ULL << 20);
Result<void> WriteFileText(const std::filesystem::path& path, std::string_view text);

}  // namespace trawl::core
