#pragma once
/// \file
/// `latent::VampVAE<Enc, Dec, Components, Lik, T>`: the VAE with the VampPrior (Tomczak & Welling, "VAE
/// with a VampPrior", 2018; pythae's `VAMP`): the prior is the mixture of the encoder's own posteriors at
/// K learned pseudo-inputs, p(z) = (1/K) Σ_k q(z | u_k), and the KL term is replaced by its one-draw
/// estimate log q(z|x) − log p(z). docs/vampprior.md.

#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/random.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/models/detail/vae_model.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::copy
#include <array>    // std::array: the model's name
#include <cmath>    // std::exp, std::log
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <limits>   // std::numeric_limits
#include <vector>   // std::vector: the term's per-step sums (grown once, reused)

namespace latent {

namespace detail {
/// "VampVAE<K>" as characters, for `architecture()`.
template <std::size_t K>
struct vamp_name {
  static constexpr std::array<char, 32> chars = [] {
    std::array<char, 32> s{};
    const char* head = "VampVAE<";
    std::size_t i = 0;
    for (; head[i] != 0; ++i) s[i] = head[i];
    char digits[24]{};
    std::size_t nd = 0;
    std::size_t v = K;
    do {
      digits[nd++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (nd != 0) s[i++] = digits[--nd];
    s[i] = '>';
    return s;
  }();
};
}  // namespace detail

/// The VampPrior of a `VampVAE` with K components on data rows of D values: an `AnchoredCodePrior`
/// (models/code_prior.hpp) whose anchors are the K pseudo-inputs.
///
/// Parameters (K·D + D, after the likelihood's): pythae's pseudo-input layer, a linear map from the K × K
/// identity ("idle input") followed by hardtanh to [0, 1], so pseudo-input k is
/// u_k = clamp(W_k + b, 0, 1) with W (K × D, row k for component k: PyTorch's `weight` is its transpose,
/// D × K) and b (D). Initialisation: W ~ N(0.05, 0.01²), b = 0 (Tomczak & Welling's code: every u_k
/// starts inside (0, 1), where hardtanh passes gradients; PyTorch's default init, which pythae keeps,
/// starts about half of the values clamped at 0).
///
/// With the encoder's statistics (μ_k, log σ²_k) at u_k (no noise),
///   log p(z) = log (1/K) Σ_k N(z; μ_k, diag σ²_k)            (log-sum-exp, stably)
/// and the training term per row is log q(z|x) − log p(z) at the row's drawn z, its gradient taken
/// through z, the row's statistics and the components' statistics (hence the encoder's weights via the
/// pseudo-inputs' pass, and W and b). It couples the batch with the pseudo-inputs: a step is not split
/// over threads (two threads give one thread's bits).
template <std::size_t K, std::size_t D>
struct VampPrior {
  static_assert(K > 0, "latent: a VampPrior needs at least one component");
  static constexpr std::size_t components = K;
  static constexpr std::size_t anchors = K;
  static constexpr std::size_t weight_count = K * D;
  static constexpr std::size_t param_count = K * D + D;
  static constexpr bool replaces_kl = true;
  static constexpr bool splittable = false;
  static constexpr const char* model_name = detail::vamp_name<K>::chars.data();
  /// The pseudo-input weights' initial mean and standard deviation (Tomczak & Welling's MNIST values).
  static constexpr double init_mean = 0.05, init_std = 0.01;

  /// W ~ N(init_mean, init_std²), b = 0.
  template <class T>
  void init(T* own, Rng& rng) const {
    for (std::size_t i = 0; i < weight_count; ++i) own[i] = static_cast<T>(init_mean + init_std * rng.normal());
    for (std::size_t j = 0; j < D; ++j) own[weight_count + j] = T(0);
  }
  /// The K pseudo-inputs u_k = clamp(W_k + b, 0, 1) (K × D).
  template <class T>
  void anchor_inputs(const T* own, T* rows, std::size_t) const {
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < D; ++j) {
        const T v = own[k * D + j] + own[weight_count + j];
        rows[k * D + j] = v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
      }
  }
  /// ∂/∂W and ∂/∂b from ∂/∂u (K × D); stored. Hardtanh passes the gradient strictly inside (0, 1).
  template <class T>
  void anchor_inputs_backward(const T* own, const T* drows, T* down, std::size_t) const {
    for (std::size_t j = 0; j < D; ++j) down[weight_count + j] = T(0);
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < D; ++j) {
        const T v = own[k * D + j] + own[weight_count + j];
        const T g = (v > T(0) && v < T(1)) ? drows[k * D + j] : T(0);
        down[k * D + j] = g;
        down[weight_count + j] += g;
      }
  }

