// SPDX-License-Identifier: Apache-2.0
// Google Benchmark for the prefetch parser and the LZXPRESS Huffman decoder
// over the shared compressed (MAM\x04) prefetch files. Reads the files once
// from $TRAWL_SHARED_TESTDATA (default ../shared/testdata relative to the
// working directory) and reports bytes/s of input and items/s (files).
#include <benchmark/benchmark.h>

#if defined(TRAWL_HAVE_LIBFWNT)
#include <libfwnt.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/formats/lzxpress_huffman.h"
#include "core/formats/prefetch.h"
#include "core/util/file.h"

namespace {

namespace fs = std::filesystem;
using trawl::core::Bytes;

struct Corpus {
  std::vector<std::vector<std::byte>> all;         // every .pf file
  std::vector<std::vector<std::byte>> compressed;  // the MAM\x04 ones
  std::size_t all_bytes = 0;
  std::size_t compressed_bytes = 0;
};

const Corpus& LoadCorpus() {
  static const Corpus corpus = [] {
    Corpus c;
    const char* env = std::getenv("TRAWL_SHARED_TESTDATA");
    const fs::path root = fs::path(env && *env ? env : "../shared/testdata") / "prefetch";
    std::vector<fs::path> paths;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".pf") paths.push_back(it->path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      auto bytes = trawl::core::ReadFileBytes(p);
      if (!bytes) continue;
      c.all_bytes += bytes->size();
      if (bytes->size() > 8 && std::memcmp(bytes->data(), "MAM\x04", 4) == 0) {
        c.compressed_bytes += bytes->size();
        c.compressed.push_back(*bytes);
      }
      c.all.push_back(std::move(*bytes));
    }
    return c;
  }();
  return corpus;
}

std::uint32_t DeclaredSize(const std::vector<std::byte>& f) {
  return static_cast<std::uint32_t>(f[4]) | (static_cast<std::uint32_t>(f[5]) << 8) |
         (static_cast<std::uint32_t>(f[6]) << 16) | (static_cast<std::uint32_t>(f[7]) << 24);
}

void BM_ParsePrefetchCompressed(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (c.compressed.empty()) {
    state.SkipWithError("no compressed prefetch files found (set TRAWL_SHARED_TESTDATA)");
    return;
  }
  for (auto _ : state) {
    for (const auto& f : c.compressed) {
      auto r = trawl::core::formats::ParsePrefetch(f);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.compressed.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.compressed_bytes));
}
BENCHMARK(BM_ParsePrefetchCompressed);

void BM_ParsePrefetchAll(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (c.all.empty()) {
    state.SkipWithError("no prefetch files found (set TRAWL_SHARED_TESTDATA)");
    return;
  }
  for (auto _ : state) {
    for (const auto& f : c.all) {
      auto r = trawl::core::formats::ParsePrefetch(f);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.all.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.all_bytes));
}
BENCHMARK(BM_ParsePrefetchAll);

void BM_DecompressLzxpressHuffman(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (c.compressed.empty()) {
    state.SkipWithError("no compressed prefetch files found (set TRAWL_SHARED_TESTDATA)");
    return;
  }
  std::int64_t out_bytes = 0;
  for (auto _ : state) {
    for (const auto& f : c.compressed) {
      auto r = trawl::core::formats::DecompressLzxpressHuffman(Bytes(f).subspan(8), DeclaredSize(f));
      benchmark::DoNotOptimize(r);
      if (r) out_bytes += static_cast<std::int64_t>(r->size());
    }
  }
  // Bytes = decompressed output, the usual measure for a decoder.
  state.SetBytesProcessed(out_bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.compressed.size()));
}
BENCHMARK(BM_DecompressLzxpressHuffman);

#if defined(TRAWL_HAVE_LIBFWNT)
// Baseline in the same run: libyal's libfwnt (Debian libfwnt-dev), the
// decoder behind sccainfo, over the same real files (which it handles; it is
// not run on hostile input here).
void BM_DecompressLzxpressHuffmanLibfwnt(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (c.compressed.empty()) {
    state.SkipWithError("no compressed prefetch files found (set TRAWL_SHARED_TESTDATA)");
    return;
  }
  std::vector<std::uint8_t> out;
  std::int64_t out_bytes = 0;
  for (auto _ : state) {
    for (const auto& f : c.compressed) {
      std::size_t size = DeclaredSize(f);
      out.resize(size);
      libfwnt_error_t* error = nullptr;
      const int rc = libfwnt_lzxpress_huffman_decompress(reinterpret_cast<const std::uint8_t*>(f.data()) + 8,
                                                         f.size() - 8, out.data(), &size, &error);
      if (rc != 1) {
        libfwnt_error_free(&error);
        state.SkipWithError("libfwnt refused a real file");
        return;
      }
      benchmark::DoNotOptimize(out.data());
      out_bytes += static_cast<std::int64_t>(size);
    }
  }
  state.SetBytesProcessed(out_bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.compressed.size()));
}
BENCHMARK(BM_DecompressLzxpressHuffmanLibfwnt);
#endif

}  // namespace

BENCHMARK_MAIN();
