// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the triage rule loader (one YAML rule file, ParseRule)
// and the IOC hash list reader (ParseIocCsv) over the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "triage/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = trawl::fuzz::AsText(data, size);
  const std::string file = "rules/fuzz/fuzz.yaml";
  if (auto rule = trawl::triage::ParseRule(text, file, "fuzz/fuzz.yaml")) {
    FUZZ_CHECK(rule->score >= -100 && rule->score <= 100, "score outside -100..100");
  }
  (void)trawl::triage::ParseIocCsv(text, "iocs.csv");
  return 0;
}