  /// log p(z) of n codes of Z values, given the components' statistics `as` (K × 2Z, [μ_k | log σ²_k]).
  template <class T>
  void log_density(const T* z, std::size_t n, std::size_t Z, const T* as, double* out) const {
    double a[K];
    for (std::size_t r = 0; r < n; ++r) out[r] = mixture(z + r * Z, Z, as, a);
  }
  /// n draws from the prior: a component k uniformly, then z ~ N(μ_k, diag σ²_k).
  template <class T>
  void sample(std::size_t n, std::size_t Z, const T* as, Rng& rng, T* z) const {
    for (std::size_t r = 0; r < n; ++r) {
      std::size_t k = static_cast<std::size_t>(rng.uniform() * static_cast<double>(K));
      if (k >= K) k = K - 1;
      const T* c = as + k * 2 * Z;
      for (std::size_t j = 0; j < Z; ++j)
        z[r * Z + j] = static_cast<T>(c[j] + std::exp(0.5 * static_cast<double>(c[Z + j])) * rng.normal());
    }
  }

  /// The term Σ_r [log q(z_r|x_r) − log p(z_r)] over the n rows, and grad_scale times its gradient
  /// added to dz (n × Z), dstats (n × 2Z, the rows' [μ | log σ²]) and das (K × 2Z, the components').
  template <class T>
  double batch_penalty(const T* z, const T* stats, std::size_t n, std::size_t Z, T* dz, T* dstats, T grad_scale,
                       Rng&, const T* as, T* das) const {
    thread_local std::vector<double> dcomp;  // the components' gradient, summed in row order
    dcomp.assign(K * 2 * Z, 0.0);
    const double gs = static_cast<double>(grad_scale);
    double a[K];
    double term = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const T* zr = z + r * Z;
      const T* sr = stats + r * 2 * Z;
      // log q(z|x) and its partial derivatives in z, μ and log σ² (z, μ, log σ² taken as independent:
      // the head's backward chains z = μ + σε).
      const double lq = log_normal(zr, sr, Z);
      for (std::size_t j = 0; j < Z; ++j) {
        const double e = (static_cast<double>(zr[j]) - sr[j]) * std::exp(-static_cast<double>(sr[Z + j]));
        const double d = static_cast<double>(zr[j]) - sr[j];
        dz[r * Z + j] += static_cast<T>(gs * -e);
        dstats[r * 2 * Z + j] += static_cast<T>(gs * e);
        dstats[r * 2 * Z + Z + j] += static_cast<T>(gs * (-0.5 + 0.5 * d * e));
      }
      // −log p(z): the responsibilities w_k = softmax_k(a_k) weight each component's partials.
      const double lp = mixture(zr, Z, as, a);
      term += lq - lp;
      for (std::size_t k = 0; k < K; ++k) {
        const double w = std::exp(a[k] - lp - std::log(static_cast<double>(K)));
        const T* c = as + k * 2 * Z;
        for (std::size_t j = 0; j < Z; ++j) {
          const double d = static_cast<double>(zr[j]) - c[j];
          const double e = d * std::exp(-static_cast<double>(c[Z + j]));
          dz[r * Z + j] += static_cast<T>(gs * w * e);
          dcomp[k * 2 * Z + j] -= w * e;
          dcomp[k * 2 * Z + Z + j] += w * (0.5 - 0.5 * d * e);
        }
      }
    }
    for (std::size_t i = 0; i < K * 2 * Z; ++i) das[i] += static_cast<T>(gs * dcomp[i]);
    return term;
  }

 private:
  static constexpr double half_log_2pi = 0.91893853320467274178;
  // log N(z; μ, diag σ²) with the statistics [μ | log σ²] at s.
  template <class T>
  static double log_normal(const T* z, const T* s, std::size_t Z) noexcept {
    double l = 0;
    for (std::size_t j = 0; j < Z; ++j) {
      const double lv = s[Z + j], d = static_cast<double>(z[j]) - s[j];
      l += -half_log_2pi - 0.5 * lv - 0.5 * d * d * std::exp(-lv);
    }
    return l;
  }
  // log p(z) = logsumexp_k a_k − log K, with a_k = log N(z; μ_k, σ²_k) left in a[0..K).
  template <class T>
  static double mixture(const T* z, std::size_t Z, const T* as, double* a) noexcept {
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < K; ++k) {
      a[k] = log_normal(z, as + k * 2 * Z, Z);
      mx = a[k] > mx ? a[k] : mx;
    }
    double s = 0;
    for (std::size_t k = 0; k < K; ++k) s += std::exp(a[k] - mx);
    return mx + std::log(s) - std::log(static_cast<double>(K));
  }
};

