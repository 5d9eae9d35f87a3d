#pragma once
/// \file
/// The pieces that lower a convolution onto the packed product of gemm.hpp (im2col, as Caffe and
/// oneDNN's reference path do), all with compile-time geometry:
///  - `patches<...>::gather`: one sample's C × H × W image → P rows of C·K·K values (the patch under each
///    of the P = OH × OW kernel positions; zero where the kernel overhangs the padding);
///  - `patches<...>::scatter_add`: its adjoint, rows back onto the image, overlaps summed;
///  - `patches<...>::gather_channels_last` and `sum_channels_last`: the same two for rows whose columns
///    hold the channels fastest (weights reordered by `filters_last`), vectorised across channels;
///  - `to_rows`: a block of channel-first samples → rows of channels (one row per position);
///  - `channel_first_store`: the epilogue that writes a product's rows (one per position, one column per
///    channel) back in channel-first order, applying an activation on the way.
/// A Conv2D's forward pass is then gather + one product; its input gradient a product + scatter; a
/// ConvTranspose2D is the same pieces the other way round (layers/conv.hpp).

#include "latent/kernels/gemm.hpp"  // detail::transpose_8x8
#include "latent/kernels/simd.hpp"

#include <algorithm>    // std::copy_n, std::fill_n, std::min
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uintptr_t: the aligned 8 × 8 transposes of to_rows
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

  /// `gather` from an image stored channels last, src[(h·W + w)·C + c], into rows whose columns are
  /// ordered channel fastest, (ki·K + kj)·C + c: each tap is then one contiguous copy of C values.
  template <class T>
  static void gather_channels_last(const T* src, T* dst) noexcept {
    for (std::size_t oh = 0; oh < OH; ++oh) {
      const std::size_t k0 = first_inside(oh, PT), k1 = last_inside(oh, PT, H);
      for (std::size_t ow = 0; ow < OW; ++ow) {
        const std::size_t j0 = first_inside(ow, PL), j1 = last_inside(ow, PL, W);
        T* d = dst + (oh * OW + ow) * row;
        for (std::size_t ki = 0; ki < K; ++ki)
          for (std::size_t kj = 0; kj < K; ++kj) {
            T* dk = d + (ki * K + kj) * C;
            if (ki >= k0 && ki < k1 && kj >= j0 && kj < j1)
              std::copy_n(src + ((oh * S + ki - PT) * W + (ow * S + kj - PL)) * C, C, dk);
            else
              std::fill_n(dk, C, T(0));
          }
      }
    }
  }

  // The kernel taps that land on image row (or column) i: at most ceil(K / S) of them, as pairs (output
  // row or column o, kernel offset k) in ascending o, the order in which `scatter_add` adds them.
  struct taps {
    std::size_t count = 0;
    std::size_t out[K] = {};
    std::size_t offset[K] = {};
  };
  template <std::size_t N, std::size_t On, std::size_t Pad>
  struct tap_table {
    taps t[N];
    constexpr tap_table() noexcept {
      for (std::size_t i = 0; i < N; ++i)
        for (std::size_t o = 0; o < On; ++o)
          if (i + Pad >= o * S && i + Pad - o * S < K) {
            taps& e = t[i];
            e.out[e.count] = o;
            e.offset[e.count] = i + Pad - o * S;
            ++e.count;
          }
    }
  };
  static constexpr tap_table<H, OH, PT> row_taps{};
  static constexpr tap_table<W, OW, PL> col_taps{};

  /// dst[C × H × W] = Act(bias[c] + the adjoint of `gather` applied to rows[positions × row]) (no bias:
  /// nullptr; no activation: void) for rows
  /// whose columns are ordered channel fastest, (ki·K + kj)·C + c, as a Conv2D's filter-major rows are
  /// not. Each image value is summed once, in registers across the channels, in the order
  /// `scatter_add` adds its terms (ascending positions, after the bias), so the result is the same
  /// bit for bit as fill + `scatter_add` + activation, without reading and writing the image per term.
  template <class Act, class T, class Arch = default_arch>
  static void sum_channels_last(const T* rows, const T* bias, T* dst) noexcept {
    using V = simd<T, Arch>;
    constexpr std::size_t L = V::size;
    constexpr std::size_t full = C / L, tail = C % L;
    // Up to four registers of channels at a time, held across all the terms of one image value.
    constexpr std::size_t group = 4;
    alignas(64) T lanes[group * L];
    for (std::size_t h = 0; h < H; ++h) {
      const taps& th = row_taps.t[h];
      for (std::size_t w = 0; w < W; ++w) {
        const taps& tw = col_taps.t[w];
        T* o = dst + h * W + w;
        for (std::size_t c0 = 0; c0 < C; c0 += group * L) {
          const std::size_t nv = std::min(group, (C - c0 + L - 1) / L);
          V acc[group];
#pragma GCC unroll 4
          for (std::size_t v = 0; v < group; ++v)
            if (v < nv) {
              const std::size_t c = c0 + v * L;
              if (bias == nullptr)
                acc[v] = V(T(0));
              else
                acc[v] =
                    tail != 0 && c == full * L ? load_partial<T, Arch>(bias + c, tail) : V::load_unaligned(bias + c);
            }
          for (std::size_t a = 0; a < th.count; ++a)
            for (std::size_t b = 0; b < tw.count; ++b) {
              const T* r = rows + (th.out[a] * OW + tw.out[b]) * row + (th.offset[a] * K + tw.offset[b]) * C;
#pragma GCC unroll 4
              for (std::size_t v = 0; v < group; ++v)
                if (v < nv) {
                  const std::size_t c = c0 + v * L;
                  acc[v] += tail != 0 && c == full * L ? load_partial<T, Arch>(r + c, tail) : V::load_unaligned(r + c);
                }
            }
#pragma GCC unroll 4
          for (std::size_t v = 0; v < group; ++v)
            if (v < nv) {
              if constexpr (std::is_void_v<Act>)
                acc[v].store_aligned(lanes + v * L);
              else
                Act::apply(acc[v]).store_aligned(lanes + v * L);
            }
          const std::size_t n = std::min(group * L, C - c0);
          for (std::size_t l = 0; l < n; ++l) o[(c0 + l) * H * W] = lanes[l];
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

/// dst[(r·KK + k)·F + f] = src[(r·F + f)·KK + k] for R rows of F × KK weights: a transposed
/// convolution's [C][F][K·K] weights with the filters fastest, so that its product's rows come out
/// channel fastest (`patches::sum_channels_last`).
template <std::size_t R, std::size_t F, std::size_t KK, class T>
void filters_last(const T* src, T* dst) noexcept {
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t k = 0; k < KK; ++k) dst[(r * KK + k) * F + f] = src[(r * F + f) * KK + k];
}

/// The inverse of `filters_last`: dst[(r·F + f)·KK + k] = src[(r·KK + k)·F + f].
template <std::size_t R, std::size_t F, std::size_t KK, class T>
void filters_first(const T* src, T* dst) noexcept {
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t k = 0; k < KK; ++k) dst[(r * F + f) * KK + k] = src[(r * KK + k) * F + f];
}

/// rows[(b·P + p)·C + c] = src[b·C·P + c·P + p] for `count` samples of C × P values (channel-first to
/// one row of channels per position).
template <std::size_t C, std::size_t P, class T>
void to_rows(std::size_t count, const T* src, T* rows) noexcept {
  for (std::size_t b = 0; b < count; ++b) {
    const T* s = src + b * C * P;
    T* r = rows + b * P * C;
    std::size_t p0 = 0;
#if defined(__AVX__)
    // 8 × 8 blocks through registers (gemm.hpp's transpose, whose stores are aligned: rows of a
    // multiple of 8 channels from an aligned start, as the layers' workspaces are): 4.1 M → 1.5 M
    // instructions for the 64 → 32 transposed layer's input at batch 128.
    if constexpr (std::is_same_v<T, float> && C % 8 == 0 && P >= 8)
      if (reinterpret_cast<std::uintptr_t>(r) % 32 == 0) {
        for (; p0 + 8 <= P; p0 += 8)
          for (std::size_t c = 0; c < C; c += 8) detail::transpose_8x8(s + c * P + p0, P, r + p0 * C + c, C);
      }
#endif
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t p = p0; p < P; ++p) r[p * C + c] = s[c * P + p];
  }
}

/// The start of a convolution's backward pass, one sample at a time: dz = dy ⊙ Act'(y) for `count`
/// samples of C × P values (Act = void: dz = dy, y unread) into `plane` (C × P values, which stay in
/// L2), their sums into db[c] (or, `accumulate`, added to db[c]), then `to_rows` of the plane into
/// rows[(b·P + p)·C + c], the rows of channels the products take. This replaces
/// multiply_by_derivative + channel_sums over the whole batch and to_rows per block: dy and y are
/// read from memory once, and dy is not written back.
template <class Act, std::size_t C, std::size_t P, class T, class Arch = default_arch>
void gradient_rows(std::size_t count, const T* dy, const T* y, T* plane, T* rows, T* db, bool accumulate) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t L = V::size;
  if (!accumulate) std::fill_n(db, C, T(0));
  for (std::size_t b = 0; b < count; ++b) {
    const T* g = dy + b * C * P;
    const T* o = nullptr;  // y may be null when Act is void
    if constexpr (!std::is_void_v<Act>) o = y + b * C * P;
    for (std::size_t c = 0; c < C; ++c) {
      V s0(T(0)), s1(T(0));
      std::size_t p = 0;
      auto dz = [&](std::size_t i) {
        V z = V::load_unaligned(g + c * P + i);
        if constexpr (!std::is_void_v<Act>) z = z * Act::derivative(V::load_unaligned(o + c * P + i));
        z.store_unaligned(plane + c * P + i);
        return z;
      };
      for (; p + 2 * L <= P; p += 2 * L) {
        s0 += dz(p);
        s1 += dz(p + L);
      }
      for (; p + L <= P; p += L) s0 += dz(p);
      T tail = T(0);
      for (; p < P; ++p) {
        T z = g[c * P + p];
        if constexpr (!std::is_void_v<Act>) z *= Act::derivative(o[c * P + p]);
        plane[c * P + p] = z;
        tail += z;
      }
      db[c] += xsimd::hadd(s0 + s1) + tail;
    }
    to_rows<C, P>(1, plane, rows + b * P * C);
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
