// SPDX-License-Identifier: Apache-2.0
// Small helpers shared by the libFuzzer targets in fuzz/. Each target defines
// LLVMFuzzerTestOneInput and is built twice: with clang and -fsanitize=fuzzer
// (the fuzz preset, fuzz/run.sh) and with the ordinary compiler against
// replay_main.cpp, which feeds every file of a corpus directory through the
// same function so ctest replays the seeds and every regression input.
// A target reports a bug by crashing: FUZZ_CHECK aborts with a message, which
// both libFuzzer and the replay driver treat as a failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#define FUZZ_CHECK(cond, what)                                                                        \
  do {                                                                                                \
    if (!(cond)) {                                                                                    \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                   \
    }                                                                                                 \
  } while (0)

namespace trawl::fuzz {

inline std::span<const std::byte> AsBytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Deterministic pseudo-random numbers seeded from the input, so a crash found
// with a given chunking replays identically (splitmix64).
class InputRng {
 public:
  InputRng(const std::uint8_t* data, std::size_t size) {
    state_ = 0x9E3779B97F4A7C15ULL ^ size;
    for (std::size_t i = 0; i < size && i < 16; ++i) state_ = state_ * 131 + data[i];
  }
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace trawl::fuzz
