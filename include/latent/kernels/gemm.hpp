#pragma once
/// \file
/// Register-blocked matrix products with compile-time widths, the heart of every Dense layer.
///
/// Two shapes cover a Dense layer's forward and backward passes on row-major data (rows are samples):
///  - `gemm_nn`: C[M×N] = init + A[M×K] · B[K×N], B row-major with N known at compile time. A is read
///    through strides, so the same kernel computes X·W (forward) and Xᵀ·dZ (weight gradient).
///    Accumulators start from `init` (zero or a bias) and finish in an epilogue, so bias and activation
///    are fused into the product.
///  - `gemm_nt`: C[M×N] = A[M×K] · B[N×K]ᵀ with K known at compile time: dot products along
///    contiguous rows, used for the input gradient dZ·Wᵀ without transposing W.
/// Full registers first, then a tail register filled by a partial load: widths that are not a
/// multiple of the vector width stay vectorised.

#include "latent/kernels/simd.hpp"

#include <cstddef>  // std::size_t

// g++ 12 warns that offsets like r·N + c "would overflow after 4·10¹⁶ iterations" when a row count is a
// run-time value: a false positive for any real matrix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"

namespace latent::kernels {

/// Epilogue that stores the accumulators into C (row stride N).
template <class T>
struct store_to {
  T* c;
  template <class V>
  void operator()(std::size_t offset, const V& v) const noexcept {
    v.store_unaligned(c + offset);
  }
  template <class V>
  void partial(std::size_t offset, const V& v, std::size_t count) const noexcept {
    store_partial(c + offset, v, count);
  }
};

/// Epilogue that adds the accumulators to C (row stride N).
template <class T>
struct add_to {
  T* c;
  template <class V>
  void operator()(std::size_t offset, const V& v) const noexcept {
    (V::load_unaligned(c + offset) + v).store_unaligned(c + offset);
  }
  template <class V>
  void partial(std::size_t offset, const V& v, std::size_t count) const noexcept {
    store_partial(c + offset, load_partial<T, typename V::arch_type>(c + offset, count) + v, count);
  }
};

/// Accumulators start at zero.
struct zero_init {
  template <class V, class T>
  V full(const T*, std::size_t) const noexcept {
    return V(T(0));
  }
  template <class V, class T>
  V partial(const T*, std::size_t, std::size_t) const noexcept {
    return V(T(0));
  }
};

/// Accumulators start at a bias row `b[N]` (the same for every row of C).
template <class T>
struct bias_init {
  const T* b;
  template <class V, class U>
  V full(const U*, std::size_t col) const noexcept {
    return V::load_unaligned(b + col);
  }
  template <class V, class U>
  V partial(const U*, std::size_t col, std::size_t count) const noexcept {
    return load_partial<T, typename V::arch_type>(b + col, count);
  }
};

namespace detail {

// Row and column counts are far below 2^40; telling the optimiser so keeps it from reasoning about
// offsets that would overflow (and from warning about them).
inline void assume_reasonable(std::size_t n) noexcept {
  if (n > (std::size_t{1} << 40)) __builtin_unreachable();
}

// One MR-row by (NV full + optional tail) register tile of gemm_nn.
template <class T, class Arch, std::size_t N, std::size_t MR, std::size_t NV, bool Tail, class Init, class Epi>
inline void nn_tile(std::size_t row, std::size_t col, std::size_t K, const T* A, std::size_t a_rs,
                    std::size_t a_cs, const T* B, const Init& init, const Epi& epi) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t NA = NV + (Tail ? 1 : 0);
  constexpr std::size_t tail = N % W;
  V acc[MR][NA];
#pragma GCC unroll 8
  for (std::size_t j = 0; j < NA; ++j) {
    const V start = (Tail && j == NV) ? init.template partial<V>(B, col + j * W, tail)
                                      : init.template full<V>(B, col + j * W);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) acc[r][j] = start;
  }
  const T* a_base = A + row * a_rs;
  for (std::size_t k = 0; k < K; ++k) {
    const T* brow = B + k * N + col;
    V b[NA];
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NV; ++j) b[j] = V::load_unaligned(brow + j * W);
    if constexpr (Tail) b[NV] = load_partial<T, Arch>(brow + NV * W, tail);
    const T* a_k = a_base + k * a_cs;
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) {
      const V a(a_k[r * a_rs]);
#pragma GCC unroll 8
      for (std::size_t j = 0; j < NA; ++j) acc[r][j] = xsimd::fma(a, b[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (std::size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NV; ++j) epi((row + r) * N + col + j * W, acc[r][j]);
    if constexpr (Tail) epi.partial((row + r) * N + col + NV * W, acc[r][NV], tail);
  }
}

// All row tiles for one column block.
template <class T, class Arch, std::size_t N, std::size_t NV, bool Tail, class Init, class Epi>
inline void nn_column_block(std::size_t col, std::size_t M, std::size_t K, const T* A, std::size_t a_rs,
                            std::size_t a_cs, const T* B, const Init& init, const Epi& epi) noexcept {
  constexpr std::size_t MR = NV + Tail >= 3 ? 4 : 6;  // keep accumulators + operands within 16 registers
  std::size_t row = 0;
  for (; row + MR <= M; row += MR) nn_tile<T, Arch, N, MR, NV, Tail>(row, col, K, A, a_rs, a_cs, B, init, epi);
  for (; row < M; ++row) nn_tile<T, Arch, N, 1, NV, Tail>(row, col, K, A, a_rs, a_cs, B, init, epi);
}

// Column blocks of up to three registers, generated at compile time from N.
template <class T, class Arch, std::size_t N, std::size_t Col, class Init, class Epi>
inline void nn_columns(std::size_t M, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const T* B,
                       const Init& init, const Epi& epi) noexcept {
  constexpr std::size_t W = simd<T, Arch>::size;
  constexpr std::size_t full = (N - Col) / W;
  constexpr bool tail = (N - Col) % W != 0;
  if constexpr (full >= 3) {
    nn_column_block<T, Arch, N, 3, false>(Col, M, K, A, a_rs, a_cs, B, init, epi);
    nn_columns<T, Arch, N, Col + 3 * W>(M, K, A, a_rs, a_cs, B, init, epi);
  } else if constexpr (full > 0 || tail) {
    nn_column_block<T, Arch, N, full, tail>(Col, M, K, A, a_rs, a_cs, B, init, epi);
  }
}

// One MR × NR tile of dot products for gemm_nt.
template <class T, class Arch, std::size_t K, std::size_t MR, std::size_t NR>
inline void nt_tile(std::size_t m, std::size_t n, const T* A, const T* B, T* C, std::size_t ldc) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t full = K / W;
  constexpr std::size_t tail = K % W;
  V acc[MR][NR];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (std::size_t c = 0; c < NR; ++c) acc[r][c] = V(T(0));
  const T* a0 = A + m * K;
  const T* b0 = B + n * K;
  for (std::size_t v = 0; v < full; ++v) {
    V a[MR];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) a[r] = V::load_unaligned(a0 + r * K + v * W);
#pragma GCC unroll 8
    for (std::size_t c = 0; c < NR; ++c) {
      const V b = V::load_unaligned(b0 + c * K + v * W);
#pragma GCC unroll 8
      for (std::size_t r = 0; r < MR; ++r) acc[r][c] = xsimd::fma(a[r], b, acc[r][c]);
    }
  }
  if constexpr (tail != 0) {
    V a[MR];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) a[r] = load_partial<T, Arch>(a0 + r * K + full * W, tail);
