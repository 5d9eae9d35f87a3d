// Built with -mavx512f (see CMakeLists.txt): instantiates the FMA peak kernel on 512-bit registers.
#include "peak_avx512.hpp"

#include "peak_flops.hpp"

namespace latent::bench {

bool avx512_available() noexcept { return __builtin_cpu_supports("avx512f") != 0; }
float peak_fma_kernel_avx512(std::size_t iters) { return peak_fma_kernel<xsimd::avx512f>(iters); }
double peak_flops_per_round_avx512() noexcept { return peak_flops_per_round<xsimd::avx512f>(); }

}  // namespace latent::bench
