#pragma once
/// \file
/// Direct kernels for the convolutions whose im2col lowering has products only K·K values deep or
/// wide: a transposed convolution with one output channel at stride 1 (a decoder's last layer,
/// `ConvTranspose2D<1, K, 1, ...>`: `single_filter_transposed`) and a convolution with one input
/// channel (an encoder's first layer on grey images, `Conv2D<F, K, S, ...>`: `single_channel`).
///
/// With S = 1 the transposed layer is a correlation: for a C × H × W input x, weights w[c][ki][kj] and
/// padding PT, PL before, y[oh][ow] = b + Σ_c Σ_{ki,kj} w[c][ki][kj] · x[c][oh + PT − ki][ow + PL − kj]
/// (zero outside x); the forward pass reads x through masked windows, each load serving K output rows.
/// With z = dL/dy and zp its copy padded by PT rows and PL columns before,
/// dL/dw[c][ki][kj] = Σ_{ih,iw} x[c][ih][iw] · zp[ih + ki][iw + kj]: it reads rows of zp shifted by
/// kj, so K copies of it, copy kj shifted left by kj columns, make every such load an aligned one (a
/// load that straddles cache lines costs two); they stay in L1 (3 × 30 rows of 32 floats for the
/// 32 → 1 layer of 28 × 28), and each sum is held in registers over all of a sample's rows, 16
/// (AVX-512) or 8 (AVX2) columns at a time. (The input gradient stays a lowered product: a direct
/// kernel measured slower, its 12.8 MB of row stores at batch 128 straddling cache lines.)

#include "latent/kernels/simd.hpp"