/// A VAE with the VampPrior (Tomczak & Welling 2018; pythae's `VAMP`): the prior is the mixture of the
/// encoder's posteriors at `Components` learned pseudo-inputs (see `VampPrior`), pythae's default 50.
///
/// Training loss per sample: −E_q[log p(x|z)] + β·(log q(z|x) − log p(z)) at one draw z = μ + σε, the
/// KL estimated by that draw (not in closed form); β (`set_beta`, default 1) and the linear KL warm-up
/// (`set_kl_warmup`, in steps; pythae's `linear_scheduling_steps` counts epochs, default 0) weight it.
/// The encoder runs on the K pseudo-inputs in every step, so the prior's gradient reaches the
/// encoder's weights through them and the pseudo-inputs' own parameters (the model's last K·D + D). A
/// step couples the batch with the pseudo-inputs and runs on one thread.
///
/// Same API and rules as `VAE`, with the VampPrior where the VAE has N(0, I): `generate(n, seed)` draws
/// a component uniformly, then z ~ q(z|u_k), and decodes it; `elbo`, `elbo_terms`, `loss` and
/// `log_likelihood` use log p(z) of the mixture (the KL as its one-draw estimate); `kl_per_unit` stays
/// the closed-form KL against N(0, 1) per unit (a diagnostic of collapsed units). Plus `pseudo_inputs()`,
/// `prior_statistics()` and `prior_log_density(z)`.
///
/// Rules: those of `VAE`, and an encoder without state (no BatchNorm: its pseudo-input pass runs in eval
/// mode). docs/vampprior.md.
template <class Enc, class Dec, std::size_t Components = 50, class Lik = Bernoulli, class T = float>
class VampVAE
    : public detail::vae_model<Enc, Dec, Lik, T, 0, 1, VampPrior<Components, detail::out_size_or_zero<Dec>()>> {
  using model = detail::vae_model<Enc, Dec, Lik, T, 0, 1, VampPrior<Components, detail::out_size_or_zero<Dec>()>>;

 public:
  using prior_type = VampPrior<Components, detail::out_size_or_zero<Dec>()>;  ///< the prior (`code_prior()`)
  static constexpr std::size_t components = Components;                        ///< K, the pseudo-inputs
  /// Where the pseudo-inputs' parameters start in `parameters()`: W (K × D), then b (D).
  static constexpr std::size_t prior_offset = model::prior_offset;

  /// Weights and pseudo-inputs drawn from `seed`; the same seed gives the same weights and noise.
  explicit VampVAE(std::uint64_t seed = 0) : model(seed) {}

  /// The K pseudo-inputs u_k = clamp(W_k + b, 0, 1) (K × input_size).
  xt::xtensor<T, 2> pseudo_inputs() const {
    xt::xtensor<T, 2> u = xt::xtensor<T, 2>::from_shape({Components, model::input_size});
    this->prior_.anchor_inputs(this->params() + prior_offset, u.data(), model::input_size);
    return u;
  }
  /// The components' statistics: row k is [μ | log σ²] of q(z | u_k) (K × 2·code_size).
  xt::xtensor<T, 2> prior_statistics() const {
    const std::vector<T> as = this->anchor_statistics();
    xt::xtensor<T, 2> st = xt::xtensor<T, 2>::from_shape({Components, 2 * model::code_size});
    std::copy(as.begin(), as.end(), st.begin());
    return st;
  }
  /// log p(z) under the VampPrior for each row of `z` (n × code_size), in nats, −Z/2·log 2π included.
  /// `shape_error` if z's width is not the code size, `data_error` for no rows or a NaN/Inf.
  xt::xtensor<double, 1> prior_log_density(const xt::xtensor<T, 2>& z) const {
    detail::check_samples(z, model::code_size, "prior_log_density", "the model's code size");
    const std::vector<T> as = this->anchor_statistics();
    xt::xtensor<double, 1> out = xt::xtensor<double, 1>::from_shape({z.shape()[0]});
    this->prior_.log_density(z.data(), z.shape()[0], model::code_size, as.data(), out.data());
    return out;
  }
};

}  // namespace latent
