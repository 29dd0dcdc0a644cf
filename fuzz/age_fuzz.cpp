// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the age v1 reader (header, X25519 and scrypt stanzas,
// header MAC, STREAM payload) with a fixed test identity, read through
// Decryptor::Open/Read with read sizes derived from the input and through
// DecryptToString. The seeds in fuzz/corpus/age/ were made by the real `age`
// CLI to this identity's recipient, so mutations reach the payload code.
// The key below is a throw-away test key; it protects nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/crypto/age.h"
#include "fuzz/fuzz_support.h"

namespace {

// age-keygen output; public key age18pgkrfvt5vlsg05qndtw0577vry8896smwjl4lalvv7eqysreqsqtdzuk9
constexpr const char* kTestIdentity = "AGE-SECRET-KEY-15A0ZVJE8KXHDMHX60N0C7XD7M62GM2DCP68CSCYM0CXDW452Z49QL37R70\n";

const std::vector<trawl::core::age::Identity>& Identities() {
  static const std::vector<trawl::core::age::Identity> ids = [] {
    auto parsed = trawl::core::age::ParseIdentityFile(kTestIdentity, "fuzz identity");
    FUZZ_CHECK(parsed.has_value() && parsed->size() == 1, "test identity parses");
    // A scrypt identity too, with a small work factor so scrypt stanzas are
    // parsed but a mutated work factor cannot make one input take minutes.
    std::vector<trawl::core::age::Identity> out{(*parsed)[0]};
    out.push_back(trawl::core::age::ScryptIdentity{"fuzz", 10});
    return out;
  }();
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core;
  const auto bytes = trawl::fuzz::AsBytes(data, size);
  auto whole = age::DecryptToString(bytes, Identities());

  trawl::fuzz::InputRng rng(data, size);
  std::size_t pos = 0;
  age::Source source = [&](std::span<std::byte> out) -> Result<std::size_t> {
    // Short reads of random length, as a pipe or network file delivers them.
    const std::size_t n = std::min({out.size(), size - pos, static_cast<std::size_t>(rng.Next() % 9000 + 1)});
    if (n > 0) std::memcpy(out.data(), data + pos, n);
    pos += n;
    return n;
  };
  auto dec = age::Decryptor::Open(source, Identities());
  std::string streamed;
  bool stream_ok = false;
  if (dec) {
    std::vector<std::byte> buf(static_cast<std::size_t>(rng.Next() % 70000 + 1));
    while (true) {
      auto n = (*dec)->Read(buf);
      if (!n) break;
      if (*n == 0) {
        stream_ok = true;
        break;
      }
      FUZZ_CHECK(*n <= buf.size(), "Read returned more than the buffer");
      streamed.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
  }
  FUZZ_CHECK(whole.has_value() == stream_ok, "DecryptToString and Decryptor disagree on success");
  if (whole) FUZZ_CHECK(*whole == streamed, "DecryptToString and Decryptor disagree on plaintext");
  return 0;
}