#include <algorithm>    // std::fill_n, std::min
#include <cstddef>      // std::size_t, std::ptrdiff_t
#include <type_traits>  // std::is_void_v

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace latent::kernels {

namespace detail {

// Stores `count` lanes of a row of a plane, rows `width` apart. Inside the plane a whole register is
// stored where its extra lanes land on the next row only, which is stored after this one; the last
// row (and a row narrower than half a register) goes through a mask, which costs more than a whole
// store on AMD's Zen 4 and 5.
template <class T, class V>
void store_row_part(T* dst, const V& v, std::size_t count, std::size_t width, bool last_row) noexcept {
  if (count == V::size || (!last_row && V::size - count <= width))
    v.store_unaligned(dst);
  else
    store_partial(dst, v, count);
}

// out[k] = the sum of the lanes of the nv registers at sums + k·nv·L, for k < count: partial sums
// kept register-wide across samples, reduced once at the end.
template <class T, class Arch>
void reduce_registers(const T* sums, std::size_t count, std::size_t nv, T* out) noexcept {
  using V = simd<T, Arch>;
  for (std::size_t k = 0; k < count; ++k) {
    V t(T(0));
    for (std::size_t v = 0; v < nv; ++v) t += V::load_aligned(sums + (k * nv + v) * V::size);
    out[k] = xsimd::hadd(t);
  }
}

}  // namespace detail

/// The forward pass and both gradients of a transposed convolution with one output channel and
/// stride 1 on a C × H × W input (kernel K, padding PT and PL before, output OH × OW), by direct
/// kernels (this file's \file comment gives the sums); `ConvTranspose2D` uses it for `F = 1, S = 1`.
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t PT, std::size_t PL, std::size_t OH,
          std::size_t OW>
struct single_filter_transposed {
  static constexpr std::size_t in_size = C * H * W, out_size = OH * OW;

  template <class T, class Arch>
  struct sizes {
    static constexpr std::size_t L = simd<T, Arch>::size;
    // Backward: K shifted copies of the padded gradient, zs_j[r][q] = z[r − PT][q + j − PL], over the
    // input grid (rows H, registers NG across).
    static constexpr std::size_t NG = (W + L - 1) / L;
    static constexpr std::size_t ZR = H + K - 1, ZW = NG * L;
    static constexpr std::size_t KP = K * K * NG <= 20 ? K : 1;  // kernel rows a pass (dw)
    static constexpr std::size_t OWR = (OW + L - 1) / L * L;     // one row of dz
    static constexpr std::size_t workspace = K * ZR * ZW + OWR + C * K * K * NG * L;
  };

  /// y[n × OH·OW] = Act(bias + the layer applied to x[n × C·H·W]) (Act = void: none), read straight
  /// from x: each tap's 16 (or 8) columns come by one load whose lanes outside the row are masked to
  /// zero, and each load serves the K output rows it reaches.
  template <class Act, class T, class Arch = default_arch>
  static void forward(std::size_t n, const T* w, T bias, const T* x, T* y) noexcept {
    using V = simd<T, Arch>;
    constexpr std::size_t L = V::size, NV = (OW + L - 1) / L;
    constexpr std::size_t RB = NV >= 14 ? 1 : 14 / NV < OH ? 14 / NV : OH;  // output rows a block
    for (std::size_t s = 0; s < n; ++s) {
      const T* xs = x + s * in_size;
      T* ys = y + s * out_size;
      for (std::size_t oh0 = 0; oh0 < OH; oh0 += RB) {
        V acc[RB][NV];
#pragma GCC unroll 8
        for (std::size_t r = 0; r < RB; ++r)
#pragma GCC unroll 8
          for (std::size_t v = 0; v < NV; ++v) acc[r][v] = V(bias);
        for (std::size_t c = 0; c < C; ++c) {
          const T* wc = w + c * K * K;
          // Input row ih = oh + PT − ki feeds output row oh; the block needs ih in [oh0 + PT − K + 1, oh0 + RB + PT).
#pragma GCC unroll 16
          for (std::size_t t = 0; t < RB + K - 1; ++t) {
            const std::ptrdiff_t ih = std::ptrdiff_t(oh0 + t + PT) - std::ptrdiff_t(K - 1);
            if (ih < 0 || ih >= std::ptrdiff_t(H)) continue;
            const T* row = xs + (c * H + std::size_t(ih)) * W;
#pragma GCC unroll 8
            for (std::size_t kj = 0; kj < K; ++kj)
#pragma GCC unroll 8
              for (std::size_t v = 0; v < NV; ++v) {
                const V win = load_window<T, Arch>(row, std::ptrdiff_t(v * L + PL) - std::ptrdiff_t(kj));
                // Output row oh0 + r = ih + ki − PT = oh0 + t − (K − 1) + ki.
#pragma GCC unroll 8
                for (std::size_t ki = 0; ki < K; ++ki)
                  if (t + ki >= K - 1 && t + ki - (K - 1) < RB) {
                    const std::size_t r = t + ki - (K - 1);
                    acc[r][v] = xsimd::fma(V(wc[ki * K + kj]), win, acc[r][v]);
                  }
              }
          }
        }
#pragma GCC unroll 8
        for (std::size_t r = 0; r < RB; ++r) {
          if (oh0 + r >= OH) break;
#pragma GCC unroll 8
          for (std::size_t v = 0; v < NV; ++v) {
            V a = acc[r][v];
            if constexpr (!std::is_void_v<Act>) a = Act::apply(a);
            detail::store_row_part(ys + (oh0 + r) * OW + v * L, a, std::min(L, OW - v * L), OW, oh0 + r + 1 == OH);
          }
        }
      }
    }
  }

  /// From dy (n × OH·OW; dz = dy ⊙ Act'(y), Act = void: dz = dy): dw (C·K·K values) and db (one
  /// value), both overwritten. `work` holds sizes<T, Arch>::workspace values.
  template <class Act, class T, class Arch = default_arch>
  static void weight_gradient(std::size_t n, const T* x, const T* y, const T* dy, T* dw, T* db, T* work) noexcept {
    using V = simd<T, Arch>;
    using S = sizes<T, Arch>;
    constexpr std::size_t L = S::L, NG = S::NG, ZR = S::ZR, ZW = S::ZW, KP = S::KP;
    T* zp = work;
    T* zrow = work + K * ZR * ZW;
    T* acc_w = zrow + S::OWR;  // C × K·K × NG registers of partial weight-gradient sums
    std::fill_n(zp, K * ZR * ZW, T(0));
    std::fill_n(acc_w, C * K * K * NG * L, T(0));
    V bsum(T(0));
    for (std::size_t s = 0; s < n; ++s) {
      const T* g = dy + s * out_size;
      const T* o = nullptr;  // y may be null when Act is void
      if constexpr (!std::is_void_v<Act>) o = y + s * out_size;
      for (std::size_t oh = 0; oh < OH; ++oh) {
        // The row of dz (load_partial zeroes the lanes past OW), then into each copy: zs_j[oh + PT][q] = dz[oh][q + j −
        // PL].
        for (std::size_t ow = 0; ow < OW; ow += L) {
          const std::size_t m = std::min(L, OW - ow);
          V z = load_partial<T, Arch>(g + oh * OW + ow, m);
          if constexpr (!std::is_void_v<Act>) z = z * Act::derivative(load_partial<T, Arch>(o + oh * OW + ow, m));
          z.store_aligned(zrow + ow);
          bsum += z;
        }
        for (std::size_t j = 0; j < K; ++j) {
          const std::ptrdiff_t shift = std::ptrdiff_t(j) - std::ptrdiff_t(PL);  // ow = q + shift
          const std::size_t o0 = shift < 0 ? 0 : std::size_t(shift);
          const std::ptrdiff_t end = std::min<std::ptrdiff_t>(std::ptrdiff_t(OW), std::ptrdiff_t(ZW) + shift);
          if (end <= std::ptrdiff_t(o0)) continue;
          copy_row<T, Arch>(zrow + o0, std::size_t(end) - o0,
                            zp + (j * ZR + oh + PT) * ZW + std::size_t(std::ptrdiff_t(o0) - shift));
        }
      }
      const T* xs = x + s * in_size;
      // dw: per channel, K·K·NG registers of sums over the input rows (KP kernel rows a pass).
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t i0 = 0; i0 < K; i0 += KP) {
          V acc[KP][K][NG];
          T* saved = acc_w + (c * K * K + i0 * K) * NG * L;
#pragma GCC unroll 8
          for (std::size_t i = 0; i < KP; ++i)
#pragma GCC unroll 8
            for (std::size_t j = 0; j < K; ++j)
#pragma GCC unroll 8
              for (std::size_t v = 0; v < NG; ++v) acc[i][j][v] = V::load_aligned(saved + ((i * K + j) * NG + v) * L);
          for (std::size_t ih = 0; ih < H; ++ih) {
            V xv[NG];
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NG; ++v)
              xv[v] = (v + 1) * L <= W ? V::load_unaligned(xs + (c * H + ih) * W + v * L)
                                       : load_partial<T, Arch>(xs + (c * H + ih) * W + v * L, W - v * L);
#pragma GCC unroll 8
            for (std::size_t i = 0; i < KP; ++i)
#pragma GCC unroll 8
              for (std::size_t j = 0; j < K; ++j)
#pragma GCC unroll 8
                for (std::size_t v = 0; v < NG; ++v)
                  acc[i][j][v] =
                      xsimd::fma(xv[v], V::load_aligned(zp + (j * ZR + ih + i0 + i) * ZW + v * L), acc[i][j][v]);
          }
#pragma GCC unroll 8
          for (std::size_t i = 0; i < KP; ++i)
#pragma GCC unroll 8
            for (std::size_t j = 0; j < K; ++j)
#pragma GCC unroll 8
              for (std::size_t v = 0; v < NG; ++v) acc[i][j][v].store_aligned(saved + ((i * K + j) * NG + v) * L);
        }
    }
    detail::reduce_registers<T, Arch>(acc_w, C * K * K, NG, dw);
    *db = xsimd::hadd(bsum);
  }

 private:
  // Lanes l of row[start + l] for 0 ≤ start + l < W, zero elsewhere (masked: no memory outside the
  // row is touched, so start may be negative).
  template <class T, class Arch>
  static simd<T, Arch> load_window(const T* row, std::ptrdiff_t start) noexcept {
    using V = simd<T, Arch>;
    constexpr std::ptrdiff_t L = std::ptrdiff_t(V::size), Wd = std::ptrdiff_t(W);
    const std::ptrdiff_t lo = start < 0 ? -start : 0, hi = Wd - start < L ? Wd - start : L;
    if (lo == 0 && hi == L) return V::load_unaligned(row + start);
    if (hi <= lo) return V(T(0));
#if defined(__AVX512F__)
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      const unsigned mask = ((1u << hi) - 1u) & ~((1u << lo) - 1u);
      if constexpr (std::is_same_v<T, float>)
        return _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), row + start);
      else if constexpr (std::is_same_v<T, double>)
        return _mm512_maskz_loadu_pd(static_cast<__mmask8>(mask), row + start);
    }
