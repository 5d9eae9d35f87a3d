#pragma once
/// \file
/// Element-wise and reduction kernels: activation derivatives, column sums, scaled copies.
/// Full registers first, then a partial register for the tail.

#include "latent/kernels/simd.hpp"

#include <cmath>    // std::abs
#include <cstddef>  // std::size_t
#include <limits>   // std::numeric_limits

// See gemm.hpp: g++ 12's overflow reasoning on run-time counts is a false positive here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace latent::kernels {

/// dy[i] *= Act::derivative(y[i]) for i < count: the activation's backward pass (from its output).
template <class Act, class T, class Arch = default_arch>
void multiply_by_derivative(T* dy, const T* y, std::size_t count) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V d = Act::derivative(V::load_unaligned(y + i));
    (V::load_unaligned(dy + i) * d).store_unaligned(dy + i);
  }
  for (; i < count; ++i) dy[i] *= Act::derivative(y[i]);
}

/// dy[i] *= Act::derivative_of_input(x[i]) for i < count: the derivative of an activation that is not a
/// function of its output (SiLU, GELU), from its input.
template <class Act, class T, class Arch = default_arch>
void multiply_by_input_derivative(T* dy, const T* x, std::size_t count) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t i = 0;
  for (; i + W <= count; i += W) {
    const V d = Act::derivative_of_input(V::load_unaligned(x + i));
    (V::load_unaligned(dy + i) * d).store_unaligned(dy + i);
  }
  for (; i < count; ++i) dy[i] *= Act::derivative_of_input(x[i]);
}

/// out[i] = Act::apply(z[i]) for i < count.
template <class Act, class T, class Arch = default_arch>
void apply_activation(const T* z, T* out, std::size_t count) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t i = 0;
  for (; i + W <= count; i += W) Act::apply(V::load_unaligned(z + i)).store_unaligned(out + i);
  for (; i < count; ++i) out[i] = Act::apply(z[i]);
}

namespace detail {
// Column sums of a row-major M×N matrix, started from zero or (Add) from what `out` holds.
template <std::size_t N, bool Add, class T, class Arch>
void column_sums_impl(std::size_t M, const T* X, T* out) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t full = N / W;
  constexpr std::size_t tail = N % W;
  auto start = [&](std::size_t j) { return Add ? V::load_unaligned(out + j) : V(T(0)); };
  std::size_t j = 0;
  // Four registers at a time keep four independent addition chains in flight.
  for (; j + 4 * W <= full * W; j += 4 * W) {
    V s0 = start(j), s1 = start(j + W), s2 = start(j + 2 * W), s3 = start(j + 3 * W);
    for (std::size_t r = 0; r < M; ++r) {
      const T* row = X + r * N + j;
      s0 += V::load_unaligned(row);
      s1 += V::load_unaligned(row + W);
      s2 += V::load_unaligned(row + 2 * W);
      s3 += V::load_unaligned(row + 3 * W);
    }
    s0.store_unaligned(out + j);
    s1.store_unaligned(out + j + W);
    s2.store_unaligned(out + j + 2 * W);
    s3.store_unaligned(out + j + 3 * W);
  }
  for (; j < full * W; j += W) {
    V s = start(j);
    for (std::size_t r = 0; r < M; ++r) s += V::load_unaligned(X + r * N + j);
    s.store_unaligned(out + j);
  }
  if constexpr (tail != 0) {
    V s = Add ? load_partial<T, Arch>(out + j, tail) : V(T(0));
    for (std::size_t r = 0; r < M; ++r) s += load_partial<T, Arch>(X + r * N + j, tail);
    store_partial(out + j, s, tail);
  }
}
}  // namespace detail

/// out[j] = Σ_r X[r·N + j] (sum of the M rows of a row-major M×N matrix); N known at compile time.
template <std::size_t N, class T, class Arch = default_arch>
void column_sums(std::size_t M, const T* X, T* out) noexcept {
  detail::column_sums_impl<N, false, T, Arch>(M, X, out);
}

/// out[j] += Σ_r X[r·N + j]: the column sums added, column by column, to what `out` holds.
template <std::size_t N, class T, class Arch = default_arch>
void add_column_sums(std::size_t M, const T* X, T* out) noexcept {
  detail::column_sums_impl<N, true, T, Arch>(M, X, out);
}

/// y[i] += a · x[i].
template <class T, class Arch = default_arch>
void axpy(std::size_t count, T a, const T* x, T* y) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V va(a);
  std::size_t i = 0;
  for (; i + W <= count; i += W)
    xsimd::fma(va, V::load_unaligned(x + i), V::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < count; ++i) y[i] += a * x[i];
}

/// x[i] *= a.
template <class T, class Arch = default_arch>
void scale(std::size_t count, T a, T* x) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V va(a);
  std::size_t i = 0;
  for (; i + W <= count; i += W) (V::load_unaligned(x + i) * va).store_unaligned(x + i);
  for (; i < count; ++i) x[i] *= a;
}

/// Σ x[i]² (accumulated in the register type, then reduced).
template <class T, class Arch = default_arch>
T sum_of_squares(std::size_t count, const T* x) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V s0(T(0)), s1(T(0));
  std::size_t i = 0;
  for (; i + 2 * W <= count; i += 2 * W) {
    const V a = V::load_unaligned(x + i), b = V::load_unaligned(x + i + W);
    s0 = xsimd::fma(a, a, s0);
    s1 = xsimd::fma(b, b, s1);
  }
  T s = xsimd::hadd(s0 + s1);
  for (; i < count; ++i) s += x[i] * x[i];
  return s;
}

/// True when every x[i] is finite (neither NaN nor ±Inf): |x| ≤ max is false for both.
template <class T, class Arch = default_arch>
bool all_finite(std::size_t count, const T* x) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V limit(std::numeric_limits<T>::max());
  auto ok = V(T(0)) == V(T(0));  // all lanes true
  std::size_t i = 0;
  for (; i + W <= count; i += W) ok = ok & (xsimd::abs(V::load_unaligned(x + i)) <= limit);
  bool all = xsimd::all(ok);
  for (; i < count; ++i) all = all && std::abs(x[i]) <= std::numeric_limits<T>::max();
  return all;
}

}  // namespace latent::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
