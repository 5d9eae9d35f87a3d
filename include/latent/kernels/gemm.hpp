#pragma once
/// \file
/// Register-blocked matrix products with compile-time widths, the heart of every Dense layer.
///
/// One packed product serves a Dense layer's forward and backward passes on row-major data (rows are
/// samples): `gemm<N>` computes C[M×N] = init + A[M×K] · B[K×N] with both A and B read through strides,
/// so the same kernel gives X·W (forward), Xᵀ·dZ (weight gradient) and dZ·Wᵀ (input gradient).
///  - B is copied one panel of up to three registers' width at a time into a contiguous, zero-padded
///    buffer (BLIS's packing): the micro-kernel then streams it with aligned full-register loads, tails
///    included, and the panel stays in L1/L2 while every row of A passes over it.
///  - The micro-kernel keeps MR × NV accumulators (4 × 3, 6 × 2 or 8 × 1 registers) and broadcasts A.
///  - Accumulators start from `init` (zero or a bias) and finish in an epilogue, so bias and activation
///    are fused into the product.
/// `gemm_nn` (B row-major) and `gemm_nt` (B given as Bᵀ, dot-product form) keep their signatures.

#include "latent/kernels/simd.hpp"

#include <cstddef>      // std::size_t
#include <new>          // std::align_val_t, operator new[]
#include <type_traits>  // std::is_same_v, std::is_base_of_v

// g++ 12 warns that offsets like r·N + c "would overflow after 4·10¹⁶ iterations" when a row count is a
// run-time value: a false positive for any real matrix.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

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

// A per-thread, cache-line aligned workspace that only grows: the first product of a shape allocates,
// later ones (every training step after the first) reuse it.
template <class T, int Slot = 0>
T* workspace(std::size_t count) noexcept {
  struct holder {
    T* p = nullptr;
    std::size_t n = 0;
    ~holder() { ::operator delete[](p, std::align_val_t{64}); }
  };
  thread_local holder h;
  if (count > h.n) {
    ::operator delete[](h.p, std::align_val_t{64});
    const std::size_t n = count < 4096 ? 4096 : count;  // round small requests up to one size
    h.p = static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{64}));
    h.n = n;
  }
  return h.p;
}

// Accumulator rows per micro-kernel for NV registers across: 12 accumulators leave four registers for
// B and the broadcast of A.
constexpr std::size_t rows_for(std::size_t nv) noexcept { return nv >= 3 ? 4 : nv == 2 ? 6 : 8; }

