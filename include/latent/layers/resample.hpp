#pragma once
/// \file
/// `latent::AvgPool2D<K, Stride>`, `latent::MaxPool2D<K, Stride>` and `latent::Upsample2D<Factor>`: pooling and nearest-neighbour
/// upsampling on channel-first rows, shape heads like the convolutions (their input shape comes from
/// the layer before them in a `Seq`). No parameters.

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv_rules.hpp"
#include "latent/layers/shape_layers.hpp"

#include <algorithm>    // std::fill_n
#include <cstddef>      // std::size_t
#include <string>       // std::string: signatures
#include <type_traits>  // std::is_same_v

namespace latent {

namespace detail {

/// AvgPool2D bound to its input shape: y[c, i, j] = mean of x[c, i·S + a, j·S + b] over a, b < K
/// (Valid: windows inside the input only).
template <class In, std::size_t K, std::size_t S>
struct avg_pool2d_layer {
  static constexpr std::size_t C = In::channels, H = In::height, W = In::width;
  static constexpr std::size_t OH = H >= K ? (H - K) / S + 1 : 1, OW = W >= K ? (W - K) / S + 1 : 1;
  using in_shape = In;
  using out_shape = shape<C, OH, OW>;
  static constexpr const char* name = "AvgPool2D";
  static constexpr std::size_t in_size = C * H * W, out_size = C * OH * OW;
  static constexpr std::size_t param_count = 0, cache_size = 0, scratch_size = 0;
  static constexpr double forward_flops = static_cast<double>(out_size * K * K);
  static std::string signature() {
    return "AvgPool2D<in " + shape_text(C, H, W) + "," + std::to_string(K) + "," + std::to_string(S) + ">";
  }
  template <class T>
  static void init(T*, Rng&) noexcept {}
  template <class T>
  static void forward(const T*, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    const T scale = T(1) / static_cast<T>(K * K);
    for (std::size_t s = 0; s < n * C; ++s) {
      const T* xs = x + s * H * W;
      T* ys = y + s * OH * OW;
      for (std::size_t i = 0; i < OH; ++i)
        for (std::size_t j = 0; j < OW; ++j) {
          T sum = T(0);
          for (std::size_t a = 0; a < K; ++a)
            for (std::size_t b = 0; b < K; ++b) sum += xs[(i * S + a) * W + j * S + b];
          ys[i * OW + j] = sum * scale;
        }
    }
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T* dy, T* dx, T*, T*, std::size_t n,
                       Context<T>&) noexcept {
    if (dx == nullptr) return;
    const T scale = T(1) / static_cast<T>(K * K);
    std::fill_n(dx, n * in_size, T(0));
    for (std::size_t s = 0; s < n * C; ++s) {
      const T* ds = dy + s * OH * OW;
      T* xs = dx + s * H * W;
      for (std::size_t i = 0; i < OH; ++i)
        for (std::size_t j = 0; j < OW; ++j) {
          const T g = ds[i * OW + j] * scale;
          for (std::size_t a = 0; a < K; ++a)
            for (std::size_t b = 0; b < K; ++b) xs[(i * S + a) * W + j * S + b] += g;
        }
    }
  }
};

/// MaxPool2D bound to its input shape: y[c, i, j] = max of x[c, i·S + a, j·S + b] over a, b < K (Valid:
/// windows inside the input only). The cache keeps which element of each window was the largest (the
/// first of equal ones, as PyTorch), where backward sends the gradient.
template <class In, std::size_t K, std::size_t S>
struct max_pool2d_layer {
  static constexpr std::size_t C = In::channels, H = In::height, W = In::width;
  static constexpr std::size_t OH = H >= K ? (H - K) / S + 1 : 1, OW = W >= K ? (W - K) / S + 1 : 1;
  using in_shape = In;
  using out_shape = shape<C, OH, OW>;
  static constexpr const char* name = "MaxPool2D";
  static constexpr std::size_t in_size = C * H * W, out_size = C * OH * OW;
  static constexpr std::size_t param_count = 0, cache_size = out_size, scratch_size = 0;
  static constexpr double forward_flops = static_cast<double>(out_size * K * K);
  static std::string signature() {
    return "MaxPool2D<in " + shape_text(C, H, W) + "," + std::to_string(K) + "," + std::to_string(S) + ">";
  }
  template <class T>
  static void init(T*, Rng&) noexcept {}
  template <class T>
  static void forward(const T*, const T* x, T* y, T* cache, std::size_t n, Context<T>&) noexcept {
    for (std::size_t s = 0; s < n * C; ++s) {
      const T* xs = x + s * H * W;
      T* ys = y + s * OH * OW;
      T* where = cache + s * OH * OW;
      for (std::size_t i = 0; i < OH; ++i)
        for (std::size_t j = 0; j < OW; ++j) {
          std::size_t best = 0;
          T m = xs[(i * S) * W + j * S];
          for (std::size_t a = 0; a < K; ++a)
            for (std::size_t b = 0; b < K; ++b) {
              const T v = xs[(i * S + a) * W + j * S + b];
              if (v > m) m = v, best = a * K + b;
            }
          ys[i * OW + j] = m;
          where[i * OW + j] = static_cast<T>(best);
        }
    }
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T* cache, T* dy, T* dx, T*, T*, std::size_t n,
                       Context<T>&) noexcept {
    if (dx == nullptr) return;
    std::fill_n(dx, n * in_size, T(0));
    for (std::size_t s = 0; s < n * C; ++s) {
      const T* ds = dy + s * OH * OW;
      const T* where = cache + s * OH * OW;
      T* xs = dx + s * H * W;
      for (std::size_t i = 0; i < OH; ++i)
        for (std::size_t j = 0; j < OW; ++j) {
          const auto k = static_cast<std::size_t>(where[i * OW + j]);
          xs[(i * S + k / K) * W + j * S + k % K] += ds[i * OW + j];
        }
    }
  }
};

/// Upsample2D bound to its input shape: y[c, i, j] = x[c, i / F, j / F] (nearest neighbour, Keras's
/// UpSampling2D, PyTorch's Upsample(scale_factor=F)).
template <class In, std::size_t F>
struct upsample2d_layer {
  static constexpr std::size_t C = In::channels, H = In::height, W = In::width, OH = H * F, OW = W * F;
  using in_shape = In;
  using out_shape = shape<C, OH, OW>;
  static constexpr const char* name = "Upsample2D";
  static constexpr std::size_t in_size = C * H * W, out_size = C * OH * OW;
  static constexpr std::size_t param_count = 0, cache_size = 0, scratch_size = 0;
  static constexpr double forward_flops = static_cast<double>(out_size);
  static std::string signature() { return "Upsample2D<in " + shape_text(C, H, W) + "," + std::to_string(F) + ">"; }
  template <class T>
  static void init(T*, Rng&) noexcept {}
  template <class T>
  static void forward(const T*, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    for (std::size_t s = 0; s < n * C; ++s) {
      const T* xs = x + s * H * W;
      T* ys = y + s * OH * OW;
      for (std::size_t i = 0; i < OH; ++i)
        for (std::size_t j = 0; j < OW; ++j) ys[i * OW + j] = xs[(i / F) * W + j / F];
    }
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T* dy, T* dx, T*, T*, std::size_t n,
                       Context<T>&) noexcept {
    if (dx == nullptr) return;
    std::fill_n(dx, n * in_size, T(0));
    for (std::size_t s = 0; s < n * C; ++s) {
      const T* ds = dy + s * OH * OW;
      T* xs = dx + s * H * W;
      for (std::size_t i = 0; i < OH; ++i)
        for (std::size_t j = 0; j < OW; ++j) xs[(i / F) * W + j / F] += ds[i * OW + j];
    }
  }
};

// The rules of a resampling layer: a shaped input (the convolutions' carrier), sizes ≥ 1, and for the
// pool a window that fits.
template <class At, class Layer, std::size_t K, std::size_t S, bool Pool, class In>
constexpr bool check_resample() {
  static_assert(diag::conv_layer_has_a_zero_size<At, Layer, diag::filters<1>, diag::kernel<K>, diag::stride<S>>::value);
  if constexpr (K == 0 || S == 0) {
    return false;
  } else if constexpr (!is_shape_v<In>) {
    static_assert(diag::conv_layer_has_no_shape_before_it<At, Layer, typename what_it_receives<In>::type>::value);
    return false;
  } else if constexpr (Pool) {
    constexpr bool fits = In::height >= K && In::width >= K;
    static_assert(diag::conv_kernel_is_larger_than_its_padded_input<
                  At, Layer, diag::kernel<K>, diag::padded_input<In::height, In::width>,
                  diag::input_shape<In::channels, In::height, In::width>, fits>::value);
    return fits;
  } else {
    return true;
  }
}

}  // namespace detail

/// Average pooling over K × K windows with stride `Stride` (default K), no padding (Keras's
/// AveragePooling2D, PyTorch's AvgPool2d): output ⌊(N − K)/S⌋ + 1 per axis. Rules as a convolution's:
/// a shaped input, K and Stride ≥ 1, a window that fits the input.
template <std::size_t K, std::size_t Stride = K>
struct AvgPool2D {
  static constexpr const char* name = "AvgPool2D";
  template <class In>
  using bind_shape = detail::avg_pool2d_layer<In, K, Stride>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_resample<At, AvgPool2D, K, Stride, true, In>();
  }
};

/// Max pooling over K × K windows with stride `Stride` (default K), no padding (Keras's MaxPooling2D,
/// PyTorch's MaxPool2d): output ⌊(N − K)/S⌋ + 1 per axis; the gradient goes to each window's largest
/// element (the first of equal ones). Rules as AvgPool2D's.
template <std::size_t K, std::size_t Stride = K>
struct MaxPool2D {
  static constexpr const char* name = "MaxPool2D";
  template <class In>
  using bind_shape = detail::max_pool2d_layer<In, K, Stride>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_resample<At, MaxPool2D, K, Stride, true, In>();
  }
};

/// Nearest-neighbour upsampling by an integer `Factor` (Keras's UpSampling2D, PyTorch's
/// Upsample(scale_factor=Factor, mode="nearest")): output N·Factor per axis.
template <std::size_t Factor>
struct Upsample2D {
  static constexpr const char* name = "Upsample2D";
  template <class In>
  using bind_shape = detail::upsample2d_layer<In, Factor>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_resample<At, Upsample2D, Factor, 1, false, In>();
  }
};

}  // namespace latent
