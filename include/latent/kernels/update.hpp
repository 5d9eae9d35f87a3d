#pragma once
/// \file
/// Optimiser update kernels: one vectorised pass over the packed parameters, gradients and state.

#include "latent/kernels/simd.hpp"

#include <algorithm>  // std::copy
#include <cstddef>    // std::size_t

// See gemm.hpp: g++ 12's overflow reasoning on run-time counts is a false positive here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"

namespace latent::kernels {

namespace detail {
// The vector loops of the updates, over a multiple of the vector width. Not inlined, so that the one
// compiled loop serves both the whole vectors of a range and its tail (copied into a padded block):
// every parameter's new value is then computed by the same instructions wherever a range starts or
// ends, and an update split anywhere is bit-identical to one pass (the models update their
// parameters piece by piece as the gradient is formed; the compiler could otherwise contract the
// operations of two inlined copies differently).
template <class T, class Arch>
[[gnu::noinline]] void adam_vectors(std::size_t count, T* p, const T* g, T* m, T* v, T lr_t, T beta1, T beta2,
                                    T eps) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V b1(beta1), b2(beta2), c1(T(1) - beta1), c2(T(1) - beta2), lr(lr_t), e(eps);
  for (std::size_t i = 0; i < count; i += W) {
    const V gi = V::load_unaligned(g + i);
    const V mi = xsimd::fma(b1, V::load_unaligned(m + i), c1 * gi);
    const V vi = xsimd::fma(b2, V::load_unaligned(v + i), c2 * gi * gi);
    mi.store_unaligned(m + i);
    vi.store_unaligned(v + i);
    (V::load_unaligned(p + i) - lr * mi / (xsimd::sqrt(vi) + e)).store_unaligned(p + i);
  }
}

template <class T, class Arch>
[[gnu::noinline]] void sgd_vectors(std::size_t count, T* p, const T* g, T* u, T lr, T momentum,
                                   bool nesterov) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V mu(momentum), l(lr);
  for (std::size_t i = 0; i < count; i += W) {
    const V gi = V::load_unaligned(g + i);
    const V ui = mu * V::load_unaligned(u + i) - l * gi;
    ui.store_unaligned(u + i);
    const V step = nesterov ? mu * ui - l * gi : ui;
    (V::load_unaligned(p + i) + step).store_unaligned(p + i);
  }
}

// Runs vectors(n, g, arrays) over the whole vectors of [0, count) in place, then over the last
// count % W values copied into zero-padded blocks of one vector (zeros are harmless to both updates);
// only the updated `arrays` are copied back, never the gradient `g`.
template <std::size_t W, std::size_t Arrays, class T, class F>
void by_vectors(std::size_t count, const T* g, T* const (&arrays)[Arrays], const F& vectors) noexcept {
  const std::size_t full = count / W * W;
  if (full != 0) vectors(full, g, arrays);
  if (const std::size_t k = count - full; k != 0) {
    alignas(64) T g_block[W] = {};
    alignas(64) T block[Arrays][W] = {};
    T* tail[Arrays];
    std::copy(g + full, g + count, g_block);
    for (std::size_t a = 0; a < Arrays; ++a) {
      std::copy(arrays[a] + full, arrays[a] + count, block[a]);
      tail[a] = block[a];
    }
    vectors(W, g_block, tail);
    for (std::size_t a = 0; a < Arrays; ++a) std::copy(block[a], block[a] + k, arrays[a] + full);
  }
}
}  // namespace detail

/// Adam in Keras's form: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr_t·m / (√v + ε),
/// with the bias correction folded into `lr_t` = lr·√(1−β2ᵗ)/(1−β1ᵗ). Bit-identical however a
/// parameter vector is split into calls.
template <class T, class Arch = default_arch>
void adam_update(std::size_t count, T* p, const T* g, T* m, T* v, T lr_t, T beta1, T beta2, T eps) noexcept {
  T* const arrays[3] = {p, m, v};
  detail::by_vectors<simd<T, Arch>::size>(count, g, arrays, [&](std::size_t n, const T* gi, T* const (&a)[3]) {
    detail::adam_vectors<T, Arch>(n, a[0], gi, a[1], a[2], lr_t, beta1, beta2, eps);
  });
}

/// SGD with momentum in Keras's form: u ← μ·u − lr·g; p ← p + u (plain SGD when μ = 0).
/// With `nesterov`, p ← p + μ·u − lr·g. Bit-identical however a parameter vector is split into calls.
template <class T, class Arch = default_arch>
void sgd_update(std::size_t count, T* p, const T* g, T* u, T lr, T momentum, bool nesterov) noexcept {
  T* const arrays[2] = {p, u};
  detail::by_vectors<simd<T, Arch>::size>(count, g, arrays, [&](std::size_t n, const T* gi, T* const (&a)[2]) {
    detail::sgd_vectors<T, Arch>(n, a[0], gi, a[1], lr, momentum, nesterov);
  });
}

}  // namespace latent::kernels

#pragma GCC diagnostic pop
