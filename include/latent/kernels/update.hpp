#pragma once
/// \file
/// Optimiser update kernels: one vectorised pass over the packed parameters, gradients and state.

#include "latent/kernels/simd.hpp"

#include <cstddef>  // std::size_t

// See gemm.hpp: g++ 12's overflow reasoning on run-time counts is a false positive here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"

namespace latent::kernels {

/// Adam in Keras's form: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr_t·m / (√v + ε),
/// with the bias correction folded into `lr_t` = lr·√(1−β2ᵗ)/(1−β1ᵗ).
template <class T, class Arch = default_arch>
void adam_update(std::size_t count, T* p, const T* g, T* m, T* v, T lr_t, T beta1, T beta2, T eps) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V b1(beta1), b2(beta2), c1(T(1) - beta1), c2(T(1) - beta2), lr(lr_t), e(eps);
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V gi = V::load_unaligned(g + i);
    const V mi = xsimd::fma(b1, V::load_unaligned(m + i), c1 * gi);
    const V vi = xsimd::fma(b2, V::load_unaligned(v + i), c2 * gi * gi);
    mi.store_unaligned(m + i);
    vi.store_unaligned(v + i);
    (V::load_unaligned(p + i) - lr * mi / (xsimd::sqrt(vi) + e)).store_unaligned(p + i);
  }
  for (; i < count; ++i) {
    m[i] = beta1 * m[i] + (T(1) - beta1) * g[i];
    v[i] = beta2 * v[i] + (T(1) - beta2) * g[i] * g[i];
    p[i] -= lr_t * m[i] / (xsimd::sqrt(v[i]) + eps);
  }
}

/// SGD with momentum in Keras's form: u ← μ·u − lr·g; p ← p + u (plain SGD when μ = 0).
/// With `nesterov`, p ← p + μ·u − lr·g.
template <class T, class Arch = default_arch>
void sgd_update(std::size_t count, T* p, const T* g, T* u, T lr, T momentum, bool nesterov) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V mu(momentum), l(lr);
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V gi = V::load_unaligned(g + i);
    const V ui = mu * V::load_unaligned(u + i) - l * gi;
    ui.store_unaligned(u + i);
    const V step = nesterov ? mu * ui - l * gi : ui;
    (V::load_unaligned(p + i) + step).store_unaligned(p + i);
  }
  for (; i < count; ++i) {
    u[i] = momentum * u[i] - lr * g[i];
    p[i] += nesterov ? momentum * u[i] - lr * g[i] : u[i];
  }
}

}  // namespace latent::kernels

#pragma GCC diagnostic pop