#if defined(__AVX__)
// dst[j·ld_dst + i] = src[i·ld_src + j] for i, j < 8 (three rounds of in-register shuffles).
inline void transpose_8x8(const float* src, std::size_t ld_src, float* dst, std::size_t ld_dst) noexcept {
  __m256 r[8], t[8];
#pragma GCC unroll 8
  for (std::size_t i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld_src);
#pragma GCC unroll 4
  for (std::size_t i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 2
  for (std::size_t i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (std::size_t i = 0; i < 4; ++i) {
    _mm256_store_ps(dst + i * ld_dst, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_store_ps(dst + (i + 4) * ld_dst, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// Copies the K × Width panel B(k, c) = B[k·b_rs + c·b_cs] into dst (row stride NV·W, zero-padded).
template <class T, class Arch, std::size_t NV, std::size_t Width>
inline void pack_panel(std::size_t K, const T* B, std::size_t b_rs, std::size_t b_cs, T* dst) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t NR = NV * W;
  constexpr std::size_t full = Width / W;
  constexpr std::size_t tail = Width % W;
  if (b_cs == 1) {
    for (std::size_t k = 0; k < K; ++k) {
      const T* src = B + k * b_rs;
      T* d = dst + k * NR;
#pragma GCC unroll 8
      for (std::size_t j = 0; j < full; ++j) V::load_unaligned(src + j * W).store_aligned(d + j * W);
      if constexpr (tail != 0) load_partial<T, Arch>(src + full * W, tail).store_aligned(d + full * W);
#pragma GCC unroll 8
      for (std::size_t j = full + (tail != 0); j < NV; ++j) V(T(0)).store_aligned(d + j * W);
    }
  } else {
    // A transposed panel (b_rs = 1 in practice): walk each source column contiguously and write with
    // the panel's stride; with AVX, 8 × 8 blocks go through registers.
    std::size_t c0 = 0;
#if defined(__AVX__)
    // (The 8 × 8 blocks serve AVX-512 panels too: their rows are 16 floats, a multiple of 8.)
    if constexpr (std::is_same_v<T, float> &&
                  (std::is_base_of_v<xsimd::avx, Arch> || std::is_base_of_v<xsimd::avx512f, Arch>)) {
      if (b_rs == 1)
        for (; c0 + 8 <= Width; c0 += 8) {
          const float* src = B + c0 * b_cs;
          std::size_t k = 0;
          for (; k + 8 <= K; k += 8) transpose_8x8(src + k, b_cs, dst + k * NR + c0, NR);
          for (; k < K; ++k)
            for (std::size_t c = 0; c < 8; ++c) dst[k * NR + c0 + c] = src[c * b_cs + k];
        }
    }
#endif
    for (std::size_t c = c0; c < Width; ++c) {
      const T* src = B + c * b_cs;
      for (std::size_t k = 0; k < K; ++k) dst[k * NR + c] = src[k * b_rs];
    }
    if constexpr (Width < NR)
      for (std::size_t k = 0; k < K; ++k)
        for (std::size_t c = Width; c < NR; ++c) dst[k * NR + c] = T(0);
  }
}

// MR rows × NV registers: acc += A[rows, 0:K] · panel.
template <class T, class Arch, std::size_t MR, std::size_t NV>
inline void micro_kernel(std::size_t K, const T* a, std::size_t a_rs, std::size_t a_cs, const T* panel,
                         simd<T, Arch> (&acc)[MR][NV]) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t NR = NV * W;
  for (std::size_t k = 0; k < K; ++k) {
    V b[NV];
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NV; ++j) b[j] = V::load_aligned(panel + k * NR + j * W);
    const T* a_k = a + k * a_cs;
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) {
      const V ar(a_k[r * a_rs]);
#pragma GCC unroll 8
      for (std::size_t j = 0; j < NV; ++j) acc[r][j] = xsimd::fma(ar, b[j], acc[r][j]);
    }
  }
}

// One MR-row tile of one panel: init, product, epilogue.
template <class T, class Arch, std::size_t N, std::size_t MR, std::size_t NV, std::size_t Width, class Init, class Epi>
inline void tile(std::size_t row, std::size_t col, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs,
                 const T* panel, const Init& init, const Epi& epi) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t full = Width / W;
  constexpr std::size_t tail = Width % W;
  V acc[MR][NV];
#pragma GCC unroll 8
  for (std::size_t j = 0; j < NV; ++j) {
    const V start = j < full ? init.template full<V>(static_cast<const T*>(nullptr), col + j * W)
                             : init.template partial<V>(static_cast<const T*>(nullptr), col + j * W, tail);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) acc[r][j] = start;
  }
  micro_kernel<T, Arch, MR, NV>(K, A + row * a_rs, a_rs, a_cs, panel, acc);
#pragma GCC unroll 8
  for (std::size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (std::size_t j = 0; j < full; ++j) epi((row + r) * N + col + j * W, acc[r][j]);
    if constexpr (tail != 0) epi.partial((row + r) * N + col + full * W, acc[r][full], tail);
  }
}

// The last M % MR rows, one instantiation per remainder.
template <class T, class Arch, std::size_t N, std::size_t R, std::size_t NV, std::size_t Width, class Init, class Epi>
inline void remainder_rows(std::size_t rows, std::size_t row, std::size_t col, std::size_t K, const T* A,
                           std::size_t a_rs, std::size_t a_cs, const T* panel, const Init& init,
                           const Epi& epi) noexcept {
  if constexpr (R > 0) {
    if (rows == R)
      tile<T, Arch, N, R, NV, Width>(row, col, K, A, a_rs, a_cs, panel, init, epi);
    else
      remainder_rows<T, Arch, N, R - 1, NV, Width>(rows, row, col, K, A, a_rs, a_cs, panel, init, epi);
  }
}

// Packs B(k, c) = B[k·b_rs + c·b_cs].
template <class T>
struct strided_packer {
  const T* B;
  std::size_t b_rs, b_cs;
  template <class Arch, std::size_t NV, std::size_t Width>
  void pack(std::size_t col, std::size_t K, T* dst) const noexcept {
    pack_panel<T, Arch, NV, Width>(K, B + col * b_cs, b_rs, b_cs, dst);
  }
};

