#pragma once
/// \file
/// The element-wise loss kernel: Σ ℓ(p, t) and g = scale · ∂ℓ/∂p in one vectorised pass.

#include "latent/kernels/simd.hpp"

#include <cstddef>  // std::size_t

// See gemm.hpp: g++ 12's overflow reasoning on run-time counts is a false positive here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace latent::kernels {

/// Returns Σ_i E::term(p_i, t_i) (accumulated in double) and, when `grad` is not null, writes
/// grad_i = scale · E::slope(p_i, t_i). `E` supplies `term` and `slope` for scalars and registers.
template <class E, class T, class Arch = default_arch>
double loss_sum(std::size_t count, const T* p, const T* t, T* grad, T scale) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  double total = 0;
  // Partial sums stay in a register for at most 64 registers, then go to double: float accumulation
  // over 10⁵ terms would lose digits.
  std::size_t i = 0;
  const V s(scale);
  while (i + W <= count) {
    V acc(T(0));
    for (std::size_t r = 0; r < 64 && i + W <= count; ++r, i += W) {
      const V pi = V::load_unaligned(p + i), ti = V::load_unaligned(t + i);
      if constexpr (requires(V& a, V& b) { E::term_and_slope(pi, ti, a, b); }) {
        // An element whose term and slope share their costly parts computes both at once.
        if (grad != nullptr) {
          V term, slope;
          E::term_and_slope(pi, ti, term, slope);
          acc += term;
          (s * slope).store_unaligned(grad + i);
          continue;
        }
      }
      acc += E::term(pi, ti);
      if (grad != nullptr) (s * E::slope(pi, ti)).store_unaligned(grad + i);
    }
    total += static_cast<double>(xsimd::hadd(acc));
  }
  for (; i < count; ++i) {
    total += static_cast<double>(E::term(p[i], t[i]));
    if (grad != nullptr) grad[i] = scale * E::slope(p[i], t[i]);
  }
  return total;
}

}  // namespace latent::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
