// SPDX-License-Identifier: Apache-2.0
// Coverage feedback for libFuzzer when the code is compiled by GCC.
//
// Why: the tree is C++23 and uses std::expected; Debian 12's clang 14 cannot
// compile libstdc++ 12's <expected> (it needs P0848 conditionally trivial
// destructors, clang 16+), so the fuzz build uses g++. GCC has no
// -fsanitize=fuzzer, but it has -fsanitize-coverage=trace-pc (a call per
// basic block) and trace-cmp (the comparison hooks libFuzzer implements).
// libFuzzer 14 refuses the bare trace-pc hook, so this file defines it and
// feeds libFuzzer through its inline 8-bit-counter interface instead: each
// basic block's return address is hashed into one of kSlots counters, and a
// matching PC table of fake PCs (slot numbers) lets libFuzzer print `cov:`.
// `cov` is therefore "distinct hashed blocks" (collisions possible), not
// clang's edge count; `ft` works as usual.
//
// Linked first into the GCC fuzz binaries (before libclang_rt.fuzzer, with
// --allow-multiple-definition, so this __sanitizer_cov_trace_pc wins), and
// as the static library trawl_fuzz_coverage into everything else built in a
// fuzz build (tests, trawl-collect, trawl-triage): there libFuzzer is absent,
// its entry points below are weak and null, so the counters are just counted
// and the comparison hooks are weak no-ops that libFuzzer's strong ones
// replace in the fuzz binaries. Not instrumented itself.
#include <cstddef>
#include <cstdint>

extern "C" __attribute__((weak)) void __sanitizer_cov_8bit_counters_init(std::uint8_t* begin, std::uint8_t* end);
extern "C" __attribute__((weak)) void __sanitizer_cov_pcs_init(const std::uintptr_t* begin, const std::uintptr_t* end);

namespace {

constexpr std::size_t kSlots = std::size_t{1} << 18;
std::uint8_t counters[kSlots];
std::uintptr_t pc_table[kSlots * 2];  // {pc, flags} pairs

struct Register {
  Register() {
    for (std::size_t i = 0; i < kSlots; ++i) {
      pc_table[2 * i] = i + 1;
      pc_table[2 * i + 1] = 0;
    }
    if (__sanitizer_cov_8bit_counters_init == nullptr || __sanitizer_cov_pcs_init == nullptr) return;
    __sanitizer_cov_8bit_counters_init(counters, counters + kSlots);
    __sanitizer_cov_pcs_init(pc_table, pc_table + 2 * kSlots);
  }
};
// Before any instrumented static constructor of the program runs.
Register register_counters __attribute__((init_priority(101)));

}  // namespace

extern "C" __attribute__((no_sanitize("address", "undefined"))) void __sanitizer_cov_trace_pc() {
  const auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  const std::uintptr_t h = (pc ^ (pc >> 18)) * 0x9E3779B1u;
  ++counters[(h >> 7) & (kSlots - 1)];
}

// Comparison hooks GCC emits for -fsanitize-coverage=trace-cmp. Weak no-ops:
// libFuzzer's definitions replace them in the fuzz binaries.
#define TRAWL_WEAK_HOOK(name, ...) \
  extern "C" __attribute__((weak)) void name(__VA_ARGS__) {}
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_cmp1, std::uint8_t, std::uint8_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_cmp2, std::uint16_t, std::uint16_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_cmp4, std::uint32_t, std::uint32_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_cmp8, std::uint64_t, std::uint64_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_const_cmp1, std::uint8_t, std::uint8_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_const_cmp2, std::uint16_t, std::uint16_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_const_cmp4, std::uint32_t, std::uint32_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_const_cmp8, std::uint64_t, std::uint64_t)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_cmpf, float, float)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_cmpd, double, double)
TRAWL_WEAK_HOOK(__sanitizer_cov_trace_switch, std::uint64_t, std::uint64_t*)
#undef TRAWL_WEAK_HOOK
