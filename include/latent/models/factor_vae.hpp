#pragma once
/// \file
/// `latent::FactorVAE<Enc, Dec, Disc, Lik, T>`: the VAE with a total-correlation penalty estimated by a
/// discriminator trained beside it (Kim & Mnih, "Disentangling by factorising", ICML 2018; pythae's
/// `FactorVAE`). The discriminator, `TCDiscriminator<Disc>`, is a latent layer chain with an Adam of its
/// own; its weights, moments and step count live in the model's state (models/code_prior.hpp), so
/// save/load, checkpoints, resumed fits, the last-good copy and MPI carry them. docs/factor-vae.md.

#include "latent/activations/identity.hpp"
#include "latent/activations/leaky_relu.hpp"
#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/update.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/signature.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/models/code_prior.hpp"
#include "latent/models/detail/model_rules.hpp"
#include "latent/models/detail/vae_model.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::fill, std::copy, std::max, std::swap
#include <cmath>      // std::exp, std::log, std::sqrt, std::expm1, std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <span>       // std::span: views of the discriminator's state
#include <string>     // std::string, std::to_string
#include <vector>     // std::vector: a permutation's row indices

namespace latent {

namespace diag {
/// A FactorVAE's discriminator must be a layer (e.g. a `Seq` of `Dense` layers).
template <class Discriminator, bool IsLayer>
struct factor_vae_discriminator_is_not_a_layer {
  static_assert(IsLayer, "latent: a FactorVAE's discriminator must be a layer such as "
                         "Seq<Dense<Z, 1000, LeakyRelu>, ..., Dense<1000, 2, Identity>>");
  static constexpr bool value = true;
};
/// It reads the code: its input size must be the encoder's code size Z.
template <class DiscriminatorExpects, class CodeSize, class Discriminator>
struct factor_vae_discriminator_input_size_does_not_match_code_size;
template <std::size_t Want, std::size_t Z, class Discriminator>
struct factor_vae_discriminator_input_size_does_not_match_code_size<expects_inputs<Want>, code_size<Z>, Discriminator> {
  static_assert(Want == Z, "latent: a FactorVAE's discriminator input size must equal the code size Z");
  static constexpr bool value = true;
};
/// It gives two logits per code: [joint (the codes as they are) | product of the marginals (permuted)].
template <class DiscriminatorGives, class Discriminator>
struct factor_vae_discriminator_does_not_give_two_logits;
template <std::size_t Out, class Discriminator>
struct factor_vae_discriminator_does_not_give_two_logits<gives_outputs<Out>, Discriminator> {
  static_assert(Out == 2, "latent: a FactorVAE's discriminator must give 2 logits per code (end in "
                          "Dense<H, 2, Identity>)");
  static constexpr bool value = true;
};
/// Its layers may keep no state of their own and may not couple rows (no BatchNorm, no Gaussian head):
/// its parameters and moments are the model's state already.
template <class Discriminator, bool Stateless>
struct factor_vae_discriminator_has_layer_state {
  static_assert(Stateless, "latent: a FactorVAE's discriminator may not have layers with state or batch "
                           "statistics (BatchNorm)");
  static constexpr bool value = true;
};
}  // namespace diag

/// A FactorVAE's settings. Defaults: γ = 2 (pythae's `FactorVAEConfig`; its MNIST config uses 5, its
/// dSprites config 35); the discriminator's Adam as in Kim & Mnih's appendix: learning rate 1e-4,
/// β1 = 0.5, β2 = 0.9 (pythae's `AdversarialTrainerConfig` has the same rate with PyTorch's default
/// βs 0.9, 0.999), ε = 1e-8.
struct FactorVAESettings {
  double gamma = 2.0;           ///< γ, the weight of the total-correlation term
  double learning_rate = 1e-4;  ///< the discriminator's Adam
  double beta1 = 0.5, beta2 = 0.9;
  double epsilon = 1e-8;

