#pragma once
/// \file
/// `latent::Gaussian<Z>`: the head of a VAE encoder, q(z|x) = N(μ(x), diag σ²(x)), with the
/// reparameterisation z = μ + σ·ε.

#include "latent/activations/identity.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/gemm.hpp"
#include "latent/layers/conv.hpp"   // the spatial head's map: a 1×1 convolution
#include "latent/layers/dense.hpp"  // diag::dense_layer_has_a_zero_size: the head is a dense map In → 2Z

#include <cmath>    // std::exp, std::sqrt
#include <cstddef>  // std::size_t
#include <string>   // std::string: the signature

namespace latent {

/// The bound form of `Gaussian<Z>` after a layer with `In` outputs (a `Seq` makes it; users write
/// `Gaussian<Z>`).
///
/// Parameters: one linear map In → 2Z, packed as W (In × 2Z, row-major) then b (2Z); columns [0, Z)
/// give μ, columns [Z, 2Z) give log σ². Initialisation: Glorot uniform, zero bias.
/// Forward when training: z = μ + exp(½ log σ²)·ε with ε ~ N(0, I) drawn from the context's generator;
/// it adds β·KL(q(z|x) ‖ N(0, I)) = β·½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²), summed over the batch, to
/// `ctx.penalty`. In inference, z = μ. Backward adds the KL term's gradient (scaled by β and
/// `ctx.grad_scale`) to the reparameterised path's.
/// The cache keeps, per sample, [μ | log σ² | ε] (3Z values).
template <std::size_t In, std::size_t Z>
struct GaussianHead {
  static_assert(diag::dense_layer_has_a_zero_size<diag::inputs<In>, diag::outputs<Z>>::value);
  static constexpr bool is_gaussian_head = true;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = Z;
  static constexpr std::size_t code_size = Z;
  static constexpr std::size_t weight_count = In * 2 * Z;
  static constexpr std::size_t param_count = weight_count + 2 * Z;
  static constexpr std::size_t bias_count = 2 * Z;  ///< the last 2Z parameters are biases
  static constexpr std::size_t cache_size = 3 * Z;
  static constexpr std::size_t scratch_size = 2 * Z;
  static constexpr const char* name = "Gaussian";
  /// "Gaussian<In,Z>": what saved files record.
  static std::string signature() {
    std::string s = "Gaussian<";
    s.append(std::to_string(In)).append(",").append(std::to_string(Z)).append(">");
    return s;
  }
  /// log σ² is kept within ±this (see forward).
  static constexpr double log_variance_limit = 30.0;

  template <class T>
  static void init(T* params, Rng& rng) {
    const double limit = std::sqrt(6.0 / static_cast<double>(In + 2 * Z));
    for (std::size_t i = 0; i < weight_count; ++i) params[i] = static_cast<T>(rng.uniform(-limit, limit));
    for (std::size_t j = 0; j < 2 * Z; ++j) params[weight_count + j] = T(0);
  }

  /// μ and log σ² of n samples into `stats` (n × 2Z).
  template <class T>
  static void statistics(const T* params, const T* x, T* stats, std::size_t n) noexcept {
    kernels::gemm_nn<2 * Z, T, kernels::arch_for<T, 2 * Z>>(
        n, In, x, In, 1, params, kernels::bias_init<T>{params + weight_count}, kernels::store_to<T>{stats});
  }

  // ---- The statistics [μ | log σ²] (2Z values per row): their layout and what is computed from them
  // lives here, in one place.
  static constexpr std::size_t stats_size = 2 * Z;
  template <class T>
  static T mean(const T* stats_row, std::size_t j) noexcept {
    return stats_row[j];
  }
  template <class T>
  static T log_variance(const T* stats_row, std::size_t j) noexcept {
    return stats_row[Z + j];
  }
  /// KL(q(z_j|x) ‖ N(0, 1)) of unit j of one row: ½(μ² + σ² − 1 − log σ²).
  template <class T>
  static double kl_unit(const T* stats_row, std::size_t j) noexcept {
    const double mu = mean(stats_row, j), lv = log_variance(stats_row, j);
    return 0.5 * (mu * mu + std::exp(lv) - 1.0 - lv);
  }
  /// Adds log p(z) − log q(z|x) of one row's code z to `lw` (the ½ log 2π constants cancel): with
  /// z = μ + σε, log p(z) = Σ_j −½ z_j² and log q(z|x) = Σ_j (−½ ε_j² − ½ log σ_j²).
  template <class T>
  static void add_log_prior_minus_log_q(const T* z, const T* stats_row, double& lw) noexcept {
    for (std::size_t j = 0; j < Z; ++j) {
      const double zj = z[j], lv = log_variance(stats_row, j);
      const double e = (zj - mean(stats_row, j)) * std::exp(-0.5 * lv);
      lw += -0.5 * zj * zj - (-0.5 * e * e - 0.5 * lv);
    }
  }

  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) noexcept {
    T* stats = cache;  // n × 2Z: [μ | log σ²] per row
    statistics(params, x, stats, n);
    reparameterise(stats, cache + n * 2 * Z, y, n, ctx);
  }

