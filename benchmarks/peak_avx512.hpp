#pragma once
// The AVX-512 FMA peak, compiled in its own translation unit (peak_avx512.cpp, -mavx512f) so that no
// AVX-512 instruction leaks into code that runs on CPUs without it; call only when avx512_available().

#include <cstddef>  // std::size_t

namespace latent::bench {

/// Whether this CPU executes AVX-512F (checked at run time).
bool avx512_available() noexcept;
/// peak_fma_kernel<xsimd::avx512f>(iters).
float peak_fma_kernel_avx512(std::size_t iters);
/// peak_flops_per_round<xsimd::avx512f>(): 12 chains x 16 lanes x 2.
double peak_flops_per_round_avx512() noexcept;

}  // namespace latent::bench
