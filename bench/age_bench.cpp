// SPDX-License-Identifier: Apache-2.0
// Throughput of age encryption and decryption (core/crypto/age.h) with
// in-memory sinks and sources, so the numbers are the crypto and framing cost
// alone. Not wired into CMake yet: link against trawl_core and benchmark.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>

#include "core/crypto/age.h"

namespace {

using trawl::core::Bytes;
using trawl::core::Result;
namespace age = trawl::core::age;

std::string RandomText(std::size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

void BM_AgeEncrypt(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::string plain = RandomText(size);
  const auto id = age::GenerateX25519Identity().value();
  const std::vector<age::Recipient> recipients = {id.ToRecipient()};
  for (auto _ : state) {
    std::uint64_t sunk = 0;
    auto enc = age::Encryptor::Create(recipients, [&sunk](Bytes b) -> Result<void> {
      sunk += b.size();
      return {};
    });
    if (!enc) state.SkipWithError(enc.error().message.c_str());
    // Feed in 1 MiB writes, as the collector's archive writer would.
    constexpr std::size_t kWrite = 1 << 20;
    for (std::size_t pos = 0; pos < size; pos += kWrite) {
      (void)(*enc)->Write(trawl::core::AsBytes(std::string_view(plain).substr(pos, kWrite)));
    }
    (void)(*enc)->Finish();
    benchmark::DoNotOptimize(sunk);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_AgeEncrypt)->Arg(1 << 20)->Arg(64 << 20)->Arg(256 << 20)->Unit(benchmark::kMillisecond);

void BM_AgeDecrypt(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const auto id = age::GenerateX25519Identity().value();
  const std::string file = age::EncryptToString({id.ToRecipient()}, trawl::core::AsBytes(RandomText(size))).value();
  std::vector<std::byte> buf(1 << 20);
  for (auto _ : state) {
    std::string_view rest = file;
    auto dec = age::Decryptor::Open(
        [&rest](std::span<std::byte> out) -> Result<std::size_t> {
          const std::size_t n = std::min(out.size(), rest.size());
          std::memcpy(out.data(), rest.data(), n);
          rest.remove_prefix(n);
          return n;
        },
        {id});
    if (!dec) state.SkipWithError(dec.error().message.c_str());
    std::size_t total = 0;
    for (;;) {
      auto n = (*dec)->Read(buf);
      if (!n || *n == 0) break;
      total += *n;
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_AgeDecrypt)->Arg(1 << 20)->Arg(64 << 20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
