// SPDX-License-Identifier: Apache-2.0
// The collector's one-pass hash pipeline against each digest alone on the
// same buffer: the target is MultiHasher (MD5 + SHA-1 + SHA-256 + entropy)
// costing no more than 1.1 x the sum of the three digests measured alone.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <random>
#include <string>

#include "core/hash/multi_hasher.h"

namespace {

const std::string& Buffer() {
  static const std::string data = [] {
    std::mt19937_64 rng(7);
    std::string s(1 << 20, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }();
  return data;
}

void Digest(benchmark::State& state, const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const std::string& data = Buffer();
  for (auto _ : state) {
    EVP_DigestInit_ex2(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, data.data(), data.size());
    EVP_DigestFinal_ex(ctx, out, &len);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(data.size()));
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
}

void BM_Md5(benchmark::State& state) { Digest(state, "MD5"); }
void BM_Sha1(benchmark::State& state) { Digest(state, "SHA1"); }
void BM_Sha256(benchmark::State& state) { Digest(state, "SHA256"); }

void BM_Entropy(benchmark::State& state) {
  const std::string& data = Buffer();
  for (auto _ : state) {
    trawl::core::EntropyCounter e;
    e.Update(trawl::core::AsBytes(data));
    benchmark::DoNotOptimize(e.Entropy());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(data.size()));
}

void BM_MultiHasher(benchmark::State& state) {
  const std::string& data = Buffer();
  trawl::core::MultiHasher h;
  for (auto _ : state) {
    h.Reset();
    h.Update(trawl::core::AsBytes(data));
    benchmark::DoNotOptimize(h.Finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(data.size()));
}

BENCHMARK(BM_Md5);
BENCHMARK(BM_Sha1);
BENCHMARK(BM_Sha256);
BENCHMARK(BM_Entropy);
BENCHMARK(BM_MultiHasher);

}  // namespace

BENCHMARK_MAIN();
