#pragma once
/// \file
/// `latent::Conv2D<Filters, Kernel, Stride, Padding, Act>` and `latent::ConvTranspose2D<...>`: 2-D
/// convolutions with square kernels and strides whose input shape comes from the layer before them in
/// a `Seq` (they are shape heads, as `Gaussian<Z>` is a head that learns its width), and whose output
/// shape follows from Keras's and PyTorch's arithmetic at compile time (core/shape.hpp).
///
/// Both lower onto the packed product of kernels/gemm.hpp over blocks of samples (about 256 kernel
/// positions a block, so a block's patch matrix stays in L2): a Conv2D's forward pass gathers each
/// position's patch into a row and multiplies the rows by the filters, with the bias and activation in
/// the product's epilogue, which writes channel-first; its weight gradient is dZᵀ·patches and its input
/// gradient dZ·W scattered back onto the image. A ConvTranspose2D is the same pieces the other way
/// round: x·W gives each input position's contribution, scattered onto the output.

#include "latent/activations/activation.hpp"
#include "latent/activations/identity.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/kernels/conv.hpp"
#include "latent/kernels/conv_direct.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/gemm.hpp"
#include "latent/layers/conv_rules.hpp"
#include "latent/layers/shape_layers.hpp"

#include <algorithm>    // std::min, std::max, std::fill_n
#include <cmath>        // std::sqrt
#include <cstddef>      // std::size_t
#include <string>       // std::string: signatures
#include <type_traits>  // std::conditional_t, std::is_same_v

namespace latent {

namespace detail {

// Workspace slots of the convolutions (slot 0 is the product's packing buffer).
inline constexpr int conv_patch_slot = 1, conv_rows_slot = 2, conv_gradient_slot = 3, conv_weights_slot = 4,
                     conv_dy_rows_slot = 5, conv_weight_gradient_slot = 6, conv_image_rows_slot = 7,
                     conv_dz_plane_slot = 8;

template <class Padding>
std::string padding_text() {
  using base = typename padding_traits<Padding>::base;
  std::string s;
  if constexpr (std::is_same_v<base, Valid> || std::is_same_v<base, Same>) {
    s = base::name;
  } else {
    // Appended piece by piece: g++ 12's -Wrestrict misfires on `"literal" + std::string` (GCC PR 105329).
    s.append("Pad<").append(std::to_string(base::padding));
    if (base::output_padding != 0) s.append(",").append(std::to_string(base::output_padding));
    s.append(">");
  }
  if (!padding_traits<Padding>::exact) return s;
  std::string exact("Exact<");
  exact.append(s).append(">");
  return exact;
}

// Samples per block: about 256 kernel positions (rows of the product), at least one sample.
constexpr std::size_t conv_block(std::size_t positions) { return positions >= 256 ? 1 : 256 / positions; }

/// Conv2D bound to its input shape `In`: parameters W as Filters × (C·K·K) in PyTorch's
/// `Conv2d.weight` order [f][c][ki][kj], then the bias (Filters values).
template <class In, std::size_t F, std::size_t K, std::size_t S, class Padding, class Act>
struct conv2d_layer {
  static constexpr axis rows = conv_axis<Padding>(In::height, K, S);
  static constexpr axis cols = conv_axis<Padding>(In::width, K, S);
  static constexpr std::size_t C = In::channels, H = In::height, W = In::width;
  static constexpr std::size_t OH = rows.out, OW = cols.out, P = OH * OW, KK = C * K * K;
  using geometry = kernels::patches<C, H, W, K, S, rows.before, cols.before, OH, OW>;
  static constexpr std::size_t block = conv_block(P);

  using activation = Act;
  // Act, or void for Identity: nothing to apply in the direct forward passes, dZ = dY in the backward.
  using derivative = std::conditional_t<std::is_same_v<Act, Identity>, void, Act>;
  using in_shape = In;
  using out_shape = shape<F, OH, OW>;
  static constexpr const char* name = "Conv2D";
  static constexpr std::size_t in_size = C * H * W;
  static constexpr std::size_t out_size = F * P;
  static constexpr std::size_t weight_count = F * KK;
  static constexpr std::size_t param_count = weight_count + F;
  static constexpr std::size_t bias_count = F;               ///< the last F parameters are biases
  static constexpr double forward_flops = 2.0 * P * KK * F;  // a multiply-add per weight and position
  static constexpr std::size_t cache_size = 0;               // the derivative needs only y; patches are gathered again
  static constexpr std::size_t scratch_size = 0;

