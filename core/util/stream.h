// SPDX-License-Identifier: Apache-2.0
// The two callback shapes that connect streaming stages (zip writer -> age
// encryptor -> output file, and back): a sink takes bytes, a source fills a
// buffer and returns how many bytes it wrote (0 at the end).
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core {

using ByteSink = std::function<Result<void>(Bytes)>;
using ByteSource = std::function<Result<std::size_t>(std::span<std::byte>)>;

}  // namespace trawl::core
