#pragma once
/// \file
/// The pieces that lower a convolution onto the packed product of gemm.hpp (im2col, as Caffe and
/// oneDNN's reference path do), all with compile-time geometry:
///  - `patches<...>::gather`: one sample's C × H × W image → P rows of C·K·K values (the patch under each
///    of the P = OH × OW kernel positions; zero where the kernel overhangs the padding);
///  - `patches<...>::scatter_add`: its adjoint, rows back onto the image, overlaps summed;
///  - `to_rows`: a block of channel-first samples → rows of channels (one row per position);
///  - `channel_first_store`: the epilogue that writes a product's rows (one per position, one column per
///    channel) back in channel-first order, applying an activation on the way.
/// A Conv2D's forward pass is then gather + one product; its input gradient a product + scatter; a
/// ConvTranspose2D is the same pieces the other way round (layers/conv.hpp).

#include "latent/kernels/simd.hpp"

#include <algorithm>    // std::fill_n
#include <cstddef>      // std::size_t
#include <type_traits>  // std::is_void_v

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace latent::kernels {

/// The patches of a C × H × W image under a K × K kernel with stride S, the image padded by PT rows
/// on top and PL columns on the left (padding after is implied by the OH × OW grid of positions).
/// Row p = oh·OW + ow of the patch matrix holds, at column (c·K + ki)·K + kj, the image's value at
/// (c, oh·S + ki − PT, ow·S + kj − PL), or 0 outside the image.
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t S, std::size_t PT, std::size_t PL,
          std::size_t OH, std::size_t OW>
struct patches {
  static constexpr std::size_t positions = OH * OW;
  static constexpr std::size_t row = C * K * K;
  static constexpr std::size_t image = C * H * W;

  // The first and one-past-last kernel offsets that land inside [0, N) for output o.
  static constexpr std::size_t first_inside(std::size_t o, std::size_t pad) noexcept {
    const std::size_t start = o * S;
    return start >= pad ? 0 : pad - start;
  }
  static constexpr std::size_t last_inside(std::size_t o, std::size_t pad, std::size_t n) noexcept {
    const std::size_t start = o * S;  // kernel offset k lands on start + k − pad
    const std::size_t limit = n + pad;
    if (start >= limit) return 0;
    return limit - start < K ? limit - start : K;
  }

  /// dst[positions × row] = the patches of src[C × H × W].
  template <class T>
  static void gather(const T* src, T* dst) noexcept {
    for (std::size_t oh = 0; oh < OH; ++oh) {
      const std::size_t k0 = first_inside(oh, PT), k1 = last_inside(oh, PT, H);
      for (std::size_t ow = 0; ow < OW; ++ow) {
        const std::size_t j0 = first_inside(ow, PL), j1 = last_inside(ow, PL, W);
        T* d = dst + (oh * OW + ow) * row;
        const bool interior = k0 == 0 && k1 == K && j0 == 0 && j1 == K;
        for (std::size_t c = 0; c < C; ++c) {
          const T* s = src + c * H * W;
          T* dc = d + c * K * K;
          if (interior) {
            const T* base = s + (oh * S - PT) * W + (ow * S - PL);
#pragma GCC unroll 8
            for (std::size_t ki = 0; ki < K; ++ki)
#pragma GCC unroll 8
              for (std::size_t kj = 0; kj < K; ++kj) dc[ki * K + kj] = base[ki * W + kj];
          } else {
            for (std::size_t ki = 0; ki < K; ++ki) {
              T* dr = dc + ki * K;
              if (ki < k0 || ki >= k1) {
                std::fill_n(dr, K, T(0));
                continue;
              }
              const T* sr = s + (oh * S + ki - PT) * W;
              for (std::size_t kj = 0; kj < K; ++kj) dr[kj] = kj >= j0 && kj < j1 ? sr[ow * S + kj - PL] : T(0);
            }
          }
        }
      }
    }
  }

  /// dst[C × H × W] += the adjoint of `gather` applied to rows[positions × row].
  template <class T>
  static void scatter_add(const T* rows, T* dst) noexcept {
    for (std::size_t oh = 0; oh < OH; ++oh) {
      const std::size_t k0 = first_inside(oh, PT), k1 = last_inside(oh, PT, H);
      for (std::size_t ow = 0; ow < OW; ++ow) {
        const std::size_t j0 = first_inside(ow, PL), j1 = last_inside(ow, PL, W);
        const T* r = rows + (oh * OW + ow) * row;
        const bool interior = k0 == 0 && k1 == K && j0 == 0 && j1 == K;
        for (std::size_t c = 0; c < C; ++c) {
          T* s = dst + c * H * W;
          const T* rc = r + c * K * K;
          if (interior) {
            T* base = s + (oh * S - PT) * W + (ow * S - PL);
#pragma GCC unroll 8
            for (std::size_t ki = 0; ki < K; ++ki)
#pragma GCC unroll 8
              for (std::size_t kj = 0; kj < K; ++kj) base[ki * W + kj] += rc[ki * K + kj];
          } else {
            for (std::size_t ki = k0; ki < k1; ++ki) {
              T* sr = s + (oh * S + ki - PT) * W;
              for (std::size_t kj = j0; kj < j1; ++kj) sr[ow * S + kj - PL] += rc[ki * K + kj];
            }
          }
        }
      }
    }
  }
};

/// The same patches transposed: row (c·K + ki)·K + kj of `dst` (rows × positions) holds that kernel
/// offset's value at every position p = oh·OW + ow (zero outside the image). The layout for products
/// whose columns are the positions (few channels, many positions).
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t S, std::size_t PT, std::size_t PL,
          std::size_t OH, std::size_t OW, class T>
void gather_transposed(const T* src, T* dst) noexcept {
  using g = patches<C, H, W, K, S, PT, PL, OH, OW>;
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t ki = 0; ki < K; ++ki)
      for (std::size_t kj = 0; kj < K; ++kj) {
        T* d = dst + ((c * K + ki) * K + kj) * g::positions;
        for (std::size_t oh = 0; oh < OH; ++oh) {
          T* dr = d + oh * OW;
          const std::size_t start = oh * S + ki;  // the image row plus PT
          if (start < PT || start - PT >= H) {
            std::fill_n(dr, OW, T(0));
            continue;
          }
          const T* sr = src + (c * H + start - PT) * W;
          for (std::size_t ow = 0; ow < OW; ++ow) {
            const std::size_t col = ow * S + kj;
            dr[ow] = col >= PL && col - PL < W ? sr[col - PL] : T(0);
          }
        }
      }
}