  /// "Conv2D<in 1x28x28,32,3,2,Same,Relu>": the input shape and the template's arguments.
  static std::string signature() {
    return "Conv2D<in " + shape_text(C, H, W) + "," + std::to_string(F) + "," + std::to_string(K) + "," +
           std::to_string(S) + "," + padding_text<Padding>() + "," + Act::name + ">";
  }

  /// Glorot uniform over fan-in C·K·K and fan-out F·K·K (Keras's default for Conv2D); zero biases.
  template <class T>
  static void init(T* params, Rng& rng) {
    const double limit = std::sqrt(6.0 / static_cast<double>(KK + F * K * K));
    for (std::size_t i = 0; i < weight_count; ++i) params[i] = static_cast<T>(rng.uniform(-limit, limit));
    std::fill_n(params + weight_count, F, T(0));
  }

  // Few filters fill the registers badly as the product's columns: then the columns are the positions.
  static constexpr bool by_positions = kernels::narrow_width(F) && !kernels::narrow_width(P);
  // A narrow C·K·K (one input channel, say): the weight gradient is formed transposed and the input
  // gradient's patches with the positions as columns.
  static constexpr bool narrow_patch = kernels::narrow_width(KK) && !kernels::narrow_width(F);
  // One input channel (an encoder's first layer on grey images): the forward pass and the weight
  // gradient by direct kernels (kernels/conv_direct.hpp); the input gradient, when asked for, lowered.
  static constexpr bool direct = narrow_patch && C == 1;
  using direct_kernels = kernels::single_channel<F, H, W, K, S, rows.before, cols.before, OH, OW>;

  template <class T>
  static void forward(const T* params, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    if constexpr (direct) {
      using sizes = typename direct_kernels::template sizes<T, kernels::default_arch>;
      T* work = kernels::detail::workspace<T, conv_patch_slot>(sizes::workspace);
      direct_kernels::template forward<derivative, T>(n, params, params + weight_count, x, y, work);
      return;
    } else if constexpr (by_positions) {
      // Y[F × P] = W · patchesᵀ + b, one sample at a time, channel-first as it comes.
      T* pt = kernels::detail::workspace<T, conv_patch_slot>(P * KK);
      for (std::size_t s = 0; s < n; ++s) {
        kernels::gather_transposed<C, H, W, K, S, rows.before, cols.before, OH, OW>(x + s * in_size, pt);
        kernels::gemm<P, T, kernels::arch_for<T, P>>(
            F, KK, params, KK, 1, pt, P, 1, kernels::zero_init{},
            kernels::row_bias_store<Act, T, P>{y + s * out_size, params + weight_count});
      }
      return;
    }
    using A = kernels::arch_for<T, F>;
    T* patches = kernels::detail::workspace<T, conv_patch_slot>(block * P * KK);
    const T* w = params;
    if constexpr (channels_last) {
      T* weights = kernels::detail::workspace<T, conv_weights_slot>(weight_count);
      kernels::filters_last<F, C, K * K>(params, weights);
      w = weights;
    }
    for (std::size_t s0 = 0; s0 < n; s0 += block) {
      const std::size_t nb = std::min(block, n - s0);
      gather_block<T>(x + s0 * in_size, nb, patches);
      // Y[rows × F] = patches · Wᵀ + b, B(k, f) = W[f·KK + k], stored channel-first after Act.
      kernels::gemm<F, T, A>(nb * P, KK, patches, KK, 1, w, 1, KK, kernels::bias_init<T>{params + weight_count},
                             kernels::channel_first_store<Act, T, F, P>{y + s0 * out_size});
    }
  }