#endif
    if (lo == 0) return load_partial<T, Arch>(row + start, std::size_t(hi));
    alignas(64) T lanes[V::size] = {};
    for (std::ptrdiff_t l = lo; l < hi; ++l) lanes[l] = row[start + l];
    return V::load_aligned(lanes);
  }

  // dst[0, count) = src[0, count) in registers (a library call per row costs more than the row).
  template <class T, class Arch>
  static void copy_row(const T* src, std::size_t count, T* dst) noexcept {
    using V = simd<T, Arch>;
    constexpr std::size_t L = V::size;
    std::size_t i = 0;
    for (; i + L <= count; i += L) V::load_unaligned(src + i).store_unaligned(dst + i);
    if (i < count) store_partial(dst + i, load_partial<T, Arch>(src + i, count - i), count - i);
  }
};

/// Direct kernels for a convolution with one input channel (an encoder's first layer,
/// `Conv2D<F, K, S, ...>` on grey images), where the im2col lowering has a product only K·K deep whose
/// epilogue scatters every register lane by lane into the channel-first output.
///
/// y[f][oh][ow] = b[f] + Σ_{ki,kj} w[f][ki][kj] · x[oh·S + ki − PT][ow·S + kj − PL] (zero outside x).
/// The image is copied once per sample into S phase planes, xph_φ[r][q] = x[r − PT][q·S + φ − PL]
/// (zero outside), so that the tap (ki, kj) of output row oh is the contiguous row
/// xph_{kj mod S}[oh·S + ki][kj div S + ow] for every ow: one output row's K·K taps are loaded once
/// (16 columns at a time with AVX-512) and serve all F filters, each summed in a register and stored
/// straight into its channel-first row. The weight gradient reads the same planes:
/// dw[f][ki][kj] = Σ over samples, oh, ow of dz[f][oh][ow] · xph_{kj mod S}[oh·S + ki][kj div S + ow].
template <std::size_t F, std::size_t H, std::size_t W, std::size_t K, std::size_t S, std::size_t PT, std::size_t PL,
          std::size_t OH, std::size_t OW>