  /// The settings, checked: `option_error` naming the field, what was expected and what was found.
  FactorVAESettings validated() const {
    const auto fail = [](const char* what, double v) {
      throw option_error(std::string("FactorVAESettings: expected ") + what + ", found " + std::to_string(v));
    };
    if (!(gamma >= 0) || !std::isfinite(gamma)) fail("a finite gamma >= 0", gamma);
    if (!(learning_rate > 0) || !std::isfinite(learning_rate)) fail("a finite learning_rate > 0", learning_rate);
    if (!(beta1 >= 0 && beta1 < 1)) fail("0 <= beta1 < 1", beta1);
    if (!(beta2 >= 0 && beta2 < 1)) fail("0 <= beta2 < 1", beta2);
    if (!(epsilon > 0) || !std::isfinite(epsilon)) fail("a finite epsilon > 0", epsilon);
    return *this;
  }
};

/// pythae's (and Kim & Mnih's) discriminator for a code of Z values: five hidden `Dense` layers of H
/// units with leaky ReLU (slope 0.2), then 2 logits.
template <std::size_t Z, std::size_t H = 1000>
struct FactorDiscriminator
    : Seq<Dense<Z, H, LeakyReluWith<1, 5>>, Dense<H, H, LeakyReluWith<1, 5>>, Dense<H, H, LeakyReluWith<1, 5>>,
          Dense<H, H, LeakyReluWith<1, 5>>, Dense<H, H, LeakyReluWith<1, 5>>, Dense<H, 2, Identity>> {};

/// What a discriminator makes of a batch of codes (see `FactorVAE::discriminator_scores`).
struct DiscriminatorScores {
  double total_correlation = 0;  ///< the TC estimate: the mean of D(z)₀ − D(z)₁ over the codes
  double cross_entropy = 0;      ///< ½ (CE on the codes, class 0 + CE on the permuted codes, class 1), means
  double accuracy = 0;           ///< the share of the 2n codes it classes right (0.5: chance)
};

/// FactorVAE's discriminator: the layer chain `Net` (Z inputs, 2 logits) and its own Adam, as a
/// stateful code prior (models/code_prior.hpp). Its state, `state_size` values after the layers' in
/// the model's state, is [θ | m | v | t]: the chain's packed parameters, Adam's two moments and the
/// steps taken. In each training step, on the step's n codes z (drawn, n × Z):
///
/// - the term γ · Σ_r (D(z_r)₀ − D(z_r)₁), whose gradient reaches z (and the encoder) through the
///   discriminator, held fixed;
/// - the discriminator's gradient of ½ Σ_r [CE(D(z_r), 0) + CE(D(z̃_r), 1)] at the detached codes z and
///   z̃, each column of z permuted across the rows with the step's generator, into the step's
///   statistics (summed over processes); `update_state` then takes one Adam step with their mean.
///
/// A step of fewer than 2 rows has no permutation: the discriminator's gradient is 0 then.
template <class Net>
class TCDiscriminator {
  static_assert(diag::factor_vae_discriminator_is_not_a_layer<Net, detail::layer_sizes<Net>>::value);
  static_assert(diag::factor_vae_discriminator_does_not_give_two_logits<
                diag::gives_outputs<detail::out_size_or_zero<Net>()>, Net>::value);
  static constexpr bool stateless = !detail::stateful<Net> && !detail::batch_coupled<Net>;
  static_assert(diag::factor_vae_discriminator_has_layer_state<Net, stateless>::value);

 public:
  using network_type = Net;
  /// The chain's parameters, and the code size it reads.
  static constexpr std::size_t param_count = detail::param_count_or_zero<Net>();
  static constexpr std::size_t code_size = [] {
    if constexpr (detail::layer_sizes<Net>)
      return std::size_t{Net::in_size};
    else
      return std::size_t{0};
  }();
  /// The code-prior hooks: [θ | m | v | t] in the model's state, ∂L_D/∂θ as the step's statistics.
  static constexpr std::size_t state_size = 3 * param_count + 1;
  static constexpr std::size_t step_stats_size = param_count;
  static constexpr const char* model_name = "FactorVAE";
  static constexpr bool replaces_kl = false;  // the VAE's KL stays, weighted by β (1)
  static constexpr bool splittable = false;   // the permutation couples the rows
  /// The model's kind in `architecture()`: the discriminator's layers are part of it.
  static std::string kind() { return std::string(model_name) + "<" + signature<Net>() + ">"; }

  FactorVAESettings settings;

  TCDiscriminator() = default;
  explicit TCDiscriminator(const FactorVAESettings& s) : settings(s) {}
  TCDiscriminator validated() const { return TCDiscriminator(settings.validated()); }

  /// θ drawn as the chain's `init` does (Glorot uniform, zero biases), the moments and t at 0.
  template <class T>
  void init_state(T* state, Rng& rng) const {
    Net::init(state, rng);
    std::fill(state + param_count, state + state_size, T(0));
  }

