#pragma once
/// \file
/// Compile-time shapes and the arithmetic of convolutions.
///
/// A row of a shaped layer holds one sample as C × H × W values, channel-first and row-major
/// (PyTorch's NCHW order for one sample): value (c, h, w) is at c·H·W + h·W + w. A flat layer (Dense)
/// has no shape, only a width. `shape<C, H, W>` names a shape; a layer that has one says so with
/// `using out_shape = shape<...>` (and `in_shape` when its input is shaped).
///
/// Padding of a convolution, per side of a square kernel K with stride S on an input of size N:
///  - `Valid`: no padding; out = ⌊(N − K)/S⌋ + 1 (needs N ≥ K).
///  - `Same`: Keras's rule. Conv2D: out = ⌈N/S⌉, total = max((out − 1)·S + K − N, 0), `total/2`
///    (rounded down) before and the rest after, so an odd total pads one more after: for N = 28,
///    K = 3, S = 2: out 14, total 1, 0 before and 1 after. ConvTranspose2D: out = N·S, the same
///    total (max(K − S, 0)) cropped from the full (N − 1)·S + K outputs, ⌊total/2⌋ from the start.
///  - `Pad<P>` / `Pad<P, OP>`: PyTorch's `padding = P` (both sides) and, for ConvTranspose2D only,
///    `output_padding = OP` (added after, OP < S). Conv2D: out = ⌊(N + 2P − K)/S⌋ + 1.
///    ConvTranspose2D: out = (N − 1)·S − 2P + K + OP.
/// `Exact<Pad>` is `Pad` with one more rule: the stride must divide the padded extent exactly, so that
/// no input row or column is silently dropped. (It concerns Conv2D; a ConvTranspose2D drops nothing,
/// and takes `Exact<Pad>` as `Pad`.)

#include <cstddef>      // std::size_t
#include <type_traits>  // std::is_same_v

namespace latent {

/// A compile-time shape: `C` channels of `H` × `W` values, channel-first.
template <std::size_t C, std::size_t H, std::size_t W>
struct shape {
  static constexpr std::size_t channels = C, height = H, width = W, size = C * H * W;
};

/// Padding: none.
struct Valid {
  static constexpr const char* name = "Valid";
};
/// Padding: Keras's "same" (see the file comment; asymmetric when the total is odd).
struct Same {
  static constexpr const char* name = "Same";
};
/// Padding: PyTorch's explicit `padding = P` on both sides, and `output_padding = OP` for a
/// transposed convolution (0 for Conv2D).
template <std::size_t P, std::size_t OP = 0>
struct Pad {
  static constexpr std::size_t padding = P, output_padding = OP;
};
/// `Padding` with the exact-division rule: (padded extent − K) must be a multiple of the stride.
template <class Padding>
struct Exact {
  using padding_type = Padding;
};

/// What a `Seq` hands a shape head after a flat layer of width N.
template <std::size_t N>
struct flat {
  static constexpr std::size_t size = N;
};

namespace detail {

template <class T>
struct is_shape_t {
  static constexpr bool value = false;
};
template <std::size_t C, std::size_t H, std::size_t W>
struct is_shape_t<shape<C, H, W>> {
  static constexpr bool value = true;
};
/// True for `shape<C, H, W>`.
template <class T>
inline constexpr bool is_shape_v = is_shape_t<T>::value;

/// A layer's output shape when it has one (`using out_shape = shape<...>`).
template <class L>
concept shaped_output = requires { typename L::out_shape; } && is_shape_v<typename L::out_shape>;
/// A layer's input shape when it has one (`using in_shape = shape<...>`).
template <class L>
concept shaped_input = requires { typename L::in_shape; } && is_shape_v<typename L::in_shape>;

template <class Padding>
struct padding_traits {
  using base = Padding;
  static constexpr bool exact = false;
};
template <class Padding>
struct padding_traits<Exact<Padding>> {
  using base = Padding;
  static constexpr bool exact = true;
};

template <class Padding>
inline constexpr bool is_pad_v = false;
template <std::size_t P, std::size_t OP>
inline constexpr bool is_pad_v<Pad<P, OP>> = true;

/// True for the padding arguments latent knows: Valid, Same, Pad<P, OP> and Exact<one of those>.
template <class Padding>
inline constexpr bool is_padding_v =
    std::is_same_v<typename padding_traits<Padding>::base, Valid> ||
    std::is_same_v<typename padding_traits<Padding>::base, Same> || is_pad_v<typename padding_traits<Padding>::base>;

/// The geometry of one spatial axis of a convolution: input n, kernel k, stride s, padding before
/// and after, output. `ok` is false when the kernel does not fit the padded input (then `out` is 1,
/// so that a failed rule does not cascade into others).
struct axis {
  std::size_t in = 0, kernel = 0, stride = 1, before = 0, after = 0, out = 1;
  bool fits = true;        ///< the kernel fits the padded input (Conv2D); the output is non-empty (transposed)
  bool divides = true;     ///< the stride divides (padded − kernel) exactly
  std::size_t padded = 0;  ///< in + before + after (Conv2D)
};

/// Conv2D's axis: Keras's Same, Valid or PyTorch's Pad<P>.
template <class Padding>
constexpr axis conv_axis(std::size_t n, std::size_t k, std::size_t s) {
  using base = typename padding_traits<Padding>::base;
  axis a{n, k, s == 0 ? 1 : s, 0, 0, 1, true, true, n};
  if (s == 0 || k == 0) return a;
  if constexpr (std::is_same_v<base, Same>) {
    const std::size_t out = (n + s - 1) / s;
    const std::size_t need = (out - 1) * s + k;
    const std::size_t total = need > n ? need - n : 0;
    a.before = total / 2;
    a.after = total - a.before;
  } else if constexpr (is_pad_v<base>) {
    a.before = a.after = base::padding;
  }
  a.padded = n + a.before + a.after;
  if (a.padded < k) {
    a.fits = false;
    return a;
  }
  a.out = (a.padded - k) / s + 1;
  a.divides = (a.padded - k) % s == 0;
  return a;
}

/// ConvTranspose2D's axis: `before` is the number of leading outputs of the full (n − 1)·s + k cropped.
template <class Padding>
constexpr axis conv_transpose_axis(std::size_t n, std::size_t k, std::size_t s) {
  using base = typename padding_traits<Padding>::base;
  axis a{n, k, s == 0 ? 1 : s, 0, 0, 1, true, true, 0};
  if (s == 0 || k == 0 || n == 0) return a;
  const std::size_t full = (n - 1) * s + k;
  std::size_t out = full;
  if constexpr (std::is_same_v<base, Same>) {
    out = n * s;
    const std::size_t total = k > s ? k - s : 0;
    a.before = total / 2;
  } else if constexpr (is_pad_v<base>) {
    a.before = base::padding;
    if (full + base::output_padding < 2 * base::padding + 1) {
      a.fits = false;
      return a;
    }
    out = full + base::output_padding - 2 * base::padding;
  }
  a.out = out;
  return a;
}

}  // namespace detail
}  // namespace latent
