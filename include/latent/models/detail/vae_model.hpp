#pragma once
/// \file
/// `latent::detail::vae_model`: the VAE family's core, shared by `VAE`, `IWAE` and (through its
/// adaptor, models/conditional_vae.hpp) `ConditionalVAE`. It writes each computation once, on rows
/// with optional one-hot conditions; the public API of the unconditional models is `model_base`'s and
/// the few VAE calls below, and the conditional adaptor hides them behind forms that take labels.

#include "latent/activations/identity.hpp"
#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/losses/likelihood.hpp"
#include "latent/models/code_prior.hpp"
#include "latent/models/detail/model_base.hpp"
#include "latent/models/detail/model_rules.hpp"
#include "latent/models/detail/workspace.hpp"
#include "latent/models/regulariser.hpp"  // splittable_with

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>    // std::max, std::min, std::copy, std::fill
#include <cmath>        // std::exp, std::log, std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <limits>       // std::numeric_limits
#include <span>         // std::span: a code prior's state
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v
#include <utility>      // std::pair, std::move
#include <vector>       // std::vector

namespace latent::detail {

// Every VAE rule, one carrier each; true when the model is well formed.
template <class Enc, class Dec, class Lik, class T, std::size_t C>
constexpr bool check_vae() {
  static_assert(check_likelihood<Lik, T>());
  if constexpr (check_parts<Enc, Dec, T>()) {
    static_assert(diag::vae_encoder_does_not_end_in_a_gaussian_head<Enc, is_gaussian_head_v<last_layer_t<Enc>>>::value);
    static_assert(diag::gaussian_head_is_not_at_the_end_of_the_encoder<
                  diag::before_the_end_of_the_encoder, Enc,
                  (gaussian_head_count_v<Enc> > 0 ? gaussian_head_count_v<Enc> - 1 : 0)>::value);
    static_assert(
        diag::gaussian_head_is_not_at_the_end_of_the_encoder<diag::in_decoder, Dec, gaussian_head_count_v<Dec>>::value);
    if constexpr (C == 0) {
      static_assert(
          diag::decoder_input_size_does_not_match_encoder_output<diag::expects_inputs<Dec::in_size>,
                                                                 diag::gives_outputs<Enc::out_size>, Dec, Enc>::value);
      static_assert(check_reconstruction<Enc, Dec>());
    } else {
      static_assert(diag::decoder_input_size_does_not_match_code_plus_condition<
                    diag::expects_inputs<Dec::in_size>, diag::code_size<Enc::out_size>, diag::plus_classes<C>,
                    diag::total<Enc::out_size + C>, Dec, Enc>::value);
      static_assert(check_reconstruction<Enc, Dec, C * condition_plane<Enc>(), C>());
    }
    if constexpr (Lik::takes_logits)
      static_assert(
          diag::logit_loss_needs_an_identity_output_layer<Lik, last_activation_t<Dec>,
                                                          std::is_same_v<last_activation_t<Dec>, Identity>>::value);
  }
  return true;
}

/// The parameters of a code prior of its own (an `AnchoredCodePrior`: models/code_prior.hpp), else 0.
template <class P, class T>
constexpr std::size_t prior_params_or_zero() {
  if constexpr (AnchoredCodePrior<P, T>)
    return P::param_count;
  else
    return 0;
}

/// A variational autoencoder with a Gaussian encoder head, likelihood `Lik`, `C` condition inputs
/// (one-hot labels joined to the encoder's and the decoder's input; 0 for an unconditional model) and
/// `K` importance samples in the training objective (1: the ELBO; K > 1: the IWAE bound) and a batch
/// term `P` on the codes (`no_code_prior`, or a `CodePrior`: models/code_prior.hpp; with K = 1 only).
template <class Enc, class Dec, class Lik, class T, std::size_t C, std::size_t K, class P = no_code_prior>
class vae_model : public model_base<vae_model<Enc, Dec, Lik, T, C, K, P>, Enc, Dec, T,
                                    param_count_or_zero<Enc>() + param_count_or_zero<Dec>() +
                                        likelihood_params_or_zero<Lik, out_size_or_zero<Dec>()>() +
                                        prior_params_or_zero<P, T>(),
                                    out_size_or_zero<Dec>(), out_size_or_zero<Enc>(), C, code_prior_state_size<P>(),
                                    code_prior_stats_size<P>()> {
  static_assert(check_vae<Enc, Dec, Lik, T, C>());
  static_assert(K >= 1, "latent: the number of importance samples must be at least 1");
  static constexpr bool has_prior = !std::is_same_v<P, no_code_prior>;
  static_assert(!has_prior || (K == 1 && CodePrior<P, T>),
                "latent: a VAE's code prior needs K = 1 and the CodePrior hooks (models/code_prior.hpp)");
  static_assert(!AnchoredCodePrior<P, T> || C == 0,
                "latent: a code prior with anchors (models/code_prior.hpp) needs an unconditional VAE");
  static_assert(diag::code_prior_with_anchors_needs_an_encoder_without_state<
                Enc, !AnchoredCodePrior<P, T> || (!stateful<Enc> && !batch_coupled<Enc>)>::value);
  static_assert(diag::importance_weighted_bound_repeats_rows_through_batch_statistics<
                K, Enc, Dec, K == 1 || !(batch_coupled<Enc> || batch_coupled<Dec>)>::value);
  using base = model_base<vae_model, Enc, Dec, T,
                          param_count_or_zero<Enc>() + param_count_or_zero<Dec>() +
                              likelihood_params_or_zero<Lik, out_size_or_zero<Dec>()>() +
                              prior_params_or_zero<P, T>(),
                          out_size_or_zero<Dec>(), out_size_or_zero<Enc>(), C, code_prior_state_size<P>(),
                          code_prior_stats_size<P>()>;
  friend base;

 public:
  using likelihood_type = Lik;
  using base::code_size;
  using base::input_size;
  using base::param_count;
  static constexpr std::size_t importance_samples = K;

  explicit vae_model(std::uint64_t seed = 0, P prior = {}) : base(seed), prior_(std::move(prior)) {
    initialize(seed);
  }

  /// Re-draws all weights from `seed` (Glorot uniform, zero biases, likelihood parameters at 0).
  void initialize(std::uint64_t seed) {
    Rng rng(seed);
    Enc::init(this->params(), rng);
    Dec::init(this->params() + Enc::param_count, rng);
    Lik::init(this->params() + lik_offset, D);
    if constexpr (anchored) prior_.init(this->params() + prior_offset, rng);
    this->init_layer_state();
    if constexpr (stateful_prior) prior_.init_state(this->state_data() + base::own_state_offset, rng);
    this->reseed_noise(seed);
    this->forget_backup();
    this->steps_ = 0;
  }

  /// β of a β-VAE: the weight of the KL term in the training loss (default 1).
  void set_beta(double beta) {
    if (!(beta >= 0) || !std::isfinite(beta))
      throw option_error("set_beta: expected a finite beta >= 0, found " + std::to_string(beta));
    beta_ = beta;
  }
  double beta() const noexcept { return beta_; }
  /// The batch term on the codes (models/code_prior.hpp) and its settings; `set_code_prior` checks
  /// them through the term's `validated()` when it has one.
  const P& code_prior() const noexcept { return prior_; }
  void set_code_prior(P prior) {
    if constexpr (requires { prior.validated(); })
      prior_ = prior.validated();
    else
      prior_ = std::move(prior);
  }
  /// A stateful code prior's part of `state()` (after the layers'; empty for other priors): what
  /// save/load, checkpoints and the last-good copy carry for it. (The non-const form counts as a change.)
  std::span<const T> code_prior_state() const noexcept {
    return this->state().subspan(base::own_state_offset, code_prior_state_size<P>());
  }
  std::span<T> code_prior_state() noexcept {
    return this->state().subspan(base::own_state_offset, code_prior_state_size<P>());
  }
  /// KL warm-up: the KL weight grows linearly from 0 to β over this many training steps (0: off).
  void set_kl_warmup(std::size_t steps) noexcept { warmup_ = steps; }
  std::size_t kl_warmup() const noexcept { return warmup_; }
  /// The KL weight the next training step uses (β, scaled by the warm-up).
  double current_kl_weight() const noexcept {
    if (warmup_ == 0 || this->steps_ >= warmup_) return beta_;
    return beta_ * static_cast<double>(this->steps_ + 1) / static_cast<double>(warmup_);
  }

  // ---- the VAE's own calls (unconditional forms; the conditional adaptor has forms with labels) --

  /// Draws z ~ q(z|x) for each row (seeded: the same seed gives the same draws).
  xt::xtensor<T, 2> encode_sample(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const {
    check_samples(x, D, "encode_sample");
    Rng rng(seed);
    xt::xtensor<T, 2> z = xt::xtensor<T, 2>::from_shape({x.shape()[0], Z});
    encode_rows(x.data(), nullptr, x.shape()[0], z.data(), &rng);
    return z;
  }
  /// n new samples: the means of p(x|z) for z ~ N(0, I) (seeded); with an anchored code prior
  /// (models/code_prior.hpp), z drawn from that prior.
  xt::xtensor<T, 2> generate(std::size_t n, std::uint64_t seed = 0) const {
    xt::xtensor<T, 2> z = prior_draws(n, seed, "generate");
    if constexpr (anchored) {  // n checked above
      Rng rng(seed);
      prior_.sample(n, Z, anchor_statistics().data(), rng, z.data());
    }
    xt::xtensor<T, 2> y = xt::xtensor<T, 2>::from_shape({n, D});
    decode_rows(z.data(), nullptr, n, y.data());
    return y;
  }
  /// The evidence lower bound per sample, in nats: E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)), with the KL
  /// in closed form and one draw of z per row (seeded). −elbo(x) is the usual "−ELBO per image". With an
  /// anchored code prior p (models/code_prior.hpp) the KL is its one-draw estimate log q(z|x) − log p(z).
  double elbo(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const {
    check_samples(x, D, "elbo");
    return evaluate_elbo(x.data(), nullptr, x.shape()[0], 1.0, seed).elbo;
  }
  /// The mean reconstruction term E_q[−log p(x|z)] and the mean KL, separately.
  std::pair<double, double> elbo_terms(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const {
    check_samples(x, D, "elbo_terms");
    const auto e = evaluate_elbo(x.data(), nullptr, x.shape()[0], 1.0, seed);
    return {e.reconstruction, e.kl};
  }
  /// Importance-sampled estimate of the mean log p(x) per sample with k draws from q(z|x):
  /// log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), the log-mean-exp taken stably. Always ≥ the ELBO in
  /// expectation; tighter as k grows. p(z) is N(0, I), or an anchored code prior's density.
  double log_likelihood(const xt::xtensor<T, 2>& x, std::size_t k = 100, std::uint64_t seed = 0) const {
    check_samples(x, D, "log_likelihood");
    return log_likelihood_rows(x.data(), nullptr, x.shape()[0], k, seed);
  }
  /// The mean over the n rows of `x` of the analytic KL(q(z_j | x_r) ‖ N(0, 1)) = ½(μ_j² + σ_j² − 1 −
  /// log σ_j²) of each code unit j, in nats: Z values. Computed from the encoder's μ(x_r) and log σ²(x_r)
  /// without sampling (log σ² clamped to [−30, 30] as in training), not weighted by β. Their sum is the
  /// mean KL of the ELBO (`elbo_terms(x).second`). A value near 0 marks a collapsed unit (compare
  /// `active_units`, which looks at the variance of μ_j over the rows). `shape_error` if x's width is not
  /// the input size, `data_error` for no rows or a NaN/Inf.
  xt::xtensor<double, 1> kl_per_unit(const xt::xtensor<T, 2>& x) const {
    check_samples(x, D, "kl_per_unit");
    return kl_per_unit_rows(x.data(), nullptr, x.shape()[0]);
  }
  /// Active units: code dimensions whose mean μ_j(x) varies over the rows with variance above
  /// `threshold` (Burda et al.'s 0.01).
  std::size_t active_units(const xt::xtensor<T, 2>& x, double threshold = 0.01) const {
    check_samples(x, D, "active_units");
    return active_units_rows(x.data(), nullptr, x.shape()[0], threshold);
  }
  /// The ELBO of each row on its own (n values; one draw from Rng(seed) per row, as `elbo` of that
  /// row alone): low values are the rows the model explains worst.
  xt::xtensor<double, 1> elbo_per_sample(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const {
    check_samples(x, D, "elbo_per_sample");
    return base::per_row(x.shape()[0],
                         [&](std::size_t r) { return evaluate_elbo(x.data() + r * D, nullptr, 1, 1.0, seed).elbo; });
  }
  /// The calls above with data of the other floating-point type, converted once (see `model_base`).
  template <other_scalar<T> U>
  xt::xtensor<T, 2> encode_sample(const xt::xtensor<U, 2>& x, std::uint64_t seed = 0) const {
    return encode_sample(as_scalar<T>(x), seed);
  }
  template <other_scalar<T> U>
  double elbo(const xt::xtensor<U, 2>& x, std::uint64_t seed = 0) const {
    return elbo(as_scalar<T>(x), seed);
  }
  template <other_scalar<T> U>
  std::pair<double, double> elbo_terms(const xt::xtensor<U, 2>& x, std::uint64_t seed = 0) const {
    return elbo_terms(as_scalar<T>(x), seed);
  }
  template <other_scalar<T> U>
  double log_likelihood(const xt::xtensor<U, 2>& x, std::size_t k = 100, std::uint64_t seed = 0) const {
    return log_likelihood(as_scalar<T>(x), k, seed);
  }
  template <other_scalar<T> U>
  xt::xtensor<double, 1> kl_per_unit(const xt::xtensor<U, 2>& x) const {
    return kl_per_unit(as_scalar<T>(x));
  }
  template <other_scalar<T> U>
  std::size_t active_units(const xt::xtensor<U, 2>& x, double threshold = 0.01) const {
    return active_units(as_scalar<T>(x), threshold);
  }
  template <other_scalar<T> U>
  xt::xtensor<double, 1> elbo_per_sample(const xt::xtensor<U, 2>& x, std::uint64_t seed = 0) const {
    return elbo_per_sample(as_scalar<T>(x), seed);
  }

  // Anything but a batch where a batch is expected is refused at compile time (not converted).
  template <not_a_batch E>
  double elbo(const E&, std::uint64_t = 0) const {
    return refuse_non_batch<E>();
  }
  template <not_a_batch E>
  double log_likelihood(const E&, std::size_t = 100, std::uint64_t = 0) const {
    return refuse_non_batch<E>();
  }
  template <not_a_batch E>
  bool encode_sample(const E&, std::uint64_t = 0) const {
    return refuse_non_batch<E>();
  }
  template <not_a_batch E>
  bool elbo_terms(const E&, std::uint64_t = 0) const {
    return refuse_non_batch<E>();
  }
  template <not_a_batch E>
  bool kl_per_unit(const E&) const {
    return refuse_non_batch<E>();
  }
  template <not_a_batch E>
  bool active_units(const E&, double = 0.01) const {
    return refuse_non_batch<E>();
  }

 protected:
  static constexpr std::size_t D = input_size, Z = code_size;
  // A conditional model's labels join a flat encoder's input as C values after the data, and a shaped
  // one's (Input<channels + C, H, W>) as C constant planes of H × W after the data's channels.
  static constexpr std::size_t label_plane = condition_plane<Enc>();
  static constexpr std::size_t enc_in = D + C * label_plane, dec_in = Z + C;
  static constexpr std::size_t lik_offset = Enc::param_count + Dec::param_count;
  static constexpr std::size_t lik_params = Lik::template params_for<D>;
  using head = last_layer_t<Enc>;  // the bound Gaussian head: it owns [μ | log σ²] and the KL
  // A code prior on the encoder's posterior at anchor rows of its own (models/code_prior.hpp): its
  // parameters come after the likelihood's.
  static constexpr bool anchored = AnchoredCodePrior<P, T>;
  // A code prior with state of its own after the layers' (models/code_prior.hpp).
  static constexpr bool stateful_prior = !anchored && StatefulCodePrior<P, T>;
  static constexpr std::size_t prior_offset = lik_offset + lik_params;

  // ---- the hooks of model_base ----------------------------------------------------------------------
  static std::string kind() {
    if constexpr (requires { P::kind(); }) return P::kind();  // a prior whose parts name the model
    if constexpr (has_prior) return P::model_name;
    if constexpr (C > 0) return "ConditionalVAE<" + std::to_string(C) + ">";
    if constexpr (K > 1) return "IWAE<" + std::to_string(K) + ">";
    return "VAE";
  }
  static std::string objective_name() { return Lik::name; }
  static constexpr double flops_per_row = 3.0 * (forward_flops<Enc>() + forward_flops<Dec>()) * K;
  bool splittable() const { return splittable_with(prior_); }
  // A stateful code prior's update, once per training step from the step's summed statistics.
  void update_own_state(T* state, const T* stats) {
    if constexpr (stateful_prior) prior_.update_state(state, stats);
  }

  double slice_loss(const slice<T>& s, const T* x, const T* c, T scale) {
    return K == 1 ? elbo_slice(x, c, s, scale) : iw_slice(x, c, s, scale);
  }
  // Inference: encode gives μ (or a draw with `rng`), decode the likelihood's mean.
  void encode_rows(const T* x, const T* c, std::size_t n, T* z, Rng* rng = nullptr) const {
    aligned_buffer<T> w(base::chunk_rows(n) * (enc_in + Enc::cache_size));
    base::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Context<T> ctx{.training = rng != nullptr, .rng = rng};
      this->enter_eval(ctx);
      const T* ein = join_encoder(x + r * D, c ? c + r * C : nullptr, m, w.data());
      Enc::forward(this->params(), ein, z + r * Z, w.data() + m * enc_in, m, ctx);
    });
  }
  void decode_rows(const T* z, const T* c, std::size_t n, T* y) const {
    aligned_buffer<T> w(base::chunk_rows(n) * (dec_in + Dec::cache_size));
    base::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Context<T> ctx;
      this->enter_eval(ctx);
      const T* din = join(z + r * Z, Z, c ? c + r * C : nullptr, m, w.data());
      base::in_decoder(
          ctx, [&] { Dec::forward(this->params() + Enc::param_count, din, y + r * D, w.data() + m * dec_in, m, ctx); });
    });
    Lik::to_mean(y, this->params() + lik_offset, n, D);
  }
  void reconstruct_rows(const T* x, const T* c, std::size_t n, T* y) const {
    aligned_buffer<T> mu(n * Z);
    encode_rows(x, c, n, mu.data());
    decode_rows(mu.data(), c, n, y);
  }
  /// The mean training loss: −ELBO with the KL weighted by β (for IWAE, the negative
  /// importance-weighted bound), with noise from a fixed seed so that it is reproducible.
  double loss_rows(const T* x, const T* c, std::size_t n) const {
    return K == 1 ? -evaluate_elbo(x, c, n, beta_, 0).elbo : -log_likelihood_rows(x, c, n, K, 0);
  }

  // ---- evaluations on rows, shared by both forms -----------------------------------------------------
  xt::xtensor<double, 1> kl_per_unit_rows(const T* x, const T* c, std::size_t n) const {
    const xt::xtensor<T, 2> st = statistics_rows(x, c, n);
    xt::xtensor<double, 1> kl = xt::xtensor<double, 1>::from_shape({Z});
    std::fill(kl.begin(), kl.end(), 0.0);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < Z; ++j)
        kl(j) += head::kl_unit(st.data() + r * head::stats_size, j) / static_cast<double>(n);
    return kl;
  }
  std::size_t active_units_rows(const T* x, const T* c, std::size_t n, double threshold) const {
    aligned_buffer<T> mu(n * Z);
    encode_rows(x, c, n, mu.data());
    std::size_t active = 0;
    for (std::size_t j = 0; j < Z; ++j) {
      double m = 0, v = 0;
      for (std::size_t r = 0; r < n; ++r) m += mu[r * Z + j];
      m /= static_cast<double>(n);
      for (std::size_t r = 0; r < n; ++r) v += (mu[r * Z + j] - m) * (mu[r * Z + j] - m);
      if (v / static_cast<double>(n) > threshold) ++active;
    }
    return active;
  }