  // Several input channels: the patches are gathered with the channels fastest, (ki·K + kj)·C + c,
  // from the image made rows of channels, so that each kernel tap is one contiguous copy (for the
  // 32 → 64 layer, 5.8 M → 1.5 M instructions for 128 images); the products see the weights, and
  // give their gradient, in that order too, reordered once a call.
  static constexpr bool channels_last = C > 1 && !narrow_patch;

  // The patches of nb samples, in the column order the products use.
  template <class T>
  static void gather_block(const T* x, std::size_t nb, T* patches) noexcept {
    if constexpr (channels_last) {
      T* xr = kernels::detail::workspace<T, conv_image_rows_slot>(H * W * C);
      for (std::size_t i = 0; i < nb; ++i) {
        kernels::to_rows<C, H * W>(1, x + i * in_size, xr);
        geometry::gather_channels_last(xr, patches + i * P * KK);
      }
    } else {
      for (std::size_t i = 0; i < nb; ++i) geometry::gather(x + i * in_size, patches + i * P * KK);
    }
  }

  template <class T>
  static void backward(const T* params, const T* x, const T* y, const T*, T* dy, T* dx, T* dparams, T*, std::size_t n,
                       Context<T>&) noexcept {
    if constexpr (direct) {
      // Without an input gradient (a first layer) dZ and the bias gradient are formed on the fly;
      // with one, dZ is written over dY first, for the lowered input gradient below.
      using sizes = typename direct_kernels::template sizes<T, kernels::default_arch>;
      T* work = kernels::detail::workspace<T, conv_patch_slot>(sizes::workspace);
      if (dx == nullptr) {
        direct_kernels::template weight_gradient<derivative, T>(n, dy, y, x, dparams, dparams + weight_count, work);
        return;
      }
      if constexpr (!std::is_void_v<derivative>) kernels::multiply_by_derivative<Act>(dy, y, n * out_size);
      direct_kernels::template weight_gradient<void, T>(n, dy, y, x, dparams, dparams + weight_count, work);
      input_gradient_by_positions<T>(params, dy, dx, n);
      return;
    }
    // dZ = dY ⊙ Act'(Y) and the bias gradient: for the narrow-patch form (its input gradient reads dZ
    // channel-first) over the whole batch first; otherwise while each block is made rows of filters.
    if constexpr (narrow_patch) {
      if constexpr (!std::is_same_v<Act, Identity>) kernels::multiply_by_derivative<Act>(dy, y, n * out_size);
      kernels::channel_sums<F, P>(n, dy, dparams + weight_count, false);
    } else if (n == 0) {
      std::fill_n(dparams + weight_count, F, T(0));
    }
    if (n == 0) std::fill_n(dparams, weight_count, T(0));
    T* patches = kernels::detail::workspace<T, conv_patch_slot>(block * P * KK);
    T* dz = kernels::detail::workspace<T, conv_rows_slot>(block * P * F);
    T* dpatches = dx != nullptr ? kernels::detail::workspace<T, conv_gradient_slot>(block * P * KK) : nullptr;
    [[maybe_unused]] T* weights = nullptr;
    if constexpr (!narrow_patch)
      if (dx != nullptr) {
        weights = kernels::detail::workspace<T, conv_weights_slot>(weight_count);
        kernels::filters_last<F, C, K * K>(params, weights);
      }
    // The weight gradient in the patches' column order, reordered at the end.
    T* dw = channels_last ? kernels::detail::workspace<T, conv_weight_gradient_slot>(weight_count) : dparams;
    for (std::size_t s0 = 0; s0 < n; s0 += block) {
      const std::size_t nb = std::min(block, n - s0);
      if constexpr (narrow_patch)
        kernels::to_rows<F, P>(nb, dy + s0 * out_size, dz);
      else
        kernels::gradient_rows<derivative, F, P>(nb, dy + s0 * out_size, y + s0 * out_size,
                                                 kernels::detail::workspace<T, conv_dz_plane_slot>(out_size), dz,
                                                 dparams + weight_count, s0 != 0);
      gather_block<T>(x + s0 * in_size, nb, patches);
      using AK = kernels::arch_for<T, KK>;
      if constexpr (narrow_patch) {
        // dWᵀ[KK × F] (+)= patchesᵀ · dZ, stored transposed.
        using AF = kernels::arch_for<T, F>;
        if (s0 == 0)
          kernels::gemm<F, T, AF>(KK, nb * P, patches, 1, KK, dz, F, 1, kernels::zero_init{},
                                  kernels::transposed_store<false, T, F, KK>{dparams});
        else
          kernels::gemm<F, T, AF>(KK, nb * P, patches, 1, KK, dz, F, 1, kernels::zero_init{},
                                  kernels::transposed_store<true, T, F, KK>{dparams});
      } else {
        // dW[F × KK] (+)= dZᵀ · patches.
        if (s0 == 0)
          kernels::gemm<KK, T, AK>(F, nb * P, dz, 1, F, patches, KK, 1, kernels::zero_init{}, kernels::store_to<T>{dw});
        else
          kernels::gemm<KK, T, AK>(F, nb * P, dz, 1, F, patches, KK, 1, kernels::zero_init{}, kernels::add_to<T>{dw});
      }
      if (dx != nullptr) {
        if constexpr (narrow_patch) {
          input_gradient_by_positions<T>(params, dy + s0 * out_size, dx + s0 * in_size, nb);
        } else {
          // dpatches[rows × KK] = dZ · W with the channels fastest (W's columns reordered once), then
          // each image value summed once across registers of channels (as ConvTranspose2D's forward).
          kernels::gemm<KK, T, AK>(nb * P, F, dz, F, 1, weights, KK, 1, kernels::zero_init{},
                                   kernels::store_to<T>{dpatches});
          for (std::size_t i = 0; i < nb; ++i)
            geometry::template sum_channels_last<void, T>(dpatches + i * P * KK, nullptr, dx + (s0 + i) * in_size);
        }
      }
    }
    if constexpr (channels_last)
      if (n != 0) kernels::filters_first<F, C, K * K>(dw, dparams);
  }