#pragma GCC unroll 8
    for (std::size_t c = 0; c < NR; ++c) {
      const V b = load_partial<T, Arch>(b0 + c * K + full * W, tail);
#pragma GCC unroll 8
      for (std::size_t r = 0; r < MR; ++r) acc[r][c] = xsimd::fma(a[r], b, acc[r][c]);
    }
  }
#pragma GCC unroll 8
  for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (std::size_t c = 0; c < NR; ++c) C[(m + r) * ldc + n + c] = xsimd::hadd(acc[r][c]);
}

template <class T, class Arch, std::size_t K, std::size_t MR>
inline void nt_rows(std::size_t m, std::size_t N, const T* A, const T* B, T* C, std::size_t ldc) noexcept {
  constexpr std::size_t NR = 4;
  std::size_t n = 0;
  for (; n + NR <= N; n += NR) nt_tile<T, Arch, K, MR, NR>(m, n, A, B, C, ldc);
  for (; n < N; ++n) nt_tile<T, Arch, K, MR, 1>(m, n, A, B, C, ldc);
}

}  // namespace detail

/// C[M×N] = init + A·B, then `epi` per register. A(r, k) = A[r·a_rs + k·a_cs]; B is K×N row-major;
/// the epilogue receives offsets r·N + c into C-shaped storage.
template <std::size_t N, class T, class Arch = default_arch, class Init = zero_init, class Epi = store_to<T>>
void gemm_nn(std::size_t M, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const T* B,
             const Init& init, const Epi& epi) noexcept {
  static_assert(N > 0, "latent: gemm_nn needs N > 0");
  detail::assume_reasonable(M);
  detail::assume_reasonable(K);
  detail::nn_columns<T, Arch, N, 0>(M, K, A, a_rs, a_cs, B, init, epi);
}

/// C[M×N] = A[M×K] · B[N×K]ᵀ (C has row stride `ldc`); K is known at compile time.
template <std::size_t K, class T, class Arch = default_arch>
void gemm_nt(std::size_t M, std::size_t N, const T* A, const T* B, T* C, std::size_t ldc) noexcept {
  static_assert(K > 0, "latent: gemm_nt needs K > 0");
  detail::assume_reasonable(M);
  detail::assume_reasonable(N);
  constexpr std::size_t MR = 2;
  std::size_t m = 0;
  for (; m + MR <= M; m += MR) detail::nt_rows<T, Arch, K, MR>(m, N, A, B, C, ldc);
  for (; m < M; ++m) detail::nt_rows<T, Arch, K, 1>(m, N, A, B, C, ldc);
}

}  // namespace latent::kernels

#pragma GCC diagnostic pop