  struct elbo_parts {
    double elbo, reconstruction, kl;
  };
  // ELBO with the KL weighted by `kl_weight`, one draw per row from Rng(seed).
  elbo_parts evaluate_elbo(const T* x, const T* c, std::size_t n, double kl_weight, std::uint64_t seed) const {
    Rng rng(seed);
    aligned_buffer<T> w(base::chunk_rows(n) * train_layout.per_sample());
    [[maybe_unused]] const std::vector<T> as = anchor_statistics();
    double rec = 0, kl = 0;
    base::in_chunks(n, [&](std::size_t r, std::size_t m) {
      const auto b = train_layout.carve(w.data(), m);
      Context<T> ctx{.training = true, .rng = &rng, .kl_weight = T(1)};
      this->enter_eval(ctx);
      if constexpr (anchored) ctx.gaussian_stats = b[stats];
      forward_train(x + r * D, c ? c + r * C : nullptr, m, b, ctx);
      rec += Lik::nll(b[out], x + r * D, this->params() + lik_offset, m, D);
      if constexpr (anchored) {  // log q(z|x) − log p(z) at the drawn z
        for (std::size_t i = 0; i < m; ++i) {
          double lp = 0;
          prior_.log_density(b[z] + i * Z, 1, Z, as.data(), &lp);
          kl += log_q(b[z] + i * Z, b[stats] + i * head::stats_size) - lp;
        }
      } else {
        kl += ctx.penalty;
      }
    });
    const double dn = static_cast<double>(n);
    return {-(rec + kl_weight * kl) / dn, rec / dn, kl / dn};
  }