// Packs dZ = dY ⊙ Act'(Y) (row-major K × N) and, in the same pass, writes dZ back over dY and its
// column sums to db: the activation's backward pass and the bias gradient ride on the packing.
// Act = void means dZ = dY.
template <class T, class Act, std::size_t N>
struct gradient_packer {
  T* dy;
  const T* y;
  T* db;
  template <class Arch, std::size_t NV, std::size_t Width>
  void pack(std::size_t col, std::size_t K, T* dst) const noexcept {
    using V = simd<T, Arch>;
    constexpr std::size_t W = V::size;
    constexpr std::size_t NR = NV * W;
    constexpr std::size_t full = Width / W;
    constexpr std::size_t tail = Width % W;
    V sum[NV];
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NV; ++j) sum[j] = V(T(0));
    for (std::size_t k = 0; k < K; ++k) {
      T* g = dy + k * N + col;
      const T* o = nullptr;  // y is null when Act is void (no derivative to apply)
      if constexpr (!std::is_void_v<Act>) o = y + k * N + col;
      T* d = dst + k * NR;
#pragma GCC unroll 8
      for (std::size_t j = 0; j < full; ++j) {
        V v = V::load_unaligned(g + j * W);
        if constexpr (!std::is_void_v<Act>) {
          v = v * Act::derivative(V::load_unaligned(o + j * W));
          v.store_unaligned(g + j * W);
        }
        v.store_aligned(d + j * W);
        sum[j] += v;
      }
      if constexpr (tail != 0) {
        V v = load_partial<T, Arch>(g + full * W, tail);
        if constexpr (!std::is_void_v<Act>) {
          v = v * Act::derivative(load_partial<T, Arch>(o + full * W, tail));
          store_partial(g + full * W, v, tail);
        }
        v.store_aligned(d + full * W);
        sum[full] += v;
      }
#pragma GCC unroll 8
      for (std::size_t j = full + (tail != 0); j < NV; ++j) V(T(0)).store_aligned(d + j * W);
    }
#pragma GCC unroll 8
    for (std::size_t j = 0; j < full; ++j) sum[j].store_unaligned(db + col + j * W);
    if constexpr (tail != 0) store_partial(db + col + full * W, sum[full], tail);
  }
};

// B already packed, every panel in place: the panel of column `col` starts at base + col·K (the panels
// before it are all three registers wide). See `pack_b` and `gemm_packed`.
template <class T>
struct prepacked {
  const T* base;
};

// One row against one panel, k split over S interleaved partial sums (a single row has only NV
// independent accumulators otherwise, too few to hide the FMA's latency), then summed in order.
template <class T, class Arch, std::size_t N, std::size_t NV, std::size_t Width, std::size_t S, class Init, class Epi>
inline void single_row(std::size_t col, std::size_t K, const T* a, std::size_t a_cs, const T* panel, const Init& init,
                       const Epi& epi) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t NR = NV * W;
  constexpr std::size_t full = Width / W;
  constexpr std::size_t tail = Width % W;
  V acc[S][NV];
#pragma GCC unroll 8
  for (std::size_t j = 0; j < NV; ++j) {
    acc[0][j] = j < full ? init.template full<V>(static_cast<const T*>(nullptr), col + j * W)
                         : init.template partial<V>(static_cast<const T*>(nullptr), col + j * W, tail);
#pragma GCC unroll 8
    for (std::size_t s = 1; s < S; ++s) acc[s][j] = V(T(0));
  }
  std::size_t k = 0;
  for (; k + S <= K; k += S) {
#pragma GCC unroll 8
    for (std::size_t s = 0; s < S; ++s) {
      const V ak(a[(k + s) * a_cs]);
#pragma GCC unroll 8
      for (std::size_t j = 0; j < NV; ++j)
        acc[s][j] = xsimd::fma(ak, V::load_aligned(panel + (k + s) * NR + j * W), acc[s][j]);
    }
  }
  for (; k < K; ++k) {
    const V ak(a[k * a_cs]);
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NV; ++j) acc[0][j] = xsimd::fma(ak, V::load_aligned(panel + k * NR + j * W), acc[0][j]);
  }
#pragma GCC unroll 8
  for (std::size_t j = 0; j < NV; ++j) {
#pragma GCC unroll 8
    for (std::size_t s = 1; s < S; ++s) acc[0][j] += acc[s][j];
  }
#pragma GCC unroll 8
  for (std::size_t j = 0; j < full; ++j) epi(col + j * W, acc[0][j]);
  if constexpr (tail != 0) epi.partial(col + full * W, acc[0][full], tail);
}

