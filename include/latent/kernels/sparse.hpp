#pragma once
/// \file
/// The kernels of sparse codes (latent's sparse dictionaries): the k largest values of a row found in
/// one pass without sorting it, dot products, and the row updates a code of k active latents makes —
/// the decoder's product, its weight gradient and the code's gradient each touch k rows of a
/// dictionary, not all of them.

#include "latent/kernels/simd.hpp"

#include <algorithm>  // std::sort, std::make_heap, std::push_heap, std::pop_heap
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint32_t: latent indices

// See gemm.hpp: g++ 12's overflow reasoning on run-time counts is a false positive here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace latent::kernels {

/// Σ x[i]·y[i] (accumulated in two registers, then reduced).
template <class T, class Arch = default_arch>
T dot(std::size_t count, const T* x, const T* y) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V s0(T(0)), s1(T(0));
  std::size_t i = 0;
  for (; i + 2 * W <= count; i += 2 * W) {
    s0 = xsimd::fma(V::load_unaligned(x + i), V::load_unaligned(y + i), s0);
    s1 = xsimd::fma(V::load_unaligned(x + i + W), V::load_unaligned(y + i + W), s1);
  }
  if (i + W <= count) {
    s0 = xsimd::fma(V::load_unaligned(x + i), V::load_unaligned(y + i), s0);
    i += W;
  }
  T s = xsimd::hadd(s0 + s1);
  for (; i < count; ++i) s += x[i] * y[i];
  return s;
}

/// out[i] = x[i] − y[i].
template <class T, class Arch = default_arch>
void subtract(std::size_t count, const T* x, const T* y, T* out) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t i = 0;
  for (; i + W <= count; i += W) (V::load_unaligned(x + i) - V::load_unaligned(y + i)).store_unaligned(out + i);
  for (; i < count; ++i) out[i] = x[i] - y[i];
}

/// A value and its index, as the top-k selection ranks them.
template <class T>
struct ranked {
  T v;
  std::uint32_t i;
};

/// The `k` largest of the `count` values at `row` (k ≤ count), in one pass without sorting the row: a
/// min-heap of the k best so far (in `heap`, k entries of scratch), and a register-wide test that skips
/// every block of values none of which beats the heap's smallest (after the first few hundred values,
/// almost all of them). Writes their indices to `index` and values to `value`, ordered by index. Ties
/// go to the lower index (a later value must beat the k-th strictly), so the choice is deterministic.
template <class T, class Arch = default_arch>
void top_k(const T* row, std::size_t count, std::size_t k, std::uint32_t* index, T* value, ranked<T>* heap) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  if (k == 0) return;
  // A min-heap on (value, then larger index first): the root is the entry the next better value evicts.
  const auto worse = [](const ranked<T>& a, const ranked<T>& b) { return a.v > b.v || (a.v == b.v && a.i < b.i); };
  for (std::size_t j = 0; j < k; ++j) heap[j] = {row[j], static_cast<std::uint32_t>(j)};
  std::make_heap(heap, heap + k, worse);
  T threshold = heap[0].v;
  const auto offer = [&](std::size_t j) {
    if (row[j] > threshold) {
      std::pop_heap(heap, heap + k, worse);
      heap[k - 1] = {row[j], static_cast<std::uint32_t>(j)};
      std::push_heap(heap, heap + k, worse);
      threshold = heap[0].v;
    }
  };
  std::size_t j = k;
  for (; j < count && j % W != 0; ++j) offer(j);
  for (; j + W <= count; j += W) {
    if (xsimd::any(V::load_unaligned(row + j) > V(threshold)))
      for (std::size_t q = j; q < j + W; ++q) offer(q);
  }
  for (; j < count; ++j) offer(j);
  std::sort(heap, heap + k, [](const ranked<T>& a, const ranked<T>& b) { return a.i < b.i; });
  for (std::size_t q = 0; q < k; ++q) index[q] = heap[q].i, value[q] = heap[q].v;
}

/// `top_k` with K known at compile time (its scratch on the stack).
template <std::size_t K, class T, class Arch = default_arch>
void top_k(const T* row, std::size_t count, std::uint32_t* index, T* value) noexcept {
  static_assert(K > 0, "latent: top_k needs K > 0");
  ranked<T> heap[K];
  top_k<T, Arch>(row, count, K, index, value, heap);
}

}  // namespace latent::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