  /// One Adam step of θ with the step's gradient `grad` (latent's `Adam` rule, kernels::adam_update):
  /// m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², θ ← θ − lr·√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v + ε).
  template <class T>
  void update_state(T* state, const T* grad) const {
    T& t = state[3 * param_count];
    t += T(1);  // exact in float to 2^24 steps, long after the bias corrections have reached 1
    const double steps = static_cast<double>(t);
    const double rate = settings.learning_rate * std::sqrt(moment_weight<T>(settings.beta2, steps)) /
                        moment_weight<T>(settings.beta1, steps);
    kernels::adam_update(param_count, state, grad, state + param_count, state + 2 * param_count, static_cast<T>(rate),
                         static_cast<T>(settings.beta1), static_cast<T>(settings.beta2),
                         static_cast<T>(settings.epsilon));
  }

  /// The code-prior hook (see the class comment): returns γ · Σ_r (D(z_r)₀ − D(z_r)₁), adds
  /// grad_scale · its gradient to dz, and grad_scale · ∂/∂θ of ½ Σ_r [CE(D(z_r), 0) + CE(D(z̃_r), 1)] to
  /// `step_stats`. The discriminator's θ is the start of `state`.
  template <class T>
  double batch_penalty(const T* z, const T*, std::size_t n, std::size_t Z, T* dz, T*, T grad_scale, Rng& rng,
                       const T* state, T* step_stats) {
    if (Z != code_size)
      throw shape_error("FactorVAE: expected codes of " + std::to_string(code_size) + " values, found " +
                        std::to_string(Z));
    const T weight = static_cast<T>(settings.gamma) * grad_scale;
    const double tc = tc_sum(state, z, n, weight != T(0) ? dz : nullptr, weight);
    if (n >= 2) {
      T* zp = scratch<T>(1, n * Z);
      permute_dims(z, n, Z, zp, rng);
      cross_entropy(state, z, zp, n, step_stats, grad_scale);
    }
    return settings.gamma * tc;
  }

  // ---- the network on its own (what the hook uses; the tests check each against differences) -------

  /// The logits D(z) of n codes (n × 2) under parameters θ.
  template <class T>
  static void logits(const T* params, const T* z, std::size_t n, T* out) {
    Context<T> ctx;
    Net::forward(params, z, out, scratch<T>(2, n * Net::cache_size), n, ctx);
  }

  /// Σ_r (D(z_r)₀ − D(z_r)₁) over n codes; with `dz`, adds scale · its gradient with respect to z to it.
  template <class T>
  static double tc_sum(const T* params, const T* z, std::size_t n, T* dz, T scale) {
    T* y = scratch<T>(3, n * 2);
    T* cache = scratch<T>(2, n * Net::cache_size);
    Context<T> ctx;
    Net::forward(params, z, y, cache, n, ctx);
    double sum = 0;
    for (std::size_t r = 0; r < n; ++r) sum += static_cast<double>(y[2 * r]) - static_cast<double>(y[2 * r + 1]);
    if (dz != nullptr) {
      T* dy = scratch<T>(4, n * 2);
      for (std::size_t r = 0; r < n; ++r) dy[2 * r] = scale, dy[2 * r + 1] = -scale;
      T* dx = scratch<T>(5, n * code_size);
      detail::layer_backward_call<Net>(params, z, y, cache, dy, dx, scratch<T>(6, param_count),
                                       scratch<T>(7, n * Net::scratch_size), n, ctx);
      for (std::size_t i = 0; i < n * code_size; ++i) dz[i] += dx[i];
    }
    return sum;
  }