// One panel of Width columns starting at column `col`: pack it (unless it is packed already), then run
// every row tile over it. (`col` is a run-time value, so that every full-width panel of a product
// shares one instantiation: a wide product compiles once per panel width, not once per panel.)
template <class T, class Arch, std::size_t N, std::size_t Width, class Packer, class Init, class Epi>
inline void panel_columns(std::size_t col, std::size_t M, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs,
                          const Packer& packer, T* buffer, const Init& init, const Epi& epi) noexcept {
  constexpr std::size_t W = simd<T, Arch>::size;
  constexpr std::size_t NV = (Width + W - 1) / W;
  constexpr std::size_t MR = rows_for(NV);
  const T* panel = buffer;
  if constexpr (std::is_same_v<Packer, prepacked<T>>) {
    panel = packer.base + col * K;
    // One row (inference on one sample): eight or more chains of FMAs in flight.
    if (M == 1) return single_row<T, Arch, N, NV, Width, (8 + NV - 1) / NV>(col, K, A, a_cs, panel, init, epi);
  } else {
    packer.template pack<Arch, NV, Width>(col, K, buffer);
  }
  std::size_t row = 0;
  for (; row + MR <= M; row += MR) tile<T, Arch, N, MR, NV, Width>(row, col, K, A, a_rs, a_cs, panel, init, epi);
  remainder_rows<T, Arch, N, MR - 1, NV, Width>(M - row, row, col, K, A, a_rs, a_cs, panel, init, epi);
}

