#pragma once
/// \file
/// The kernels of the normalisation layers (BatchNorm, GroupNorm): sums over a run of values, the
/// normalisation y = g·(x − mean)·inv + b with x̂ kept, and the input gradient's affine form. Runs are
/// contiguous (a channel's positions in a channel-first row, or a group's channels and positions);
/// sums of float runs are taken in float registers and returned in double, where the layers combine
/// them across rows.

#include "latent/kernels/simd.hpp"

#include <cstddef>  // std::size_t

// g++ 12 warns that a scalar tail "invokes undefined behavior" after 4·10¹⁸ iterations when a count is
// a run-time value (as in gemm.hpp): a false positive for any real row.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace latent::kernels {

/// Σ x and Σ x² over the `count` values at x.
template <class T, class Arch = default_arch>
inline void sum_and_squares(const T* x, std::size_t count, double& sum, double& squares) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  if (count < W) {  // fewer values than a register (one, after a flat layer): the same sums, no reduction
    T st = T(0), qt = T(0);
    for (std::size_t i = 0; i < count; ++i) {
      st += x[i];
      qt += x[i] * x[i];
    }
    sum = static_cast<double>(st);
    squares = static_cast<double>(qt);
    return;
  }
  V s(T(0)), q(T(0));
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V v = V::load_unaligned(x + i);
    s += v;
    q = math::fma(v, v, q);
  }
  T st = reduce_add<T, Arch>(s), qt = reduce_add<T, Arch>(q);
  for (; i < count; ++i) {
    st += x[i];
    qt += x[i] * x[i];
  }
  sum = static_cast<double>(st);
  squares = static_cast<double>(qt);
}

/// Σ dy and Σ dy·x̂ over the `count` values at dy and xhat.
template <class T, class Arch = default_arch>
inline void sum_and_dot(const T* dy, const T* xhat, std::size_t count, double& sum, double& dot) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  if (count < W) {  // as in sum_and_squares
    T st = T(0), dt = T(0);
    for (std::size_t i = 0; i < count; ++i) {
      st += dy[i];
      dt += dy[i] * xhat[i];
    }
    sum = static_cast<double>(st);
    dot = static_cast<double>(dt);
    return;
  }
  V s(T(0)), d(T(0));
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V g = V::load_unaligned(dy + i);
    s += g;
    d = math::fma(g, V::load_unaligned(xhat + i), d);
  }
  T st = reduce_add<T, Arch>(s), dt = reduce_add<T, Arch>(d);
  for (; i < count; ++i) {
    st += dy[i];
    dt += dy[i] * xhat[i];
  }
  sum = static_cast<double>(st);
  dot = static_cast<double>(dt);
}

/// x̂ = (x − mean)·inv and y = g·x̂ + b over `count` values (xhat may be null: not kept).
template <class T, class Arch = default_arch>
inline void normalise(const T* x, std::size_t count, T mean, T inv, T g, T b, T* xhat, T* y) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V vm(mean), vi(inv), vg(g), vb(b);
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V h = (V::load_unaligned(x + i) - vm) * vi;
    if (xhat != nullptr) h.store_unaligned(xhat + i);
    math::fma(vg, h, vb).store_unaligned(y + i);
  }
  for (; i < count; ++i) {
    const T h = (x[i] - mean) * inv;
    if (xhat != nullptr) xhat[i] = h;
    y[i] = g * h + b;
  }
}

/// dx = a·dy − b − c·x̂ over `count` values: the input gradient of a normalisation whose statistics
/// depend on the input (a = g·inv, b = a·Σdy/m, c = a·Σdy·x̂/m over the m values normalised together).
template <class T, class Arch = default_arch>
inline void normalise_input_gradient(const T* dy, const T* xhat, std::size_t count, T a, T b, T c, T* dx) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V va(a), vb(b), vc(c);
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V v = math::fma(va, V::load_unaligned(dy + i), -vb) - vc * V::load_unaligned(xhat + i);
    v.store_unaligned(dx + i);
  }
  for (; i < count; ++i) dx[i] = a * dy[i] - b - c * xhat[i];
}

/// dx = a·dy over `count` values (a normalisation by fixed statistics: BatchNorm in eval mode).
template <class T, class Arch = default_arch>
inline void scale_values(const T* dy, std::size_t count, T a, T* dx) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V va(a);
  std::size_t i = 0;
  for (; i + W <= count; i += W) (va * V::load_unaligned(dy + i)).store_unaligned(dx + i);
  for (; i < count; ++i) dx[i] = a * dy[i];
}

}  // namespace latent::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
