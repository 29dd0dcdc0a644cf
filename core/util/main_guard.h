// SPDX-License-Identifier: Apache-2.0
// The last resort of both mains: whatever escapes (an exception from a
// library, a bug) ends the process with a message and exit code 3 instead of
// std::terminate's abort. Errors are Results everywhere else (error.h).
#pragma once

#include <exception>
#include <iostream>
#include <string_view>

#include "core/util/exit_codes.h"

namespace trawl::core {

template <typename F>
int RunGuarded(std::string_view tool, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::cerr << tool << ": internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << tool << ": internal error (unknown exception)\n";
  }
  return kExitFatal;
}

}  // namespace trawl::core
