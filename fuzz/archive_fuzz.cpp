// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the triage-side archive reader (libarchive zip + the
// manifest check) over arbitrary bytes. ArchiveReader reads files, so the
// input is written to a per-process scratch file; a plain zip (PK\3\4) is read
// directly and anything else is tried as age with the fuzz test identity.
// Three consumers run: VerifyArchive, an ArchiveReader with small limits
// reading every member, and ExtractArchive into a scratch folder, after which
// nothing may exist beside that folder (no path escaped it).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "fuzz/fuzz_support.h"

namespace {

constexpr const char* kTestIdentity = "AGE-SECRET-KEY-15A0ZVJE8KXHDMHX60N0C7XD7M62GM2DCP68CSCYM0CXDW452Z49QL37R70\n";

struct Scratch {
  std::filesystem::path root;
  std::filesystem::path input;
  std::filesystem::path out;
  std::vector<trawl::core::age::Identity> ids;
  Scratch() {
    root = std::filesystem::temp_directory_path() / ("trawl-archive-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root / "jail");
    input = root / "input.bin";
    out = root / "jail" / "out";
    auto parsed = trawl::core::age::ParseIdentityFile(kTestIdentity, "fuzz identity");
    FUZZ_CHECK(parsed.has_value(), "test identity parses");
    ids.assign(parsed->begin(), parsed->end());
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

Scratch& S() {
  static Scratch s;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core;
  Scratch& s = S();
  {
    std::ofstream f(s.input, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  if (auto report = trawl::core::archive::VerifyArchive(s.input, s.ids)) {
    if (report->ok) FUZZ_CHECK(report->manifest.has_value(), "verified without a manifest");
  }

  trawl::core::archive::ReadLimits limits;
  limits.max_member_size = 1u << 20;
  limits.max_members = 1000;
  limits.manifest.max_bytes = 1u << 20;
  if (auto reader = trawl::core::archive::ArchiveReader::Open(s.input, s.ids, limits)) {
    while (true) {
      auto next = (*reader)->Next();
      if (!next || !*next) break;
      auto all = (*reader)->ReadAll(2u << 20);
      if (all) FUZZ_CHECK(all->size() <= limits.max_member_size, "member larger than the limit was read");
    }
  }

  std::error_code ec;
  std::filesystem::remove_all(s.out, ec);
  std::filesystem::create_directories(s.out, ec);
  (void)trawl::core::archive::ExtractArchive(s.input, s.ids, s.out);
  for (const auto& e : std::filesystem::directory_iterator(s.root / "jail")) {
    FUZZ_CHECK(e.path() == s.out, "extraction wrote outside its folder");
  }
  std::filesystem::remove_all(s.out, ec);
  return 0;
}