  // dX of n samples from dZ (channel-first, n × F·P) for a narrow patch: dpatchesᵀ[KK × P] = Wᵀ · dZ
  // per sample, scattered back onto its image.
  template <class T>
  static void input_gradient_by_positions(const T* params, const T* dz, T* dx, std::size_t n) noexcept {
    T* dpatches = kernels::detail::workspace<T, conv_gradient_slot>(P * KK);
    std::fill_n(dx, n * in_size, T(0));
    for (std::size_t i = 0; i < n; ++i) {
      kernels::gemm<P, T, kernels::arch_for<T, P>>(KK, F, params, 1, KK, dz + i * out_size, P, 1, kernels::zero_init{},
                                                   kernels::store_to<T>{dpatches});
      kernels::scatter_add_transposed<C, H, W, K, S, rows.before, cols.before, OH, OW>(dpatches, dx + i * in_size);
    }
  }
};

/// ConvTranspose2D bound to its input shape `In`: parameters W as C × (Filters·K·K) in PyTorch's
/// `ConvTranspose2d.weight` order [c][f][ki][kj], then the bias (Filters values).
template <class In, std::size_t F, std::size_t K, std::size_t S, class Padding, class Act>
struct conv_transpose2d_layer {
  static constexpr axis rows = conv_transpose_axis<Padding>(In::height, K, S);
  static constexpr axis cols = conv_transpose_axis<Padding>(In::width, K, S);
  static constexpr std::size_t C = In::channels, H = In::height, W = In::width;
  static constexpr std::size_t OH = rows.out, OW = cols.out, P = H * W, Q = OH * OW, NK = F * K * K;
  // The output seen as the image under the kernel, the input grid as the positions.
  using geometry = kernels::patches<F, OH, OW, K, S, rows.before, cols.before, H, W>;
  static constexpr std::size_t block = conv_block(P);