  /// From the statistics [μ | log σ²] of n rows (log σ² clamped here, in place) to the code y: z = μ + σ·ε
  /// with ε (kept in `eps`) drawn from the context's generator when training, else z = μ; adds β·KL to
  /// `ctx.penalty`. Shared with the spatial head, whose statistics come from a 1×1 convolution.
  template <class T>
  static void reparameterise(T* stats, T* eps, T* y, std::size_t n, Context<T>& ctx) noexcept {
    // log σ² is clamped to [−30, 30] (σ from 3·10⁻⁷ to 3·10⁶): e^{log σ²} then stays finite in float,
    // and the clamped values get no gradient.
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < Z; ++j) {
        T& lv = stats[r * 2 * Z + Z + j];
        lv = lv < T(-log_variance_limit) ? T(-log_variance_limit)
                                         : (lv > T(log_variance_limit) ? T(log_variance_limit) : lv);
      }
    if (ctx.gaussian_stats != nullptr)
      for (std::size_t i = 0; i < n * 2 * Z; ++i) ctx.gaussian_stats[i] = stats[i];
    if (!ctx.training || ctx.rng == nullptr) {
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < Z; ++j) y[r * Z + j] = stats[r * 2 * Z + j];
      return;
    }
    double kl = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const T* mu = stats + r * 2 * Z;
      const T* lv = mu + Z;
      for (std::size_t j = 0; j < Z; ++j) {
        const T e = static_cast<T>(ctx.rng->normal());
        const T var = std::exp(lv[j]);
        eps[r * Z + j] = e;
        y[r * Z + j] = mu[j] + std::sqrt(var) * e;
        kl += 0.5 * (static_cast<double>(mu[j]) * mu[j] + var - 1.0 - lv[j]);
      }
    }
    if (ctx.iw_weights == nullptr) ctx.penalty += static_cast<double>(ctx.kl_weight) * kl;
  }

  template <class T>
  static void backward(const T* params, const T* x, const T*, const T* cache, T* dy, T* dx, T* dparams, T* scratch,
                       std::size_t n, Context<T>& ctx) noexcept {
    T* dstats = scratch;  // n × 2Z
    reparameterise_backward(cache, cache + n * 2 * Z, dy, dstats, n, ctx);
    kernels::weight_gradient<2 * Z, void, T, kernels::arch_for<T, 2 * Z>>(
        In, n, x, dstats, static_cast<const T*>(nullptr), dparams, dparams + weight_count);
    // dx = dstats·Wᵀ with Wᵀ packed panel by panel (broadcast-FMA form, no horizontal sums).
    if (dx != nullptr)
      kernels::gemm<In, T, kernels::arch_for<T, In>>(n, 2 * Z, dstats, 2 * Z, 1, params, 1, 2 * Z, kernels::zero_init{},
                                                     kernels::store_to<T>{dx});
  }

  /// The gradient of the statistics (n × 2Z into `dstats`) from the code's (`dy`) and the KL term's
  /// (shared with the spatial head).
  template <class T>
  static void reparameterise_backward(const T* stats, const T* eps, const T* dy, T* dstats, std::size_t n,
                                      Context<T>& ctx) noexcept {
    const bool analytic = ctx.iw_weights == nullptr;
    const T klw = analytic ? ctx.kl_weight * ctx.grad_scale : T(0);
    for (std::size_t r = 0; r < n; ++r) {
      const T* mu = stats + r * 2 * Z;
      const T* lv = mu + Z;
      // Importance-weighted mode: the loss holds + log q(z|x) = −½ Σ lv + const (ε fixed).
      const T dlv_q = analytic ? T(0) : T(-0.5) * ctx.iw_weights[r];
      for (std::size_t j = 0; j < Z; ++j) {
        const T g = dy[r * Z + j];
        const T var = std::exp(lv[j]);
        // z = μ + e^{½ lv}·ε: ∂z/∂μ = 1, ∂z/∂lv = ½ e^{½ lv} ε; KL: ∂/∂μ = μ, ∂/∂lv = ½(e^{lv} − 1).
        dstats[r * 2 * Z + j] = g + klw * mu[j];
        const bool clamped = lv[j] <= T(-log_variance_limit) || lv[j] >= T(log_variance_limit);
        dstats[r * 2 * Z + Z + j] =
            clamped ? T(0) : g * T(0.5) * std::sqrt(var) * eps[r * Z + j] + klw * T(0.5) * (var - T(1)) + dlv_q;
        if (ctx.stat_grads != nullptr) {
          dstats[r * 2 * Z + j] += ctx.stat_grads[r * 2 * Z + j];
          if (!clamped) dstats[r * 2 * Z + Z + j] += ctx.stat_grads[r * 2 * Z + Z + j];
        }
      }
    }
  }
};