  // Mean over rows of log (1/k) Σ_i w_i, the log-mean-exp taken stably.
  double log_likelihood_rows(const T* x, const T* c, std::size_t n, std::size_t k, std::uint64_t seed) const {
    if (k == 0) throw option_error("log_likelihood: expected at least 1 importance sample, found 0");
    Rng rng(seed);
    const std::size_t reps = std::min<std::size_t>(k, base::inference_chunk);  // draws per pass
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, base::inference_chunk / reps);
    aligned_buffer<T> w(rows_per_chunk * reps * train_layout.per_sample());
    aligned_buffer<T> xr(rows_per_chunk * reps * (D + C));
    std::vector<double> logw(rows_per_chunk * reps);
    const std::vector<T> as = anchor_statistics();
    double total = 0;
    for (std::size_t first = 0; first < n; first += rows_per_chunk) {
      const std::size_t rows = std::min(rows_per_chunk, n - first);
      std::vector<std::vector<double>> per_row(rows, std::vector<double>());
      for (std::size_t done = 0; done < k; done += reps) {
        const std::size_t now = std::min(reps, k - done);
        const std::size_t m = rows * now;
        T* xs = xr.data();
        T* cs = xr.data() + m * D;
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t s = 0; s < now; ++s) {
            std::copy(x + (first + i) * D, x + (first + i + 1) * D, xs + (i * now + s) * D);
            if constexpr (C > 0) std::copy(c + (first + i) * C, c + (first + i + 1) * C, cs + (i * now + s) * C);
          }
        const auto b = train_layout.carve(w.data(), m);
        Context<T> ctx{.training = true, .rng = &rng, .gaussian_stats = b[stats], .iw_weights = b[weights]};
        this->enter_eval(ctx);
        forward_train(xs, C > 0 ? cs : nullptr, m, b, ctx);
        log_weights(xs, b, m, logw.data(), as.data());
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t s = 0; s < now; ++s) per_row[i].push_back(logw[i * now + s]);
      }
      for (std::size_t i = 0; i < rows; ++i) total += log_mean_exp(per_row[i].data(), per_row[i].size());
    }
    return total / static_cast<double>(n);
  }

  // The head's statistics [μ | log σ²] of q(z|x) for n rows (n × stats_size).
  xt::xtensor<T, 2> statistics_rows(const T* x, const T* c, std::size_t n) const {
    xt::xtensor<T, 2> st = xt::xtensor<T, 2>::from_shape({n, head::stats_size});
    aligned_buffer<T> w(base::chunk_rows(n) * (enc_in + Enc::cache_size + Z));
    base::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Context<T> ctx{.gaussian_stats = st.data() + r * head::stats_size};
      this->enter_eval(ctx);
      const T* ein = join_encoder(x + r * D, c ? c + r * C : nullptr, m, w.data());
      Enc::forward(this->params(), ein, w.data() + m * (enc_in + Enc::cache_size), w.data() + m * enc_in, m, ctx);
    });
    return st;
  }

  static xt::xtensor<T, 2> prior_draws(std::size_t n, std::uint64_t seed, const char* where) {
    if (n == 0) throw option_error(std::string(where) + ": expected at least 1 sample, found 0");
    Rng rng(seed);
    xt::xtensor<T, 2> z = xt::xtensor<T, 2>::from_shape({n, Z});
    for (auto& v : z) v = static_cast<T>(rng.normal());
    return z;
  }

  // The anchored prior's anchors through the encoder, without noise (eval mode): the A rows, the
  // encoder's cache and output (what its backward reads), and their statistics [μ | log σ²] into `as`.
  void anchors_forward(T* rows, T* cache, T* code, T* as) const {
    prior_.anchor_inputs(this->params() + prior_offset, rows, D);
    std::fill(cache, cache + anchor_rows * Enc::cache_size, T(0));  // the head's ε, not drawn here, reads 0
    Context<T> ctx{.gaussian_stats = as};
    this->enter_eval(ctx);
    Enc::forward(this->params(), rows, code, cache, anchor_rows, ctx);
  }
  // The anchors' statistics (A × stats_size) for an evaluation; empty without an anchored prior.
  std::vector<T> anchor_statistics() const {
    if constexpr (anchored) {
      aligned_buffer<T> w(anchor_rows * (D + Enc::cache_size + Z));
      std::vector<T> as(anchor_rows * head::stats_size);
      anchors_forward(w.data(), w.data() + anchor_rows * D, w.data() + anchor_rows * (D + Enc::cache_size), as.data());
      return as;
    } else {
      return {};
    }
  }
  // log q(z|x) of one row, the whole log-density (−½ log 2π per unit included).
  static double log_q(const T* z_row, const T* stats_row) noexcept {
    constexpr double half_log_2pi = 0.91893853320467274178;
    double lq = 0;
    for (std::size_t j = 0; j < Z; ++j) {
      const double lv = head::log_variance(stats_row, j), d = z_row[j] - head::mean(stats_row, j);
      lq += -half_log_2pi - 0.5 * lv - 0.5 * d * d * std::exp(-lv);
    }
    return lq;
  }

  double beta_ = 1;
  std::size_t warmup_ = 0;
  P prior_;

 private:
  // The training workspace, per sample (also used by the evaluations, which run the same passes).
  // The encoder and the decoder have scratch of their own: a layer's deferred weight gradient (see
  // `Context::deferred`) reads its dz from it after both backward passes have run.
  enum part : std::size_t {
    enc_input,
    enc_cache,
    z,
    dec_input,
    dec_cache,
    out,
    dout,
    ddec_input,
    dz,
    enc_scratch,
    dec_scratch,
    stats,
    weights,
    dstats,
    parts
  };
  static constexpr workspace_layout<parts> train_layout{{enc_in, Enc::cache_size, Z, dec_in, Dec::cache_size, D, D,
                                                         dec_in, Z, Enc::scratch_size, Dec::scratch_size,
                                                         head::stats_size, 1, has_prior ? head::stats_size : 0}};
  using buffers = std::array<T*, parts>;
  // An anchored prior's pass over its anchors in a training step, per anchor row (then the encoder's
  // gradient through them, Enc::param_count values, in the slice's extra buffer).
  enum anchor_part : std::size_t { a_rows, a_cache, a_code, a_stats, a_dstats, a_dcode, a_drows, a_scratch, a_parts };
  static constexpr std::size_t anchor_rows = [] {
    if constexpr (anchored)
      return P::anchors;
    else
      return std::size_t{0};
  }();
  static constexpr workspace_layout<a_parts> anchor_layout{
      {D, Enc::cache_size, Z, head::stats_size, head::stats_size, Z, D, Enc::scratch_size}};
  static constexpr bool kl_replaced() {
    if constexpr (has_prior) return P::replaces_kl;
    return false;
  }

  static double log_mean_exp(const double* v, std::size_t k) noexcept {
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < k; ++i) mx = std::max(mx, v[i]);
    double s = 0;
    for (std::size_t i = 0; i < k; ++i) s += std::exp(v[i] - mx);
    return mx + std::log(s) - std::log(static_cast<double>(k));
  }

  // Joins rows of a (n × wa) and c (n × C) into out (n × (wa + C)); with C = 0, returns a.
  // The encoder's input: the data rows, and for a conditional model their labels (see label_plane).
  static const T* join_encoder(const T* x, const T* c, std::size_t n, T* joined) noexcept {
    if constexpr (label_plane == 1) {
      return join(x, D, c, n, joined);
    } else {
      for (std::size_t r = 0; r < n; ++r) {
        T* row = joined + r * enc_in;
        std::copy(x + r * D, x + (r + 1) * D, row);
        for (std::size_t k = 0; k < C; ++k) std::fill_n(row + D + k * label_plane, label_plane, c[r * C + k]);
      }
      return joined;
    }
  }
  static const T* join(const T* a, std::size_t wa, const T* c, std::size_t n, T* joined) noexcept {
    if constexpr (C == 0) {
      (void)wa, (void)c, (void)n, (void)joined;
      return a;
    } else {
      for (std::size_t r = 0; r < n; ++r) {
        std::copy(a + r * wa, a + (r + 1) * wa, joined + r * (wa + C));
        std::copy(c + r * C, c + (r + 1) * C, joined + r * (wa + C) + wa);
      }
      return joined;
    }
  }

  // Encoder (sampling when ctx.training) then decoder on n rows, filling the buffers.
  void forward_train(const T* x, const T* c, std::size_t n, const buffers& b, Context<T>& ctx) const {
    const T* p = this->params();
    const T* ein = join_encoder(x, c, n, b[enc_input]);
    Enc::forward(p, ein, b[z], b[enc_cache], n, ctx);
    const T* din = join(b[z], Z, c, n, b[dec_input]);
    base::in_decoder(ctx, [&] { Dec::forward(p + Enc::param_count, din, b[out], b[dec_cache], n, ctx); });
  }

  // Backward through decoder and encoder; b[dz] must hold the gradient that reaches z directly (zero
  // for the ELBO, the prior's for the IWAE bound); the decoder's is added to it.
  void backward_train(const T* x, std::size_t n, const buffers& b, Context<T>& ctx, T* g) {
    const T* p = this->params();
    const T* ein = C == 0 ? x : b[enc_input];
    const T* din = C == 0 ? b[z] : b[dec_input];
    base::in_decoder(ctx, [&] {
      layer_backward_call<Dec>(p + Enc::param_count, din, b[out], b[dec_cache], b[dout], b[ddec_input],
                               g + Enc::param_count, b[dec_scratch], n, ctx);
    });
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < Z; ++j) b[dz][r * Z + j] += b[ddec_input][r * dec_in + j];
    layer_backward_call<Enc>(p, ein, b[z], b[enc_cache], b[dz], static_cast<T*>(nullptr), g, b[enc_scratch], n, ctx);
  }

  // The slice's summed −ELBO (β-weighted KL) and its gradient into s.grads.
  double elbo_slice(const T* x, const T* c, const slice<T>& s, T scale) {
    const std::size_t n = s.rows;
    const auto b = train_layout.carve(s.work(n * train_layout.per_sample()), n);
    Context<T> ctx{.training = true,
                   .rng = s.rng,
                   .grad_scale = scale,
                   .kl_weight = static_cast<T>(kl_replaced() ? 0.0 : current_kl_weight()),
                   .deferred = s.deferred};
    this->enter_training(ctx, s);
    if constexpr (has_prior) ctx.gaussian_stats = b[stats];
    forward_train(x, c, n, b, ctx);
    const double rec = Lik::nll_and_gradient(b[out], x, this->params() + lik_offset, b[dout], s.grads + lik_offset, n,
                                             D, ctx.grad_scale);
    std::fill(b[dz], b[dz] + n * Z, T(0));
    double term = 0;
    if constexpr (has_prior) {
      std::fill(b[dstats], b[dstats] + n * head::stats_size, T(0));
      if constexpr (anchored)
        term = anchored_term(b, n, ctx.grad_scale, s);
      else if constexpr (stateful_prior)
        term = prior_.batch_penalty(b[z], static_cast<const T*>(b[stats]), n, Z, b[dz], b[dstats], ctx.grad_scale,
                                    *s.rng, static_cast<const T*>(this->state_data() + base::own_state_offset),
                                    s.stats + base::own_stats_offset);
      else
        term = prior_.batch_penalty(b[z], static_cast<const T*>(b[stats]), n, Z, b[dz], b[dstats], ctx.grad_scale,
                                    *s.rng);
      ctx.stat_grads = b[dstats];
    }
    backward_train(x, n, b, ctx, s.grads);
    if constexpr (anchored) {  // the encoder's gradient through the anchors, after its own was stored
      const T* eg = s.extra->data() + anchor_rows * anchor_layout.per_sample();
      for (std::size_t i = 0; i < Enc::param_count; ++i) s.grads[i] += eg[i];
    }
    return rec + ctx.penalty + term;
  }

  // An anchored prior's term on the step's n codes, weighted by the KL weight (β, warmed up) as the KL
  // it stands for: the encoder forward on the anchors, the term, and the backward through the anchors —
  // into the prior's own gradient, and the encoder's into the slice's extra buffer (the step's backward
  // stores the encoder's gradient after this; elbo_slice adds this one to it).
  double anchored_term(const buffers& b, std::size_t n, T grad_scale, const slice<T>& s) {
    constexpr std::size_t A = anchor_rows;
    aligned_buffer<T>& e = *s.extra;
    e.reserve(A * anchor_layout.per_sample() + Enc::param_count);
    const auto a = anchor_layout.carve(e.data(), A);
    anchors_forward(a[a_rows], a[a_cache], a[a_code], a[a_stats]);
    const double w = current_kl_weight();
    std::fill(a[a_dstats], a[a_dstats] + A * head::stats_size, T(0));
    const double term = prior_.batch_penalty(b[z], static_cast<const T*>(b[stats]), n, Z, b[dz], b[dstats],
                                             static_cast<T>(w) * grad_scale, *s.rng,
                                             static_cast<const T*>(a[a_stats]), a[a_dstats]);
    std::fill(a[a_dcode], a[a_dcode] + A * Z, T(0));  // the anchors' codes reach the loss only through their statistics
    Context<T> ctx{.kl_weight = T(0), .stat_grads = a[a_dstats]};
    this->enter_eval(ctx);
    layer_backward_call<Enc>(this->params(), a[a_rows], a[a_code], a[a_cache], a[a_dcode], a[a_drows],
                             e.data() + A * anchor_layout.per_sample(), a[a_scratch], A, ctx);
    prior_.anchor_inputs_backward(this->params() + prior_offset, a[a_drows], s.grads + prior_offset, D);
    return w * term;
  }

  // log w = log p(x|z) + log p(z) − log q(z|x) for each of the m rows of a forward pass (p(z): N(0, I),
  // or an anchored prior's density given its anchors' statistics `as`).
  void log_weights(const T* x_rows, const buffers& b, std::size_t m, double* logw,
                   [[maybe_unused]] const T* as = nullptr) const {
    const T* lp = this->params() + lik_offset;
    for (std::size_t r = 0; r < m; ++r) {
      double lw = -Lik::nll(b[out] + r * D, x_rows + r * D, lp, 1, D);
      if constexpr (anchored) {
        double lpz = 0;
        prior_.log_density(b[z] + r * Z, 1, Z, as, &lpz);
        lw += lpz - log_q(b[z] + r * Z, b[stats] + r * head::stats_size);
      } else {
        head::add_log_prior_minus_log_q(b[z] + r * Z, b[stats] + r * head::stats_size, lw);
      }
      logw[r] = lw;
    }
  }

  // The IWAE bound's gradient: each row is replicated K times, the K samples' normalised importance
  // weights w̃ scale their gradients, and the bound is the log-mean of the weights. Returns the slice's
  // summed −L_K; gradients into s.grads.
  double iw_slice(const T* x, const T* c, const slice<T>& s, T gs) {
    const std::size_t n = s.rows, m = n * K;
    T* rep = replicated(x, c, n, *s.extra);
    const T* xr = rep;
    const T* cr = C == 0 ? nullptr : rep + m * D;
    const auto b = train_layout.carve(s.work(m * train_layout.per_sample()), m);
    Context<T> ctx{.training = true,
                   .rng = s.rng,
                   .grad_scale = gs,
                   .gaussian_stats = b[stats],
                   .iw_weights = b[weights],
                   .deferred = s.deferred};
    this->enter_training(ctx, s);
    forward_train(xr, cr, m, b, ctx);
    std::vector<double>& logw = *s.logw;
    logw.resize(m);  // grows once, then reused
    log_weights(xr, b, m, logw.data());
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double mx = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < K; ++k) mx = std::max(mx, logw[i * K + k]);
      double sum = 0;
      for (std::size_t k = 0; k < K; ++k) sum += std::exp(logw[i * K + k] - mx);
      total += -(mx + std::log(sum) - std::log(static_cast<double>(K)));
      for (std::size_t k = 0; k < K; ++k)
        b[weights][i * K + k] = static_cast<T>(std::exp(logw[i * K + k] - mx) / sum) * gs;
    }
    // d(−log w)/d out, row by row with its weight; the likelihood's own parameters accumulate.
    T* dlik = s.grads + lik_offset;
    T lik_row[lik_params > 0 ? lik_params : 1];
    for (std::size_t j = 0; j < lik_params; ++j) dlik[j] = T(0);
    for (std::size_t r = 0; r < m; ++r) {
      Lik::nll_and_gradient(b[out] + r * D, xr + r * D, this->params() + lik_offset, b[dout] + r * D, lik_row, 1, D,
                            b[weights][r]);
      for (std::size_t j = 0; j < lik_params; ++j) dlik[j] += lik_row[j];
      // −log p(z) = ½ Σ z² + const: its gradient flows through z.
      for (std::size_t j = 0; j < Z; ++j) b[dz][r * Z + j] = b[weights][r] * b[z][r * Z + j];
    }
    backward_train(xr, m, b, ctx, s.grads);
    return total;
  }

  // The rows of x (and c) each repeated K times, in a buffer kept for reuse.
  static T* replicated(const T* x, const T* c, std::size_t n, aligned_buffer<T>& buffer) {
    const std::size_t m = n * K;
    buffer.reserve(m * (D + C));
    T* rep = buffer.data();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < K; ++k) {
        std::copy(x + i * D, x + (i + 1) * D, rep + (i * K + k) * D);
        if constexpr (C > 0) std::copy(c + i * C, c + (i + 1) * C, rep + m * D + (i * K + k) * C);
      }
    return rep;
  }
};

}  // namespace latent::detail