struct single_channel {
  static constexpr std::size_t in_size = H * W, out_size = F * OH * OW, KK = K * K;

  template <class T, class Arch>
  struct sizes {
    static constexpr std::size_t L = simd<T, Arch>::size;
    static constexpr std::size_t NV = (OW + L - 1) / L;                    // registers across an output row
    static constexpr std::size_t XR = (OH - 1) * S + K;                    // rows of a phase plane
    static constexpr std::size_t XQ = NV * L + ((K - 1) / S + L) / L * L;  // columns of a phase plane
    static constexpr std::size_t FB = 8;                                   // filters a block (forward)
    static constexpr std::size_t GB = 2;                                   // filters a block (dw)
    static constexpr std::size_t planes = S * XR * XQ;
    static constexpr std::size_t workspace = planes + (F * KK * NV + F) * L;
  };

  /// y[n × F·OH·OW] = Act(b + the convolution of x[n × H·W]) (Act = void: none); `work` holds
  /// sizes<T, Arch>::workspace values.
  template <class Act, class T, class Arch = default_arch>
  static void forward(std::size_t n, const T* w, const T* b, const T* x, T* y, T* work) noexcept {
    using V = simd<T, Arch>;
    using Z = sizes<T, Arch>;
    constexpr std::size_t L = Z::L, NV = Z::NV, XR = Z::XR, XQ = Z::XQ, FB = Z::FB;
    T* xph = work;
    std::fill_n(xph, Z::planes, T(0));
    for (std::size_t s = 0; s < n; ++s) {
      fill_planes<T, Arch>(x + s * in_size, xph);
      T* ys = y + s * out_size;
      for (std::size_t oh = 0; oh < OH; ++oh)
        for (std::size_t v = 0; v < NV; ++v) {
          V tap[KK];
#pragma GCC unroll 16
          for (std::size_t ki = 0; ki < K; ++ki)
#pragma GCC unroll 16
            for (std::size_t kj = 0; kj < K; ++kj)
              tap[ki * K + kj] = V::load_unaligned(xph + ((kj % S) * XR + oh * S + ki) * XQ + kj / S + v * L);
          const std::size_t count = std::min(L, OW - v * L);
          const bool last = oh + 1 == OH;
          std::size_t f0 = 0;
          for (; f0 + FB <= F; f0 += FB)
            filter_block<FB, Act, T, Arch>(f0, w, b, tap, ys + oh * OW + v * L, count, last);
          for (; f0 < F; ++f0) filter_block<1, Act, T, Arch>(f0, w, b, tap, ys + oh * OW + v * L, count, last);
        }
    }
  }