/// The Gaussian head of a VAE encoder with a Z-dimensional code: write it last in the encoder's `Seq`,
/// which infers its input size: `Seq<Dense<784, 400, Relu>, Gaussian<20>>`. See `GaussianHead`.
/// Shape rules: only at the end of a VAE's encoder; Z > 0. Example: examples/vae_fashion_mnist.cpp.
template <std::size_t Z>
struct Gaussian {
  static constexpr bool is_gaussian_head = true;
  static constexpr std::size_t out_size = Z;
  template <std::size_t In>
  using bind = GaussianHead<In, Z>;
};

namespace detail {
/// The spatial Gaussian head bound to its input shape `In` = shape<C, H, W>: one 1×1 convolution
/// C → 2Z per position (latent diffusion's `quant_conv`) gives [μ | log σ²] as 2Z channels of H × W,
/// so per sample the statistics are [μ (Z·H·W) | log σ² (Z·H·W)] and the code is Z × H × W — the same
/// layout as `GaussianHead<In, Z·H·W>`'s, with the same reparameterisation, KL and clamping.
/// Parameters: the convolution's, PyTorch's Conv2d(C, 2Z, 1) order [2Z][C], then its 2Z biases.
template <class In, std::size_t Z>
struct spatial_gaussian_head {
  static constexpr std::size_t C = In::channels, HW = In::height * In::width, Zt = Z * HW;
  using map = conv2d_layer<In, 2 * Z, 1, 1, Valid, Identity>;
  using head = GaussianHead<1, Zt>;  // the reparameterisation and KL of Zt units (its map is not used)
  static constexpr bool is_gaussian_head = true;
  using in_shape = In;
  using out_shape = shape<Z, In::height, In::width>;
  static constexpr std::size_t in_size = C * HW;
  static constexpr std::size_t out_size = Zt;
  static constexpr std::size_t code_size = Zt;
  static constexpr std::size_t weight_count = map::weight_count;
  static constexpr std::size_t param_count = map::param_count;
  static constexpr std::size_t bias_count = 2 * Z;
  static constexpr std::size_t cache_size = 3 * Zt + map::cache_size;
  static constexpr std::size_t scratch_size = 2 * Zt + map::scratch_size;
  static constexpr double forward_flops = map::forward_flops + 4.0 * Zt;
  static constexpr const char* name = "SpatialGaussian";
  static std::string signature() {
    return "SpatialGaussian<in " + std::to_string(C) + "x" + std::to_string(In::height) + "x" +
           std::to_string(In::width) + "," + std::to_string(Z) + ">";
  }
  static constexpr double log_variance_limit = head::log_variance_limit;
  static constexpr std::size_t stats_size = 2 * Zt;
  template <class T>
  static T mean(const T* stats_row, std::size_t j) noexcept {
    return stats_row[j];
  }
  template <class T>
  static T log_variance(const T* stats_row, std::size_t j) noexcept {
    return stats_row[Zt + j];
  }
  template <class T>
  static double kl_unit(const T* stats_row, std::size_t j) noexcept {
    return head::kl_unit(stats_row, j);
  }
  template <class T>
  static void add_log_prior_minus_log_q(const T* z, const T* stats_row, double& lw) noexcept {
    head::add_log_prior_minus_log_q(z, stats_row, lw);
  }

  template <class T>
  static void init(T* params, Rng& rng) {
    map::init(params, rng);
  }
  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) noexcept {
    T* stats = cache;  // n × 2Zt: [μ | log σ²] per row, the map's output
    map::forward(params, x, stats, cache + n * 3 * Zt, n, ctx);
    head::reparameterise(stats, cache + n * 2 * Zt, y, n, ctx);
  }
  template <class T>
  static void backward(const T* params, const T* x, const T*, const T* cache, T* dy, T* dx, T* dparams, T* scratch,
                       std::size_t n, Context<T>& ctx) noexcept {
    T* dstats = scratch;
    head::reparameterise_backward(cache, cache + n * 2 * Zt, dy, dstats, n, ctx);
    map::backward(params, x, cache, cache + n * 3 * Zt, dstats, dx, dparams, scratch + n * 2 * Zt, n, ctx);
  }
};
}  // namespace detail

/// The Gaussian head of a VAE encoder whose code keeps a shape (latent diffusion's spatial latents): after
/// a shaped layer C × H × W, a 1×1 convolution gives μ and log σ² of Z channels at every position, and
/// the code is Z × H × W (`Z·H·W` units, channel-first; a decoder starts with `Input<Z, H, W>`).
/// Sampling, KL and clamping as `Gaussian<Z>`'s. Shape rules: a shaped input; only at the end of a VAE's
/// encoder. Example: examples/kl_autoencoder_fashion_mnist.cpp.
template <std::size_t Z>
struct SpatialGaussian {
  static constexpr bool is_gaussian_head = true;
  static constexpr const char* name = "SpatialGaussian";
  template <class In>
  using bind_shape = detail::spatial_gaussian_head<In, Z>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_conv<At, SpatialGaussian, 2 * Z, 1, 1, Valid, false, In>();
  }
};

}  // namespace latent
