// SPDX-License-Identifier: Apache-2.0
#include "triage/embedded.h"

namespace trawl::triage {

std::string_view EmbeddedTriageFile(std::string_view path) {
  for (const auto& f : EmbeddedTriageFiles()) {
    if (f.path == path) return f.text;
  }
  return {};
}

}  // namespace trawl::triage