  /// ½ Σ_r [CE(D(z_r), 0) + CE(D(zp_r), 1)] over n codes z and n codes zp (class 0: the joint
  /// distribution, as the codes come; class 1: the product of the marginals, as permuted), with
  /// CE(l, c) = log(e^{l₀} + e^{l₁}) − l_c; with `grad`, adds scale · its gradient with respect to θ to it.
  /// pythae's discriminator loss is this / n.
  template <class T>
  static double cross_entropy(const T* params, const T* z, const T* zp, std::size_t n, T* grad, T scale) {
    const std::size_t m = 2 * n;
    T* x = scratch<T>(0, m * code_size);
    std::copy(z, z + n * code_size, x);
    std::copy(zp, zp + n * code_size, x + n * code_size);
    T* y = scratch<T>(3, m * 2);
    T* cache = scratch<T>(2, m * Net::cache_size);
    Context<T> ctx;
    Net::forward(params, x, y, cache, m, ctx);
    T* dy = scratch<T>(4, m * 2);
    double loss = 0;
    for (std::size_t r = 0; r < m; ++r) {
      const double l0 = y[2 * r], l1 = y[2 * r + 1], top = std::max(l0, l1);
      const double e0 = std::exp(l0 - top), e1 = std::exp(l1 - top), lse = top + std::log(e0 + e1);
      const bool permuted = r >= n;
      loss += 0.5 * (lse - (permuted ? l1 : l0));
      // ∂/∂l of ½ CE: ½ (softmax(l) − one_hot(c)).
      const double p0 = e0 / (e0 + e1);
      dy[2 * r] = static_cast<T>(0.5 * (p0 - (permuted ? 0.0 : 1.0))) * scale;
      dy[2 * r + 1] = static_cast<T>(0.5 * ((1 - p0) - (permuted ? 1.0 : 0.0))) * scale;
    }
    if (grad != nullptr) {
      T* dp = scratch<T>(6, param_count);
      detail::layer_backward_call<Net>(params, x, y, cache, dy, static_cast<T*>(nullptr), dp,
                                       scratch<T>(7, m * Net::scratch_size), m, ctx);
      for (std::size_t i = 0; i < param_count; ++i) grad[i] += dp[i];
    }
    return loss;
  }

  /// Each of the Z columns of z (n × Z) permuted across the rows into `out` (a Fisher–Yates shuffle per
  /// column, columns in order, from `rng`): a draw from the product of the batch's marginals.
  template <class T>
  static void permute_dims(const T* z, std::size_t n, std::size_t Z, T* out, Rng& rng) {
    thread_local std::vector<std::size_t> rows;
    rows.resize(n);
    for (std::size_t j = 0; j < Z; ++j) {
      for (std::size_t r = 0; r < n; ++r) rows[r] = r;
      for (std::size_t r = n; r > 1; --r) std::swap(rows[r - 1], rows[rng.below(r)]);
      for (std::size_t r = 0; r < n; ++r) out[r * Z + j] = z[rows[r] * Z + j];
    }
  }

 private:
  // 1 − β̃ᵗ for β rounded to T, as `Adam` computes it (the kernel decays the moments by the rounded β).
  template <class T>
  static double moment_weight(double beta, double steps) noexcept {
    const T b = static_cast<T>(beta);
    const double kept = static_cast<double>(b), added = static_cast<double>(T(1) - b);
    if (kept == 0) return added;
    return added / (1 - kept) * -std::expm1(steps * std::log(kept));
  }
  // Workspace `k` of this thread, at least `size` values (grown once, then reused).
  template <class T>
  static T* scratch(std::size_t k, std::size_t size) {
    thread_local aligned_buffer<T> buffers[8];
    buffers[k].reserve(std::max<std::size_t>(size, 1));
    return buffers[k].data();
  }
};

/// FactorVAE (Kim & Mnih 2018): a `VAE` whose training loss adds γ times the total correlation of the
/// codes, TC(z) = KL(q(z) ‖ Π_j q(z_j)), estimated by the discriminator `Disc` (Z inputs, 2 logits) with
/// the density-ratio trick: per sample
///
///     −ELBO + γ · (D(z)₀ − D(z)₁),   z ~ q(z|x)
///
/// (the ELBO's KL weighted by β, 1 by default), averaged over the batch; the discriminator, held fixed
/// in the VAE's step, passes the term's gradient to the encoder. In the same step the discriminator
/// takes one Adam step of its own on the step's codes, detached, against their per-dimension
/// permutation across the batch (see `TCDiscriminator`); `gradient()` forms the gradients without that
/// step. Steps run on one thread (the permutation couples the rows).
///
/// API: `VAE`'s, plus `settings` / `set_settings` (`FactorVAESettings`: γ and the discriminator's Adam),
/// `discriminator_parameters`, `discriminator_moment`, `discriminator_steps` (views of `state()`),
/// `discriminator_logits(z)` and `discriminator_scores(x, seed)`. Rules, at compile time: `VAE`'s, and
/// the discriminator is a stateless layer from Z values to 2. docs/factor-vae.md; tests/test_factor_vae.cpp.
template <class Enc, class Dec, class Disc = FactorDiscriminator<detail::out_size_or_zero<Enc>()>,
          class Lik = Bernoulli, class T = float>
class FactorVAE : public detail::vae_model<Enc, Dec, Lik, T, 0, 1, TCDiscriminator<Disc>> {
  using base = detail::vae_model<Enc, Dec, Lik, T, 0, 1, TCDiscriminator<Disc>>;
  static_assert(diag::factor_vae_discriminator_input_size_does_not_match_code_size<
                diag::expects_inputs<TCDiscriminator<Disc>::code_size>,
                diag::code_size<detail::out_size_or_zero<Enc>()>, Disc>::value);