/// dst[C × H × W] += the adjoint of `gather_transposed` applied to rows[C·K·K × positions].
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t S, std::size_t PT, std::size_t PL,
          std::size_t OH, std::size_t OW, class T>
void scatter_add_transposed(const T* rows, T* dst) noexcept {
  using g = patches<C, H, W, K, S, PT, PL, OH, OW>;
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t ki = 0; ki < K; ++ki)
      for (std::size_t kj = 0; kj < K; ++kj) {
        const T* r = rows + ((c * K + ki) * K + kj) * g::positions;
        // The positions whose column lands inside the image: ow in [o0, o1).
        std::size_t o0 = 0;
        while (o0 < OW && o0 * S + kj < PL) ++o0;
        std::size_t o1 = o0;
        while (o1 < OW && o1 * S + kj - PL < W) ++o1;
        for (std::size_t oh = 0; oh < OH; ++oh) {
          const std::size_t start = oh * S + ki;
          if (start < PT || start - PT >= H) continue;
          if (o0 >= o1) continue;
          // Output ow lands on image column ow·S + kj − PL, ≥ 0 from o0 on.
          T* dr = dst + (c * H + start - PT) * W + (o0 * S + kj - PL);
          const T* rr = r + oh * OW + o0;
          const std::size_t count = o1 - o0;
          if constexpr (S == 1) {
            for (std::size_t k = 0; k < count; ++k) dr[k] += rr[k];
          } else {
            for (std::size_t k = 0; k < count; ++k) dr[k * S] += rr[k];
          }
        }
      }
}

/// rows[(b·P + p)·C + c] = src[b·C·P + c·P + p] for `count` samples of C × P values (channel-first to
/// one row of channels per position).
template <std::size_t C, std::size_t P, class T>
void to_rows(std::size_t count, const T* src, T* rows) noexcept {
  for (std::size_t b = 0; b < count; ++b) {
    const T* s = src + b * C * P;
    T* r = rows + b * P * C;
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t p = 0; p < P; ++p) r[p * C + c] = s[c * P + p];
  }
}