  /// dw[F × K·K] = Σ over the n samples of the correlation of dz = dy ⊙ Act'(y) (n × F·OH·OW; Act =
  /// void: dz = dy, y unread) with x, and unless db is null db[F] = Σ of dz over samples and positions
  /// (both overwritten); `work` as for `forward`.
  template <class Act, class T, class Arch = default_arch>
  static void weight_gradient(std::size_t n, const T* dy, const T* y, const T* x, T* dw, T* db, T* work) noexcept {
    using Z = sizes<T, Arch>;
    constexpr std::size_t L = Z::L, NV = Z::NV, GB = Z::GB;
    T* xph = work;
    T* sums = work + Z::planes;         // F × K·K × NV registers of partial sums
    T* bsums = sums + F * KK * NV * L;  // F registers of partial bias sums
    std::fill_n(xph, Z::planes, T(0));
    std::fill_n(sums, (F * KK * NV + F) * L, T(0));
    for (std::size_t s = 0; s < n; ++s) {
      fill_planes<T, Arch>(x + s * in_size, xph);
      const T* gs = dy + s * out_size;
      const T* ys = y + s * out_size;
      std::size_t f0 = 0;
      for (; f0 + GB <= F; f0 += GB) gradient_block<GB, Act, T, Arch>(f0, gs, ys, xph, sums, bsums);
      for (; f0 < F; ++f0) gradient_block<1, Act, T, Arch>(f0, gs, ys, xph, sums, bsums);
    }
    if (db != nullptr) detail::reduce_registers<T, Arch>(bsums, F, 1, db);
    detail::reduce_registers<T, Arch>(sums, F * KK, NV, dw);
  }

 private:
  // G filters' partial sums of dw over one sample.
  template <std::size_t G, class Act, class T, class Arch>
  static void gradient_block(std::size_t f0, const T* gs, const T* ys, const T* xph, T* sums, T* bsums) noexcept {
    using V = simd<T, Arch>;
    using Z = sizes<T, Arch>;
    constexpr std::size_t L = Z::L, NV = Z::NV, XR = Z::XR, XQ = Z::XQ;
    for (std::size_t v = 0; v < NV; ++v) {
      V acc[G][KK];
#pragma GCC unroll 8
      for (std::size_t g = 0; g < G; ++g)
#pragma GCC unroll 16
        for (std::size_t k = 0; k < KK; ++k) acc[g][k] = V::load_aligned(sums + (((f0 + g) * KK + k) * NV + v) * L);
      const std::size_t count = std::min(L, OW - v * L);
      V bias[G];
#pragma GCC unroll 8
      for (std::size_t g = 0; g < G; ++g) bias[g] = V::load_aligned(bsums + (f0 + g) * L);
      for (std::size_t oh = 0; oh < OH; ++oh) {
        V z[G];
#pragma GCC unroll 8
        for (std::size_t g = 0; g < G; ++g) {
          const std::size_t at = ((f0 + g) * OH + oh) * OW + v * L;
          z[g] = load_partial<T, Arch>(gs + at, count);  // (lanes past OW: zero)
          if constexpr (!std::is_void_v<Act>) z[g] = z[g] * Act::derivative(load_partial<T, Arch>(ys + at, count));
          bias[g] += z[g];
        }
#pragma GCC unroll 16
        for (std::size_t ki = 0; ki < K; ++ki)
#pragma GCC unroll 16
          for (std::size_t kj = 0; kj < K; ++kj) {
            const V t = V::load_unaligned(xph + ((kj % S) * XR + oh * S + ki) * XQ + kj / S + v * L);
#pragma GCC unroll 8
            for (std::size_t g = 0; g < G; ++g) acc[g][ki * K + kj] = xsimd::fma(z[g], t, acc[g][ki * K + kj]);
          }
      }
#pragma GCC unroll 8
      for (std::size_t g = 0; g < G; ++g) {
#pragma GCC unroll 16
        for (std::size_t k = 0; k < KK; ++k) acc[g][k].store_aligned(sums + (((f0 + g) * KK + k) * NV + v) * L);
        bias[g].store_aligned(bsums + (f0 + g) * L);
      }
    }
  }