 public:
  using discriminator_type = TCDiscriminator<Disc>;
  static constexpr std::size_t discriminator_param_count = discriminator_type::param_count;

  /// Weights (the discriminator's too) drawn from `seed`; `option_error` for bad settings.
  explicit FactorVAE(std::uint64_t seed = 0, const FactorVAESettings& settings = {})
      : base(seed, discriminator_type(settings.validated())) {}

  /// γ and the discriminator's Adam settings (not saved with the model, as β is not).
  const FactorVAESettings& settings() const noexcept { return this->prior_.settings; }
  /// Changes them (the discriminator and its moments stay); `option_error` for bad settings.
  void set_settings(const FactorVAESettings& s) { this->set_code_prior(discriminator_type(s)); }

  /// The discriminator's packed parameters θ (`discriminator_param_count` values, packed as `Disc`'s):
  /// a view of the model's state. (The non-const form counts as a change of the model.)
  std::span<const T> discriminator_parameters() const noexcept {
    return this->code_prior_state().first(discriminator_param_count);
  }
  std::span<T> discriminator_parameters() noexcept { return this->code_prior_state().first(discriminator_param_count); }
  /// Adam's first (k = 0) or second (k = 1) moment of θ; `option_error` for another k.
  std::span<const T> discriminator_moment(std::size_t k) const {
    if (k > 1) throw option_error("discriminator_moment: expected moment 0 or 1, found " + std::to_string(k));
    return this->code_prior_state().subspan((k + 1) * discriminator_param_count, discriminator_param_count);
  }
  /// The discriminator's Adam steps taken (one per training step).
  std::size_t discriminator_steps() const noexcept {
    return static_cast<std::size_t>(this->code_prior_state()[3 * discriminator_param_count]);
  }

  /// The discriminator's logits [joint | permuted] of codes z (n × Z → n × 2). `shape_error` for
  /// another width, `data_error` for no rows or a NaN/Inf.
  xt::xtensor<T, 2> discriminator_logits(const xt::xtensor<T, 2>& z) const {
    detail::check_samples(z, this->code_size, "discriminator_logits", "the model's code size");
    xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({z.shape()[0], 2});
    discriminator_type::logits(discriminator_parameters().data(), z.data(), z.shape()[0], out.data());
    return out;
  }

  /// The discriminator on the codes of x, one draw z ~ q(z|x) per row (`encode_sample(x, seed)`), and on
  /// their per-dimension permutation across the rows (from Rng(seed)): the TC estimate, the
  /// cross-entropy and the accuracy (see `DiscriminatorScores`). `option_error` for fewer than 2 rows.
  DiscriminatorScores discriminator_scores(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const {
    detail::check_samples(x, this->input_size, "discriminator_scores");
    const std::size_t n = x.shape()[0], Z = this->code_size;
    if (n < 2) throw option_error("discriminator_scores: expected at least 2 rows to permute, found 1");
    const xt::xtensor<T, 2> z = this->encode_sample(x, seed);
    xt::xtensor<T, 2> zp = xt::xtensor<T, 2>::from_shape({n, Z});
    Rng rng(seed);
    discriminator_type::permute_dims(z.data(), n, Z, zp.data(), rng);
    const xt::xtensor<T, 2> lj = discriminator_logits(z), lp = discriminator_logits(zp);
    DiscriminatorScores s;
    std::size_t right = 0;
    for (std::size_t r = 0; r < n; ++r) {
      s.total_correlation += static_cast<double>(lj(r, 0)) - static_cast<double>(lj(r, 1));
      right += (lj(r, 0) > lj(r, 1)) + (lp(r, 1) > lp(r, 0));
    }
    const T* theta = discriminator_parameters().data();
    const double dn = static_cast<double>(n);
    s.total_correlation /= dn;
    s.cross_entropy =
        discriminator_type::cross_entropy(theta, z.data(), zp.data(), n, static_cast<T*>(nullptr), T(1)) / dn;
    s.accuracy = static_cast<double>(right) / (2 * dn);
    return s;
  }
};

}  // namespace latent