/// Epilogue of a product whose row r = b·P + p (sample b, position p) and column c (a channel) goes to
/// out[b·N·P + c·P + p], after `Act::apply` (void: none). N is the product's width.
template <class Act, class T, std::size_t N, std::size_t P>
struct channel_first_store {
  T* out;
  template <class V>
  void operator()(std::size_t offset, const V& v) const noexcept {
    write(offset, v, V::size);
  }
  template <class V>
  void partial(std::size_t offset, const V& v, std::size_t count) const noexcept {
    write(offset, v, count);
  }

 private:
  template <class V>
  void write(std::size_t offset, const V& v, std::size_t count) const noexcept {
    alignas(64) T lanes[V::size];
    if constexpr (std::is_void_v<Act>)
      v.store_aligned(lanes);
    else
      Act::apply(v).store_aligned(lanes);
    const std::size_t r = offset / N, c = offset % N;
    const std::size_t b = r / P, p = r % P;
    T* o = out + b * N * P + c * P + p;
    for (std::size_t l = 0; l < count; ++l) o[l * P] = lanes[l];
  }
};

/// Epilogue of a product with N columns whose row r is one output channel: out[r·N + c] = Act(acc + bias[r]).
template <class Act, class T, std::size_t N>
struct row_bias_store {
  T* out;
  const T* bias;
  template <class V>
  void operator()(std::size_t offset, const V& v) const noexcept {
    Act::apply(v + V(bias[offset / N])).store_unaligned(out + offset);
  }
  template <class V>
  void partial(std::size_t offset, const V& v, std::size_t count) const noexcept {
    store_partial(out + offset, Act::apply(v + V(bias[offset / N])), count);
  }
};

/// Epilogue that writes a product's R × N result transposed: out[c·R + r] = acc(r, c), or adds it
/// (`Add`). (A weight gradient formed as its transpose, for a width that fills registers badly.)
template <bool Add, class T, std::size_t N, std::size_t R>
struct transposed_store {
  T* out;
  template <class V>
  void operator()(std::size_t offset, const V& v) const noexcept {
    write(offset, v, V::size);
  }
  template <class V>
  void partial(std::size_t offset, const V& v, std::size_t count) const noexcept {
    write(offset, v, count);
  }

 private:
  template <class V>
  void write(std::size_t offset, const V& v, std::size_t count) const noexcept {
    alignas(64) T lanes[V::size];
    v.store_aligned(lanes);
    const std::size_t r = offset / N, c = offset % N;
    T* o = out + c * R + r;
    for (std::size_t l = 0; l < count; ++l) {
      if constexpr (Add)
        o[l * R] += lanes[l];
      else
        o[l * R] = lanes[l];
    }
  }
};

/// True when a product N columns wide wastes much of its registers (N < 16): the convolutions then
/// compute the transposed product, whose columns are the kernel positions.
constexpr bool narrow_width(std::size_t n) noexcept { return n < 16; }

/// out[f] (+)= Σ over `count` samples and P positions of x[b·F·P + f·P + p] (channel-first sums: the
/// bias gradient of a convolution).
template <std::size_t F, std::size_t P, class T, class Arch = default_arch>
void channel_sums(std::size_t count, const T* x, T* out, bool accumulate) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  for (std::size_t f = 0; f < F; ++f) {
    V s0(T(0)), s1(T(0));
    for (std::size_t b = 0; b < count; ++b) {
      const T* v = x + b * F * P + f * P;
      std::size_t p = 0;
      for (; p + 2 * W <= P; p += 2 * W) {
        s0 += V::load_unaligned(v + p);
        s1 += V::load_unaligned(v + p + W);
      }
      for (; p + W <= P; p += W) s0 += V::load_unaligned(v + p);
      if (p < P) s1 += load_partial<T, Arch>(v + p, P - p);
    }
    const T s = xsimd::hadd(s0 + s1);
    out[f] = accumulate ? out[f] + s : s;
  }
}

/// Each of `count` samples' F planes of P values set to bias[f].
template <std::size_t F, std::size_t P, class T>
void fill_planes(std::size_t count, const T* bias, T* out) noexcept {
  for (std::size_t b = 0; b < count; ++b)
    for (std::size_t f = 0; f < F; ++f) std::fill_n(out + b * F * P + f * P, P, bias[f]);
}

}  // namespace latent::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
