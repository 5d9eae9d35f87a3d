#pragma once
/// \file
/// `latent::GroupNorm<Groups, Epsilon>` and `latent::LayerNorm`: normalisation over groups of channels
/// of each sample on its own (PyTorch's GroupNorm, as latent diffusion's autoencoder uses it). No state
/// and no batch coupling: the same in train and eval mode.

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/kernels/norm.hpp"
#include "latent/layers/batch_norm.hpp"  // channels_of, same_shape, ratio_value
#include "latent/layers/norm_rules.hpp"

#include <cmath>    // std::sqrt
#include <cstddef>  // std::size_t
#include <ratio>    // std::ratio: ε as an exact fraction
#include <string>   // std::string: the signature

namespace latent {

namespace detail {

/// GroupNorm bound to its input: C channels of P positions in G groups of C/G channels; each sample's
/// group of m = (C/G)·P values is normalised by its own mean and (biased) variance, then each channel
/// scaled by γ and shifted by β (parameters: γ (C, initially 1) then β (C, initially 0)).
template <class In, std::size_t G, class Epsilon>
struct group_norm_layer : same_shape<In> {
  static constexpr std::size_t C = channels_of<In>::channels, P = channels_of<In>::positions;
  static constexpr std::size_t per_group = C / G, M = per_group * P;  // values normalised together
  static constexpr double epsilon = ratio_value<Epsilon>();
  static constexpr const char* name = "GroupNorm";
  static constexpr std::size_t in_size = C * P, out_size = C * P;
  static constexpr std::size_t param_count = 2 * C;
  static constexpr std::size_t bias_count = 2 * C;  // γ and β: spared by weight decay with decay_biases = false
  /// x̂ (C·P) and each group's 1/√(σ² + ε) (G), per sample.
  static constexpr std::size_t cache_size = C * P + G;
  static constexpr std::size_t scratch_size = 0;
  static constexpr double forward_flops = 4.0 * static_cast<double>(C * P);

  static std::string signature() {
    std::string s = "GroupNorm<" + std::to_string(G) + ",in " + std::to_string(C);
    if constexpr (P > 1) s.append("x").append(std::to_string(P));
    return s.append(",eps ").append(std::to_string(Epsilon::num)).append("/").append(std::to_string(Epsilon::den)) + ">";
  }

  template <class T>
  static void init(T* params, Rng&) noexcept {
    for (std::size_t c = 0; c < C; ++c) params[c] = T(1), params[C + c] = T(0);
  }

  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>&) noexcept {
    const T* g = params;
    const T* b = params + C;
    for (std::size_t r = 0; r < n; ++r) {
      const T* xr = x + r * in_size;
      T* yr = y + r * in_size;
      T* hr = cache + r * cache_size;
      T* invs = hr + in_size;
      for (std::size_t k = 0; k < G; ++k) {
        double s1 = 0, s2 = 0;
        kernels::sum_and_squares(xr + k * M, M, s1, s2);
        const double mean = s1 / static_cast<double>(M);
        double var = s2 / static_cast<double>(M) - mean * mean;
        if (var < 0) var = 0;
        const T inv = static_cast<T>(1.0 / std::sqrt(var + epsilon));
        invs[k] = inv;
        for (std::size_t c = k * per_group; c < (k + 1) * per_group; ++c)
          kernels::normalise(xr + c * P, P, static_cast<T>(mean), inv, g[c], b[c], hr + c * P, yr + c * P);
      }
    }
  }

  template <class T>
  static void backward(const T* params, const T*, const T*, const T* cache, T* dy, T* dx, T* dparams, T*,
                       std::size_t n, Context<T>&) noexcept {
    const T* g = params;
    T* dg = dparams;
    T* db = dparams + C;
    for (std::size_t c = 0; c < C; ++c) dg[c] = T(0), db[c] = T(0);
    double s1[C], s2[C];
    for (std::size_t r = 0; r < n; ++r) {
      const T* hr = cache + r * cache_size;
      const T* invs = hr + in_size;
      const T* dyr = dy + r * in_size;
      for (std::size_t c = 0; c < C; ++c) {
        kernels::sum_and_dot(dyr + c * P, hr + c * P, P, s1[c], s2[c]);
        db[c] += static_cast<T>(s1[c]);
        dg[c] += static_cast<T>(s2[c]);
      }
      if (dx == nullptr) continue;
      T* dxr = dx + r * in_size;
      for (std::size_t k = 0; k < G; ++k) {
        // dx = inv·(γ·dy − mean(γ·dy) − x̂·mean(γ·dy·x̂)) over the group.
        double a = 0, d = 0;
        for (std::size_t c = k * per_group; c < (k + 1) * per_group; ++c) {
          a += static_cast<double>(g[c]) * s1[c];
          d += static_cast<double>(g[c]) * s2[c];
        }
        const double inv = static_cast<double>(invs[k]);
        const T tb = static_cast<T>(inv * a / static_cast<double>(M)), tc = static_cast<T>(inv * d / static_cast<double>(M));
        for (std::size_t c = k * per_group; c < (k + 1) * per_group; ++c)
          kernels::normalise_input_gradient(dyr + c * P, hr + c * P, P, static_cast<T>(g[c] * invs[k]), tb, tc,
                                            dxr + c * P);
      }
    }
  }
};

}  // namespace detail

/// Group normalisation (PyTorch's GroupNorm(Groups, C, eps)): each sample's channels in `Groups`
/// groups, each group normalised by its own mean and variance, then γ and β per channel. Works after
/// a shaped layer (channels of H × W positions) or a flat one (N features as N channels). `Epsilon` is
/// a `std::ratio`: 1e-5 by default (PyTorch's); latent diffusion uses `std::ratio<1, 1000000>`.
/// Shape rules: it follows a layer, and `Groups` divides the channels
/// (`group_count_does_not_divide_the_channels`). Example: examples/resnet_vae_fashion_mnist.cpp.
template <std::size_t Groups, class Epsilon = std::ratio<1, 100000>>
struct GroupNorm {
  static constexpr const char* name = "GroupNorm";
  template <class In>
  using bind_shape = detail::group_norm_layer<In, Groups, Epsilon>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_group_norm<At, GroupNorm, Groups, In>();
  }
};

/// Layer normalisation as GroupNorm's one-group case: each sample normalised over all its values, γ
/// and β per channel (per feature after a flat layer, where it is PyTorch's LayerNorm exactly).
using LayerNorm = GroupNorm<1>;

}  // namespace latent