// Panels of three registers across N; the last holds what is left.
template <class T, class Arch, std::size_t N, class Packer, class Init, class Epi>
inline void panels(std::size_t M, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const Packer& packer,
                   T* buffer, const Init& init, const Epi& epi) noexcept {
  constexpr std::size_t W = simd<T, Arch>::size;
  constexpr std::size_t wide = 3 * W;
  constexpr std::size_t full = N / wide;
  constexpr std::size_t rest = N % wide;
  if constexpr (full == 1) {
    panel_columns<T, Arch, N, wide>(0, M, K, A, a_rs, a_cs, packer, buffer, init, epi);
  } else if constexpr (full > 1) {
    for (std::size_t p = 0; p < full; ++p)
      panel_columns<T, Arch, N, wide>(p * wide, M, K, A, a_rs, a_cs, packer, buffer, init, epi);
  }
  if constexpr (rest != 0) panel_columns<T, Arch, N, rest>(full * wide, M, K, A, a_rs, a_cs, packer, buffer, init, epi);
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

/// C[M×N] = init + A·B, then `epi` per register, with both operands strided:
/// A(r, k) = A[r·a_rs + k·a_cs], B(k, c) = B[k·b_rs + c·b_cs]; the epilogue receives offsets r·N + c
/// into C-shaped storage. B is packed one panel at a time into a per-thread buffer (allocated by the
/// first call that needs K·24 values, reused afterwards).
template <std::size_t N, class T, class Arch = default_arch, class Init = zero_init, class Epi = store_to<T>>
void gemm(std::size_t M, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const T* B, std::size_t b_rs,
          std::size_t b_cs, const Init& init, const Epi& epi) noexcept {
  static_assert(N > 0, "latent: gemm needs N > 0");
  detail::assume_reasonable(M);
  detail::assume_reasonable(K);
  if (M == 0) return;
  constexpr std::size_t W = simd<T, Arch>::size;
  T* buffer = detail::workspace<T>(K * 3 * W);
  detail::panels<T, Arch, N>(M, K, A, a_rs, a_cs, detail::strided_packer<T>{B, b_rs, b_cs}, buffer, init, epi);
}

/// The backward pass of a dense map z = x·W + b, y = Act(z), minus the input gradient, in one product:
/// dz = dy ⊙ Act'(y) (written back over `dy`), dW[M×N] = xᵀ·dz and db[N] = Σ_k dz[k, ·], where x is
/// K×M and dy, y are K×N, all row-major (K samples, M inputs, N outputs). `Act = void` skips the
/// derivative (dz = dy; `y` is not read). dz is formed and summed while B's panels are packed, so the
/// activation derivative and the bias gradient cost no extra pass.
template <std::size_t N, class Act, class T, class Arch = default_arch>
void weight_gradient(std::size_t M, std::size_t K, const T* x, T* dy, const T* y, T* dW, T* db) noexcept {
  static_assert(N > 0, "latent: weight_gradient needs N > 0");
  detail::assume_reasonable(M);
  detail::assume_reasonable(K);
  if (M == 0) return;
  constexpr std::size_t W = simd<T, Arch>::size;
  T* buffer = detail::workspace<T>(K * 3 * W);
  detail::panels<T, Arch, N>(M, K, x, 1, M, detail::gradient_packer<T, Act, N>{dy, y, db}, buffer, zero_init{},
                             store_to<T>{dW});
}

/// Rows [r0, r1) of dW[M×N] = xᵀ·dz, where x is K×M and dz K×N (row-major): stored, or added to what
/// dW holds when `accumulate`. A multi-threaded training step forms a dense layer's weight gradient
/// this way after all slices are done, each thread the rows it owns, slice after slice.
template <std::size_t N, class T, class Arch = default_arch>
void weight_gradient_rows(std::size_t M, std::size_t K, const T* x, const T* dz, T* dW, std::size_t r0, std::size_t r1,
                          bool accumulate) noexcept {
  static_assert(N > 0, "latent: weight_gradient_rows needs N > 0");
  if (r1 > M) r1 = M;
  if (r0 >= r1) return;
  if (accumulate)
    gemm<N, T, Arch>(r1 - r0, K, x + r0, 1, M, dz, N, 1, zero_init{}, add_to<T>{dW + r0 * N});
  else
    gemm<N, T, Arch>(r1 - r0, K, x + r0, 1, M, dz, N, 1, zero_init{}, store_to<T>{dW + r0 * N});
}

/// Values B (K × N) takes once packed for `gemm_packed`: K × N rounded up to whole registers.
template <std::size_t N, class T, class Arch = default_arch>
constexpr std::size_t packed_size(std::size_t K) noexcept {
  constexpr std::size_t W = simd<T, Arch>::size;
  return K * ((N + W - 1) / W * W);
}

/// Packs B(k, c) = B[k·b_rs + c·b_cs] (K × N) into `packed` (`packed_size<N, T, Arch>(K)` values,
/// aligned to the register) in the panels `gemm` packs one at a time: done once, a product over the
/// same B (inference with fixed weights) then skips packing.
template <std::size_t N, class T, class Arch = default_arch>
void pack_b(std::size_t K, const T* B, std::size_t b_rs, std::size_t b_cs, T* packed) noexcept {
  constexpr std::size_t W = simd<T, Arch>::size;
  constexpr std::size_t wide = 3 * W;
  constexpr std::size_t full = N / wide;
  constexpr std::size_t rest = N % wide;
  for (std::size_t p = 0; p < full; ++p)
    detail::pack_panel<T, Arch, 3, wide>(K, B + p * wide * b_cs, b_rs, b_cs, packed + p * wide * K);
  if constexpr (rest != 0)
    detail::pack_panel<T, Arch, (rest + W - 1) / W, rest>(K, B + full * wide * b_cs, b_rs, b_cs,
                                                          packed + full * wide * K);
}

/// C[M×N] = init + A·B with B packed by `pack_b` (same N, T and Arch); `epi` as for `gemm`. Allocates
/// nothing. One row takes a path of its own with the sum over k split in interleaved parts, so its
/// result may differ from the same row's in a larger product in the last bits.
template <std::size_t N, class T, class Arch = default_arch, class Init = zero_init, class Epi = store_to<T>>
void gemm_packed(std::size_t M, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const T* packed,
                 const Init& init, const Epi& epi) noexcept {
  static_assert(N > 0, "latent: gemm_packed needs N > 0");
  detail::assume_reasonable(M);
  detail::assume_reasonable(K);
  if (M == 0) return;
  detail::panels<T, Arch, N>(M, K, A, a_rs, a_cs, detail::prepacked<T>{packed}, static_cast<T*>(nullptr), init, epi);
}

/// C[M×N] = init + A·B, then `epi` per register. A(r, k) = A[r·a_rs + k·a_cs]; B is K×N row-major;
/// the epilogue receives offsets r·N + c into C-shaped storage.
template <std::size_t N, class T, class Arch = default_arch, class Init = zero_init, class Epi = store_to<T>>
void gemm_nn(std::size_t M, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const T* B, const Init& init,
             const Epi& epi) noexcept {
  static_assert(N > 0, "latent: gemm_nn needs N > 0");
  gemm<N, T, Arch>(M, K, A, a_rs, a_cs, B, N, 1, init, epi);
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

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
