#pragma once
// Single-core fp32 FMA peak: the ceiling that "fraction of peak" in the benchmark report divides by.
// Zen/Haswell-class cores issue two 256-bit FMAs per cycle with a 4-cycle latency, so at least 8
// independent accumulator chains are needed to keep both ports busy; 12 leaves slack for issue jitter
// and still fits in the 16 ymm registers next to the two constant operands. The default architecture is
// the one latent is compiled for (fma3<avx2> with -mavx2 -mfma: 8 floats a register); peak_avx512.cpp
// instantiates it for avx512f, because the benchmark machine (Zen 5) has full-width 512-bit FMA units
// that OpenBLAS -- and so libtorch -- uses: its machine peak is twice the AVX2 one.

#include <xsimd/xsimd.hpp>  // xsimd::batch<float>, xsimd::fma

#include <array>    // std::array (accumulators)
#include <chrono>   // std::chrono::steady_clock
#include <cstddef>  // std::size_t

namespace latent::bench {

inline constexpr std::size_t peak_chains = 12;

/// Runs `iters` rounds of `peak_chains` independent FMAs on full `Arch` registers and returns a value that
/// depends on every one of them, so the compiler can neither drop nor fold the loop (the operands come
/// from `volatile` loads, the trip count is a runtime value). FLOPs done: flops_per_round() * iters.
template <class Arch = xsimd::default_arch>
float peak_fma_kernel(std::size_t iters) {
  using batch = xsimd::batch<float, Arch>;
  volatile float mul_v = 0.999999f, add_v = 1e-6f, init_v = 1.0f;
  const batch mul(mul_v), add(add_v);  // acc -> acc*mul + add stays near 1: no overflow, no denormals
  std::array<batch, peak_chains> acc;
  for (std::size_t c = 0; c < peak_chains; ++c) acc[c] = batch(init_v + static_cast<float>(c));
  for (std::size_t i = 0; i < iters; ++i)
    for (std::size_t c = 0; c < peak_chains; ++c) acc[c] = xsimd::fma(acc[c], mul, add);
  batch sum = acc[0];
  for (std::size_t c = 1; c < peak_chains; ++c) sum += acc[c];
  // A scalar sum of the lanes rather than xsimd::hadd, whose avx512 version needs AVX-512DQ.
  alignas(64) std::array<float, batch::size> lanes;
  sum.store_aligned(lanes.data());
  float total = 0.0f;
  for (float x : lanes) total += x;
  return total;
}

/// FLOPs per round of peak_fma_kernel: chains x lanes x 2 (an FMA is a multiply and an add).
template <class Arch = xsimd::default_arch>
constexpr double peak_flops_per_round() noexcept {
  return static_cast<double>(peak_chains * xsimd::batch<float, Arch>::size * 2);
}

/// Measured single-core fp32 FMA throughput in GFLOP/s (best of `trials` timings of `iters` rounds).
template <class Arch = xsimd::default_arch>
double peak_fma_gflops(std::size_t iters = 50'000'000, int trials = 3) {
  double best = 0.0;
  for (int t = 0; t < trials; ++t) {
    const auto t0 = std::chrono::steady_clock::now();
    volatile float sink = peak_fma_kernel<Arch>(iters);
    static_cast<void>(sink);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double g = peak_flops_per_round<Arch>() * static_cast<double>(iters) / s * 1e-9;
    best = g > best ? g : best;
  }
  return best;
}

}  // namespace latent::bench