  // The phase planes of one image (their padding, zeroed by the caller, is never written).
  template <class T, class Arch>
  static void fill_planes(const T* xs, T* xph) noexcept {
    constexpr std::size_t XR = sizes<T, Arch>::XR, XQ = sizes<T, Arch>::XQ;
#if defined(__AVX512F__)
    // Stride 2 in floats: 32 columns at a time split into their even and odd lanes in registers (the
    // lanes past W are zeros, stored where zeros belong; a store that would leave the row is masked).
    if constexpr (S == 2 && std::is_same_v<T, float> && std::is_base_of_v<xsimd::avx512f, Arch>) {
      const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
      // Column iw goes to plane (iw + PL) mod 2 at (iw + PL) div 2: the even lanes of a chunk starting
      // at iw0 (even) go to plane PL mod 2 from column (iw0 + PL) div 2, the odd lanes to the other
      // plane from column (iw0 + 1 + PL) div 2.
      for (std::size_t r = PT; r < XR && r - PT < H; ++r) {
        const float* src = xs + (r - PT) * W;
        for (std::size_t iw0 = 0; iw0 < W; iw0 += 32) {
          const std::size_t m = W - iw0;
          const __m512 a = m >= 16 ? _mm512_loadu_ps(src + iw0)
                                   : _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << m) - 1u), src + iw0);
          const __m512 b = m >= 32 ? _mm512_loadu_ps(src + iw0 + 16)
                           : m > 16
                               ? _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (m - 16)) - 1u), src + iw0 + 16)
                               : _mm512_setzero_ps();
          const __m512 lanes[2] = {_mm512_permutex2var_ps(a, even, b), _mm512_permutex2var_ps(a, odd, b)};
          for (std::size_t parity = 0; parity < 2; ++parity) {
            const std::size_t col = iw0 + parity + PL, q = col / 2;
            if (q >= XQ) continue;
            float* dst = xph + ((col % 2) * XR + r) * XQ + q;
            if (q + 16 <= XQ)
              _mm512_storeu_ps(dst, lanes[parity]);
            else
              _mm512_mask_storeu_ps(dst, static_cast<__mmask16>((1u << (XQ - q)) - 1u), lanes[parity]);
          }
        }
      }
      return;
    }
#endif
    for (std::size_t r = PT; r < XR && r - PT < H; ++r) {
      const T* src = xs + (r - PT) * W;
      // Column iw = q·S + φ − PL goes to plane φ = (iw + PL) mod S, column (iw + PL) div S.
      for (std::size_t iw = 0; iw < W; ++iw) {
        const std::size_t col = iw + PL, q = col / S;
        if (q < XQ) xph[((col % S) * XR + r) * XQ + q] = src[iw];
      }
    }
  }

  template <std::size_t FB, class Act, class T, class Arch>
  static void filter_block(std::size_t f0, const T* w, const T* b, const simd<T, Arch> (&tap)[KK], T* out,
                           std::size_t count, bool last) noexcept {
    using V = simd<T, Arch>;
    V acc[FB];
#pragma GCC unroll 8
    for (std::size_t g = 0; g < FB; ++g) acc[g] = V(b[f0 + g]);
#pragma GCC unroll 16
    for (std::size_t k = 0; k < KK; ++k)
#pragma GCC unroll 8
      for (std::size_t g = 0; g < FB; ++g) acc[g] = xsimd::fma(V(w[(f0 + g) * KK + k]), tap[k], acc[g]);
#pragma GCC unroll 8
    for (std::size_t g = 0; g < FB; ++g) {
      V a = acc[g];
      if constexpr (!std::is_void_v<Act>) a = Act::apply(a);
      detail::store_row_part(out + (f0 + g) * OH * OW, a, count, OW, last);
    }
  }
};

}  // namespace latent::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