  using activation = Act;
  // Act, or void for Identity: nothing to apply in the direct forward passes, dZ = dY in the backward.
  using derivative = std::conditional_t<std::is_same_v<Act, Identity>, void, Act>;
  using in_shape = In;
  using out_shape = shape<F, OH, OW>;
  static constexpr const char* name = "ConvTranspose2D";
  static constexpr std::size_t in_size = C * P;
  static constexpr std::size_t out_size = F * Q;
  static constexpr std::size_t weight_count = C * NK;
  static constexpr std::size_t param_count = weight_count + F;
  static constexpr std::size_t bias_count = F;  ///< the last F parameters are biases
  static constexpr double forward_flops = 2.0 * P * NK * C;
  static constexpr std::size_t cache_size = 0;
  static constexpr std::size_t scratch_size = 0;

  static std::string signature() {
    return "ConvTranspose2D<in " + shape_text(C, H, W) + "," + std::to_string(F) + "," + std::to_string(K) + "," +
           std::to_string(S) + "," + padding_text<Padding>() + "," + Act::name + ">";
  }

  /// Glorot uniform over fan-in F·K·K and fan-out C·K·K (Keras's Conv2DTranspose); zero biases.
  template <class T>
  static void init(T* params, Rng& rng) {
    const double limit = std::sqrt(6.0 / static_cast<double>(NK + C * K * K));
    for (std::size_t i = 0; i < weight_count; ++i) params[i] = static_cast<T>(rng.uniform(-limit, limit));
    std::fill_n(params + weight_count, F, T(0));
  }

  // A narrow F·K·K (one output channel, say): the products' columns are the input positions instead.
  static constexpr bool by_positions = kernels::narrow_width(NK) && !kernels::narrow_width(P);
  // The input gradient with the positions as the product's columns (its rows channel-first as they
  // come) when they fill registers well; otherwise with the channels as columns, stored lane by lane.
  static constexpr bool dx_by_positions = P >= 128;
  // One output channel at stride 1 (a decoder's last layer): the forward pass and the weight gradient
  // by direct kernels (kernels/conv_direct.hpp); `by_positions` then serves the input gradient only.
  static constexpr bool direct = F == 1 && S == 1;
  using direct_kernels = kernels::single_filter_transposed<C, H, W, K, rows.before, cols.before, OH, OW>;

  template <class T>
  static void forward(const T* params, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    if constexpr (direct) {
      direct_kernels::template forward<derivative, T>(n, params, params[weight_count], x, y);
      return;
    } else if constexpr (by_positions) {
      // contributionsᵀ[NK × P] = Wᵀ · X (channel-first) per sample, scattered onto its outputs.
      T* ct = kernels::detail::workspace<T, conv_patch_slot>(NK * P);
      kernels::fill_planes<F, Q>(n, params + weight_count, y);
      for (std::size_t s = 0; s < n; ++s) {
        kernels::gemm<P, T, kernels::arch_for<T, P>>(NK, C, params, 1, NK, x + s * in_size, P, 1, kernels::zero_init{},
                                                     kernels::store_to<T>{ct});
        kernels::scatter_add_transposed<F, OH, OW, K, S, rows.before, cols.before, H, W>(ct, y + s * out_size);
      }
      if constexpr (!std::is_same_v<Act, Identity>) kernels::apply_activation<Act>(y, y, n * out_size);
      return;
    }
    using A = kernels::arch_for<T, NK>;
    T* xr = kernels::detail::workspace<T, conv_rows_slot>(block * P * C);
    T* contributions = kernels::detail::workspace<T, conv_patch_slot>(block * P * NK);
    // The weights with the filters fastest, so that each contribution row holds, per kernel tap, all
    // the filters side by side: every output value is then summed once across registers of filters
    // (bias, terms, activation) rather than read and written back per term (for the 64 → 32 layer at
    // batch 128, 35.5 M → 10.4 M instructions against scatter, fill and activation:
    // benchmarks/ab/conv_pieces.cpp). The sum's order is scatter_add's, so y is unchanged bit for bit.
    T* weights = kernels::detail::workspace<T, conv_weights_slot>(weight_count);
    kernels::filters_last<C, F, K * K>(params, weights);
    for (std::size_t s0 = 0; s0 < n; s0 += block) {
      const std::size_t nb = std::min(block, n - s0);
      kernels::to_rows<C, P>(nb, x + s0 * in_size, xr);
      // contributions[rows × NK] = X · W, summed onto the outputs. (X is made rows of channels
      // first: read channel-first, each row tile would stride over more cache lines than L1 holds.)
      kernels::gemm<NK, T, A>(nb * P, C, xr, C, 1, weights, NK, 1, kernels::zero_init{},
                              kernels::store_to<T>{contributions});
      for (std::size_t i = 0; i < nb; ++i)
        geometry::template sum_channels_last<Act, T>(contributions + i * P * NK, params + weight_count,
                                                     y + (s0 + i) * out_size);
    }
  }

