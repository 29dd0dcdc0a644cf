// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the PE/Authenticode analyzer, whole-file (AnalyzePe) and
// streaming (PeAnalyzer fed in chunks whose sizes are derived from the
// input, as trawl-collect's single read delivers them). Both paths must agree
// on what they found: streaming is the collector's path, whole-file is
// triage's, and a difference would make the two sides disagree about a file.
// The certificate table goes through AnalyzeCertificateTable (PKCS#7 parsing
// with OpenSSL), so this also fuzzes the Authenticode code.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/formats/pe.h"
#include "core/formats/pe_json.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core::formats;
  const auto bytes = trawl::fuzz::AsBytes(data, size);
  auto whole = AnalyzePe(bytes);

  PeAnalyzer streaming;
  trawl::fuzz::InputRng rng(data, size);
  std::size_t pos = 0;
  while (pos < size) {
    // Mostly small odd chunks (headers split anywhere), sometimes large ones.
    const std::uint64_t r = rng.Next();
    const std::size_t want =
        (r & 7) == 0 ? static_cast<std::size_t>(r >> 40) % 65536 + 1 : static_cast<std::size_t>(r >> 40) % 97 + 1;
    const std::size_t n = std::min(want, size - pos);
    streaming.Update(bytes.subspan(pos, n));
    pos += n;
  }
  auto streamed = streaming.Finish();

  FUZZ_CHECK(whole.has_value() == streamed.has_value(), "whole-file and streaming disagree on success");
  if (whole && streamed) {
    FUZZ_CHECK(whole->machine == streamed->machine, "machine");
    FUZZ_CHECK(whole->sections.size() == streamed->sections.size(), "section count");
    FUZZ_CHECK(whole->imphash == streamed->imphash, "imphash");
    FUZZ_CHECK(whole->authenticode.computed_digest == streamed->authenticode.computed_digest, "Authenticode digest");
    FUZZ_CHECK(whole->authenticode.signed_ == streamed->authenticode.signed_, "signed");
    (void)PeToJson(*whole, "fuzz.exe").dump();
    (void)PeToText(*whole, "fuzz.exe");
  }
  if (!whole) (void)PeErrorJson("fuzz.exe", whole.error()).dump();
  return 0;
}