  template <class T>
  static void backward(const T* params, const T* x, const T* y, const T*, T* dy, T* dx, T* dparams, T*, std::size_t n,
                       Context<T>&) noexcept {
    if (n == 0) std::fill_n(dparams, param_count, T(0));
    if constexpr (direct) {
      using sizes = typename direct_kernels::template sizes<T, kernels::default_arch>;
      T* work = kernels::detail::workspace<T, conv_patch_slot>(sizes::workspace);
      direct_kernels::template weight_gradient<derivative, T>(n, x, y, dy, dparams, dparams + weight_count, work);
      if (dx == nullptr) return;
      // dX[C × P] = W · dpatchesᵀ per sample, dZ's patches gathered with the positions as columns
      // (as `by_positions` below: this product measured faster than a direct kernel, whose 12.8 MB of
      // row stores straddle cache lines).
      if constexpr (!std::is_void_v<derivative>) kernels::multiply_by_derivative<Act>(dy, y, n * out_size);
      T* dpt = kernels::detail::workspace<T, conv_gradient_slot>(NK * P);
      for (std::size_t s = 0; s < n; ++s) {
        kernels::gather_transposed<F, OH, OW, K, S, rows.before, cols.before, H, W>(dy + s * out_size, dpt);
        kernels::gemm<P, T, kernels::arch_for<T, P>>(C, NK, params, NK, 1, dpt, P, 1, kernels::zero_init{},
                                                     kernels::store_to<T>{dx + s * in_size});
      }
      return;
    } else if constexpr (by_positions) {
      if constexpr (!std::is_same_v<Act, Identity>) kernels::multiply_by_derivative<Act>(dy, y, n * out_size);
      kernels::channel_sums<F, Q>(n, dy, dparams + weight_count, false);
      T* dpt = kernels::detail::workspace<T, conv_patch_slot>(NK * P);
      for (std::size_t s = 0; s < n; ++s) {
        kernels::gather_transposed<F, OH, OW, K, S, rows.before, cols.before, H, W>(dy + s * out_size, dpt);
        // dWᵀ[NK × C] (+)= dpatchesᵀ · Xᵀ, stored transposed; B(p, c) = x[c·P + p].
        if (s == 0)
          kernels::gemm<C, T, kernels::arch_for<T, C>>(NK, P, dpt, P, 1, x + s * in_size, 1, P, kernels::zero_init{},
                                                       kernels::transposed_store<false, T, C, NK>{dparams});
        else
          kernels::gemm<C, T, kernels::arch_for<T, C>>(NK, P, dpt, P, 1, x + s * in_size, 1, P, kernels::zero_init{},
                                                       kernels::transposed_store<true, T, C, NK>{dparams});
        // dX[C × P] = W · dpatchesᵀ, channel-first as it comes.
        if (dx != nullptr)
          kernels::gemm<P, T, kernels::arch_for<T, P>>(C, NK, params, NK, 1, dpt, P, 1, kernels::zero_init{},
                                                       kernels::store_to<T>{dx + s * in_size});
      }
      return;
    }
    T* xr = kernels::detail::workspace<T, conv_rows_slot>(block * P * C);
    T* dpatches = kernels::detail::workspace<T, conv_patch_slot>(block * P * NK);
    // The patches of dY are gathered with the filters fastest, from dY made rows of filters: each
    // kernel tap is then one contiguous copy (64 → 32 layer: 23.6 M → 8.6 M instructions). The products see the weights
    // (and give their gradient) in that column order too, reordered once a call.
    T* dyr = kernels::detail::workspace<T, conv_dy_rows_slot>(block * Q * F);
    T* dw = kernels::detail::workspace<T, conv_weight_gradient_slot>(weight_count);
    T* weights = nullptr;
    if (dx != nullptr) {
      weights = kernels::detail::workspace<T, conv_weights_slot>(weight_count);
      kernels::filters_last<C, F, K * K>(params, weights);
    }
    for (std::size_t s0 = 0; s0 < n; s0 += block) {
      const std::size_t nb = std::min(block, n - s0);
      // dZ = dY ⊙ Act'(Y) made rows of filters, and the bias gradient, in one read of dY and Y.
      kernels::gradient_rows<derivative, F, Q>(nb, dy + s0 * out_size, y + s0 * out_size,
                                               kernels::detail::workspace<T, conv_dz_plane_slot>(out_size), dyr,
                                               dparams + weight_count, s0 != 0);
      for (std::size_t i = 0; i < nb; ++i) geometry::gather_channels_last(dyr + i * Q * F, dpatches + i * P * NK);
      // dW[C × NK] (+)= Xᵀ · dpatches (X channel-first as it is when the block is one sample).
      using AN = kernels::arch_for<T, NK>;
      const T* a = x + s0 * in_size;
      std::size_t a_rs = P, a_cs = 1;
      if constexpr (block != 1) {
        kernels::to_rows<C, P>(nb, x + s0 * in_size, xr);
        a = xr, a_rs = 1, a_cs = C;
      }
      if (s0 == 0)
        kernels::gemm<NK, T, AN>(C, nb * P, a, a_rs, a_cs, dpatches, NK, 1, kernels::zero_init{},
                                 kernels::store_to<T>{dw});
      else
        kernels::gemm<NK, T, AN>(C, nb * P, a, a_rs, a_cs, dpatches, NK, 1, kernels::zero_init{},
                                 kernels::add_to<T>{dw});
      if (dx == nullptr) continue;
      if constexpr (dx_by_positions) {
        // dXᵀ[C × P] = W · dpatchesᵀ per sample, channel-first as it comes (B packed by transposes).
        for (std::size_t i = 0; i < nb; ++i)
          kernels::gemm<P, T, kernels::arch_for<T, P>>(C, NK, weights, NK, 1, dpatches + i * P * NK, 1, NK,
                                                       kernels::zero_init{},
                                                       kernels::store_to<T>{dx + (s0 + i) * in_size});
      } else {
        // dX[rows × C] = dpatches · Wᵀ, B(k, c) = W[c·NK + k], stored channel-first.
        kernels::gemm<C, T, kernels::arch_for<T, C>>(nb * P, NK, dpatches, NK, 1, weights, 1, NK, kernels::zero_init{},
                                                     kernels::channel_first_store<void, T, C, P>{dx + s0 * in_size});
      }
    }
    if (n != 0) kernels::filters_first<C, F, K * K>(dw, dparams);
  }
};

// The rules shared by both convolutions, checked with the layer's position before it is bound.
template <class At, class Layer, std::size_t F, std::size_t K, std::size_t S, class Padding, bool Transposed, class In>
constexpr bool check_conv() {
  static_assert(diag::conv_padding_is_not_a_padding<Layer, Padding, is_padding_v<Padding>>::value);
  static_assert(diag::conv_layer_has_a_zero_size<At, Layer, diag::filters<F>, diag::kernel<K>, diag::stride<S>>::value);
  if constexpr (!is_padding_v<Padding> || F == 0 || K == 0 || S == 0) {
    return false;
  } else if constexpr (!is_shape_v<In>) {
    static_assert(diag::conv_layer_has_no_shape_before_it<At, Layer, typename what_it_receives<In>::type>::value);
    return false;
  } else {
    using base = typename padding_traits<Padding>::base;
    constexpr std::size_t op = [] {
      if constexpr (is_pad_v<base>)
        return base::output_padding;
      else
        return std::size_t{0};
    }();
    static_assert(
        diag::output_padding_is_not_smaller_than_the_stride<At, Layer, diag::output_padding<op>, diag::stride<S>,
                                                            (Transposed ? op < S : op == 0)>::value);
    using input = diag::input_shape<In::channels, In::height, In::width>;
    if constexpr (Transposed) {
      constexpr axis r = conv_transpose_axis<Padding>(In::height, K, S),
                     c = conv_transpose_axis<Padding>(In::width, K, S);
      static_assert(diag::transposed_conv_output_is_empty<At, Layer, input, (r.fits && c.fits)>::value);
      return r.fits && c.fits && (op < S);
    } else {
      constexpr axis r = conv_axis<Padding>(In::height, K, S), c = conv_axis<Padding>(In::width, K, S);
      static_assert(
          diag::conv_kernel_is_larger_than_its_padded_input<
              At, Layer, diag::kernel<K>, diag::padded_input<r.padded, c.padded>, input, (r.fits && c.fits)>::value);
      if constexpr (padding_traits<Padding>::exact && r.fits && c.fits)
        static_assert(diag::conv_stride_drops_input_rows_or_columns<At, Layer, diag::padded_input<r.padded, c.padded>,
                                                                    diag::kernel<K>, diag::stride<S>,
                                                                    (r.divides && c.divides)>::value);
      return r.fits && c.fits && op == 0 && (!padding_traits<Padding>::exact || (r.divides && c.divides));
    }
  }
}

}  // namespace detail

/// A 2-D convolution with `Filters` output channels, a `Kernel` × `Kernel` kernel, stride `Stride`,
/// padding `Padding` (`Valid`, `Same` as Keras, `Pad<P>` as PyTorch's `padding = P`, or `Exact<...>`)
/// and activation `Act`. Write it in a `Seq` after a shaped layer (`Input<C, H, W>`, `Reshape`, another
/// convolution): it takes its input channels and size from there. Output: Filters × OH × OW,
/// channel-first (core/shape.hpp gives OH and OW). Parameters: PyTorch's `Conv2d.weight` order
/// [Filters][C][K][K], then the bias. Rules, each naming the layer's position and the shapes:
/// `conv_layer_has_a_zero_size`, `conv_layer_has_no_shape_before_it`,
/// `conv_kernel_is_larger_than_its_padded_input`, `conv_stride_drops_input_rows_or_columns` (Exact),
/// `output_padding_is_not_smaller_than_the_stride` (Conv2D has none), `conv_padding_is_not_a_padding`.
/// Example: examples/conv_vae_fashion_mnist.cpp.
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, class Padding = Valid, class Act = Identity>
struct Conv2D {
  static_assert(detail::check_activation<Act>());
  static_assert(detail::check_fused_activation<Conv2D, Act>());
  static constexpr const char* name = "Conv2D";
  template <class In>
  using bind_shape = detail::conv2d_layer<In, Filters, Kernel, Stride, Padding, Act>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_conv<At, Conv2D, Filters, Kernel, Stride, Padding, false, In>();
  }
};

/// A 2-D transposed convolution (the gradient of a convolution with respect to its input; Keras's
/// Conv2DTranspose, PyTorch's ConvTranspose2d): `Filters` output channels, kernel, stride, padding
/// (`Valid`: output (N − 1)·S + K; `Same`: N·S, as Keras; `Pad<P, OP>`: PyTorch's padding and
/// output_padding, (N − 1)·S − 2P + K + OP) and activation. Parameters: PyTorch's
/// `ConvTranspose2d.weight` order [C][Filters][K][K], then the bias. Rules as Conv2D, with
/// `transposed_conv_output_is_empty` for a padding that crops everything and OP < S.
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, class Padding = Valid, class Act = Identity>
struct ConvTranspose2D {
  static_assert(detail::check_activation<Act>());
  static_assert(detail::check_fused_activation<ConvTranspose2D, Act>());
  static constexpr const char* name = "ConvTranspose2D";
  template <class In>
  using bind_shape = detail::conv_transpose2d_layer<In, Filters, Kernel, Stride, Padding, Act>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_conv<At, ConvTranspose2D, Filters, Kernel, Stride, Padding, true, In>();
  }
};

}  // namespace latent
