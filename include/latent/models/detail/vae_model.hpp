#pragma once
/// \file
/// `latent::detail::vae_model`: the machinery shared by `VAE`, `IWAE` and `ConditionalVAE`.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/activations/identity.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/layers/signature.hpp"
#include "latent/models/detail/model_storage.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>    // std::max, std::copy
#include <cmath>        // std::exp, std::log, std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <limits>       // std::numeric_limits
#include <utility>      // std::pair
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

namespace latent::detail {

// Every VAE rule, one carrier each; true when the model is well formed.
template <class Enc, class Dec, class Lik, std::size_t C>
constexpr bool check_vae() {
  static_assert(Layer<Enc>, "latent: the encoder must be a layer such as Seq<Dense<...>, Gaussian<Z>>");
  static_assert(Layer<Dec>, "latent: the decoder must be a layer such as Seq<...> or Dense<In, Out, Act>");
  if constexpr (Layer<Enc> && Layer<Dec>) {
    static_assert(diag::vae_encoder_does_not_end_in_a_gaussian_head<Enc, is_gaussian_head_v<last_layer_t<Enc>>>::value);
    static_assert(diag::gaussian_head_is_not_at_the_end_of_the_encoder<
                  diag::before_the_end_of_the_encoder, Enc,
                  (gaussian_head_count_v<Enc> > 0 ? gaussian_head_count_v<Enc> - 1 : 0)>::value);
    static_assert(diag::gaussian_head_is_not_at_the_end_of_the_encoder<diag::in_decoder, Dec,
                                                                        gaussian_head_count_v<Dec>>::value);
    if constexpr (C == 0) {
      static_assert(diag::decoder_input_size_does_not_match_encoder_output<
                    diag::expects_inputs<Dec::in_size>, diag::gives_outputs<Enc::out_size>, Dec, Enc>::value);
      static_assert(diag::decoder_output_size_does_not_match_encoder_input<
                    diag::gives_outputs<Dec::out_size>, diag::expects_inputs<Enc::in_size>, Dec, Enc>::value);
    } else {
      static_assert(diag::decoder_input_size_does_not_match_code_plus_condition<
                    diag::expects_inputs<Dec::in_size>, diag::gives_outputs<Enc::out_size>, diag::inputs<C>, Dec,
                    Enc>::value);
      static_assert(diag::decoder_output_size_does_not_match_encoder_input<
                    diag::gives_outputs<Dec::out_size + C>, diag::expects_inputs<Enc::in_size>, Dec, Enc>::value);
    }
    if constexpr (Lik::takes_logits)
      static_assert(diag::logit_loss_needs_an_identity_output_layer<
                    Lik, last_activation_t<Dec>, std::is_same_v<last_activation_t<Dec>, Identity>>::value);
  }
  return true;
}

inline constexpr double half_log_two_pi = 0.91893853320467274178;

/// A variational autoencoder with a Gaussian encoder head, likelihood `Lik`, `C` condition inputs
/// (one-hot labels joined to the encoder's and the decoder's input; 0 for an unconditional model) and
/// `K` importance samples in the training objective (1: the ELBO; K > 1: the IWAE bound).
template <class Enc, class Dec, class Lik, class T, std::size_t C, std::size_t K>
class vae_model : public model_storage<T, param_count_or_zero<Enc>() + param_count_or_zero<Dec>() +
                                              Lik::template params_for<out_size_or_zero<Dec>()>> {
  static_assert(std::is_floating_point_v<T>, "latent: the scalar type must be float or double");
  static_assert(check_vae<Enc, Dec, Lik, C>());
  static_assert(K >= 1, "latent: the number of importance samples must be at least 1");
  using storage = model_storage<T, param_count_or_zero<Enc>() + param_count_or_zero<Dec>() +
                                      Lik::template params_for<out_size_or_zero<Dec>()>>;

 public:
  using scalar_type = T;
  using encoder_type = Enc;
  using decoder_type = Dec;
  using likelihood_type = Lik;
  static constexpr std::size_t input_size = Dec::out_size;  ///< D: the data's width
  static constexpr std::size_t code_size = Enc::out_size;   ///< Z
  static constexpr std::size_t condition_size = C;          ///< number of classes (conditional models)
  static constexpr std::size_t importance_samples = K;
  static constexpr std::size_t param_count = storage::param_count;

  explicit vae_model(std::uint64_t seed = 0) : storage(seed) { initialize(seed); }

  /// Re-draws all weights from `seed` (Glorot uniform, zero biases, likelihood parameters at 0).
  void initialize(std::uint64_t seed) {
    Rng rng(seed);
    Enc::init(this->params(), rng);
    Dec::init(this->params() + Enc::param_count, rng);
    Lik::init(this->params() + lik_offset, input_size);
    this->reseed_noise(seed);
    this->steps_ = 0;
  }

  /// The architecture as text, e.g. "VAE<Seq<Dense<784,400,Relu>,Gaussian<400,20>>,Seq<...>,Bernoulli,float>".
  static std::string architecture() {
    std::string kind = C > 0 ? "ConditionalVAE<" + std::to_string(C) + ">" : (K > 1 ? "IWAE<" + std::to_string(K) + ">" : "VAE");
    return kind + "<" + signature<Enc>() + "," + signature<Dec>() + "," + Lik::name + "," +
           (sizeof(T) == 4 ? "float" : "double") + ">";
  }

  /// β of a β-VAE: the weight of the KL term in the training loss (default 1).
  void set_beta(double beta) {
    if (!(beta >= 0) || !std::isfinite(beta))
      throw option_error("set_beta: expected a finite beta >= 0, found " + std::to_string(beta));
    beta_ = beta;
  }
  double beta() const noexcept { return beta_; }
  /// KL warm-up: the KL weight grows linearly from 0 to β over this many training steps (0: off).
  void set_kl_warmup(std::size_t steps) noexcept { warmup_ = steps; }
  std::size_t kl_warmup() const noexcept { return warmup_; }
  /// The KL weight the next training step uses (β, scaled by the warm-up).
  double current_kl_weight() const noexcept {
    if (warmup_ == 0 || this->steps_ >= warmup_) return beta_;
    return beta_ * static_cast<double>(this->steps_ + 1) / static_cast<double>(warmup_);
  }

  // ---- training ---------------------------------------------------------------------------------

  /// One training step on the n rows at `x` (and their n × C one-hot conditions at `c` for a
  /// conditional model): the gradient of the batch's mean loss, then `opt`'s update. Returns the
  /// mean loss; throws `numerical_error` (parameters unchanged) if it is not finite.
  template <class Opt>
  double train_batch(const T* x, std::size_t n, Opt& opt)
    requires(C == 0)
  {
    return train_batch_impl(x, nullptr, n, opt);
  }
  template <class Opt>
  double train_batch(const T* x, const T* c, std::size_t n, Opt& opt)
    requires(C > 0)
  {
    return train_batch_impl(x, c, n, opt);
  }

  /// The same step on rows rows[0], …, rows[n−1] of the row-major matrix at `data` (and of the one-hot
  /// conditions at `c`), a shuffled batch without a gathered copy: each thread of the step copies its
  /// own slice's rows, so they land in its own cache (what `fit` does; the indices are not checked).
  template <class Opt>
  double train_rows(const T* data, const std::size_t* rows, std::size_t n, Opt& opt)
    requires(C == 0)
  {
    return train_batch_impl(data, nullptr, n, opt, rows);
  }
  template <class Opt>
  double train_rows(const T* data, const T* c, const std::size_t* rows, std::size_t n, Opt& opt)
    requires(C > 0)
  {
    return train_batch_impl(data, c, n, opt, rows);
  }

  /// The gradient of the mean training loss over n rows into `gradients()`; returns the mean loss.
  double gradient(const T* x, std::size_t n)
    requires(C == 0)
  {
    return gradient_impl(x, nullptr, n);
  }
  double gradient(const T* x, const T* c, std::size_t n)
    requires(C > 0)
  {
    return gradient_impl(x, c, n);
  }

  // ---- inference (rows are samples; conditional models also take one label per row) ------------

  /// The means μ(x) of q(z|x) (n × D → n × Z). This is what `encode` returns for a VAE: the code without
  /// sampling noise.
  xt::xtensor<T, 2> encode(const xt::xtensor<T, 2>& x) const
    requires(C == 0)
  {
    check_samples(x, D, "encode");
    return encode_rows(x.data(), nullptr, x.shape()[0], nullptr);
  }
  xt::xtensor<T, 1> encode(const xt::xtensor<T, 1>& x) const
    requires(C == 0)
  {
    check_sample(x, D, "encode");
    return first_row(encode_rows(x.data(), nullptr, 1, nullptr));
  }
  /// Draws z ~ q(z|x) for each row (seeded: the same seed gives the same draws).
  xt::xtensor<T, 2> encode_sample(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const
    requires(C == 0)
  {
    check_samples(x, D, "encode_sample");
    Rng rng(seed);
    return encode_rows(x.data(), nullptr, x.shape()[0], &rng);
  }
  /// The mean of p(x|z) for each code (n × Z → n × D): probabilities for `Bernoulli`.
  xt::xtensor<T, 2> decode(const xt::xtensor<T, 2>& z) const
    requires(C == 0)
  {
    check_samples(z, Z, "decode", "the model's code size");
    return decode_rows(z.data(), nullptr, z.shape()[0]);
  }
  xt::xtensor<T, 1> decode(const xt::xtensor<T, 1>& z) const
    requires(C == 0)
  {
    check_sample(z, Z, "decode", "the model's code size");
    return first_row(decode_rows(z.data(), nullptr, 1));
  }
  /// decode(encode(x)): the reconstruction through the mean code.
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<T, 2>& x) const
    requires(C == 0)
  {
    const xt::xtensor<T, 2> mu = encode(x);
    return decode_rows(mu.data(), nullptr, mu.shape()[0]);
  }
  xt::xtensor<T, 1> reconstruct(const xt::xtensor<T, 1>& x) const
    requires(C == 0)
  {
    return decode(encode(x));
  }
  /// n new samples: the means of p(x|z) for z ~ N(0, I) (seeded).
  xt::xtensor<T, 2> generate(std::size_t n, std::uint64_t seed = 0) const
    requires(C == 0)
  {
    const xt::xtensor<T, 2> z = prior_draws(n, seed, "generate");
    return decode_rows(z.data(), nullptr, n);
  }

  // Conditional forms: `labels` holds one class in [0, C) per row.
  xt::xtensor<T, 2> encode(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels) const
    requires(C > 0)
  {
    check_samples(x, D, "encode");
    const aligned_buffer<T> c = one_hot(labels, x.shape()[0], "encode");
    return encode_rows(x.data(), c.data(), x.shape()[0], nullptr);
  }
  xt::xtensor<T, 2> decode(const xt::xtensor<T, 2>& z, const xt::xtensor<std::int32_t, 1>& labels) const
    requires(C > 0)
  {
    check_samples(z, Z, "decode", "the model's code size");
    const aligned_buffer<T> c = one_hot(labels, z.shape()[0], "decode");
    return decode_rows(z.data(), c.data(), z.shape()[0]);
  }
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels) const
    requires(C > 0)
  {
    const xt::xtensor<T, 2> mu = encode(x, labels);
    return decode(mu, labels);
  }
  /// n new samples of class `label` (seeded).
  xt::xtensor<T, 2> generate(std::size_t n, std::int32_t label, std::uint64_t seed = 0) const
    requires(C > 0)
  {
    const xt::xtensor<T, 2> z = prior_draws(n, seed, "generate");
    xt::xtensor<std::int32_t, 1> labels = xt::xtensor<std::int32_t, 1>::from_shape({n});
    std::fill(labels.begin(), labels.end(), label);
    const aligned_buffer<T> c = one_hot(labels, n, "generate");
    return decode_rows(z.data(), c.data(), n);
  }

  // ---- evaluation -------------------------------------------------------------------------------

  /// The mean training loss over the rows: −ELBO with the KL weighted by β (for `IWAE`, the negative
  /// importance-weighted bound), with noise drawn from a fixed seed so that it is reproducible.
  double loss(const xt::xtensor<T, 2>& x) const
    requires(C == 0)
  {
    check_samples(x, D, "loss");
    return K == 1 ? -evaluate_elbo(x.data(), nullptr, x.shape()[0], beta_, 0).elbo
                  : -log_likelihood_rows(x.data(), nullptr, x.shape()[0], K, 0);
  }
  double loss(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels) const
    requires(C > 0)
  {
    check_samples(x, D, "loss");
    const aligned_buffer<T> c = one_hot(labels, x.shape()[0], "loss");
    return K == 1 ? -evaluate_elbo(x.data(), c.data(), x.shape()[0], beta_, 0).elbo
                  : -log_likelihood_rows(x.data(), c.data(), x.shape()[0], K, 0);
  }

  /// The evidence lower bound per sample, in nats: E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)), with the KL
  /// in closed form and one draw of z per row (seeded). −elbo(x) is the usual "−ELBO per image".
  double elbo(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const
    requires(C == 0)
  {
    check_samples(x, D, "elbo");
    return evaluate_elbo(x.data(), nullptr, x.shape()[0], 1.0, seed).elbo;
  }
  double elbo(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels, std::uint64_t seed = 0) const
    requires(C > 0)
  {
    check_samples(x, D, "elbo");
    const aligned_buffer<T> c = one_hot(labels, x.shape()[0], "elbo");
    return evaluate_elbo(x.data(), c.data(), x.shape()[0], 1.0, seed).elbo;
  }
  /// The mean reconstruction term E_q[−log p(x|z)] and the mean KL, separately.
  std::pair<double, double> elbo_terms(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const
    requires(C == 0)
  {
    check_samples(x, D, "elbo_terms");
    const auto e = evaluate_elbo(x.data(), nullptr, x.shape()[0], 1.0, seed);
    return {e.reconstruction, e.kl};
  }

  /// Importance-sampled estimate of the mean log p(x) per sample with k draws from q(z|x):
  /// log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), the log-mean-exp taken stably. Always ≥ the ELBO in
  /// expectation; tighter as k grows.
  double log_likelihood(const xt::xtensor<T, 2>& x, std::size_t k = 100, std::uint64_t seed = 0) const
    requires(C == 0)
  {
    check_samples(x, D, "log_likelihood");
    if (k == 0) throw option_error("log_likelihood: expected at least 1 importance sample, found 0");
    return log_likelihood_rows(x.data(), nullptr, x.shape()[0], k, seed);
  }

  /// Conditional forms of the evaluations: one label per row.
  std::pair<double, double> elbo_terms(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels,
                                       std::uint64_t seed = 0) const
    requires(C > 0)
  {
    check_samples(x, D, "elbo_terms");
    const aligned_buffer<T> c = one_hot(labels, x.shape()[0], "elbo_terms");
    const auto e = evaluate_elbo(x.data(), c.data(), x.shape()[0], 1.0, seed);
    return {e.reconstruction, e.kl};
  }
  /// Importance-sampled log p(x | label) per sample.
  double log_likelihood(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels, std::size_t k = 100,
                        std::uint64_t seed = 0) const
    requires(C > 0)
  {
    check_samples(x, D, "log_likelihood");
    if (k == 0) throw option_error("log_likelihood: expected at least 1 importance sample, found 0");
    const aligned_buffer<T> c = one_hot(labels, x.shape()[0], "log_likelihood");
    return log_likelihood_rows(x.data(), c.data(), x.shape()[0], k, seed);
  }
  /// The mean KL of each code unit over the rows, given their labels (Z values).
  xt::xtensor<double, 1> kl_per_unit(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels) const
    requires(C > 0)
  {
    check_samples(x, D, "kl_per_unit");
    const aligned_buffer<T> c = one_hot(labels, x.shape()[0], "kl_per_unit");
    return kl_of(statistics_rows(x.data(), c.data(), x.shape()[0]));
  }
  /// Active units of the code given the labels (see the unconditional `active_units`).
  std::size_t active_units(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>& labels,
                           double threshold = 0.01) const
    requires(C > 0)
  {
    return active_of(encode(x, labels), threshold);
  }

  /// The mean KL(q(z_j|x) ‖ N(0, 1)) of each code unit over the rows (Z values).
  xt::xtensor<double, 1> kl_per_unit(const xt::xtensor<T, 2>& x) const
    requires(C == 0)
  {
    check_samples(x, D, "kl_per_unit");
    return kl_of(statistics_rows(x.data(), nullptr, x.shape()[0]));
  }

 private:
  static xt::xtensor<double, 1> kl_of(const xt::xtensor<T, 2>& st) {
    xt::xtensor<double, 1> kl = xt::xtensor<double, 1>::from_shape({Z});
    std::fill(kl.begin(), kl.end(), 0.0);
    const std::size_t n = st.shape()[0];
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < Z; ++j) {
        const double mu = st(r, j), lv = st(r, Z + j);
        kl(j) += 0.5 * (mu * mu + std::exp(lv) - 1 - lv) / static_cast<double>(n);
      }
    return kl;
  }
  static std::size_t active_of(const xt::xtensor<T, 2>& mu, double threshold) {
    const std::size_t n = mu.shape()[0];
    std::size_t active = 0;
    for (std::size_t j = 0; j < Z; ++j) {
      double m = 0, v = 0;
      for (std::size_t r = 0; r < n; ++r) m += mu(r, j);
      m /= static_cast<double>(n);
      for (std::size_t r = 0; r < n; ++r) v += (mu(r, j) - m) * (mu(r, j) - m);
      if (v / static_cast<double>(n) > threshold) ++active;
    }
    return active;
  }

 public:
  /// Active units: code dimensions whose mean μ_j(x) varies over the rows with variance above
  /// `threshold` (Burda et al.'s 0.01).
  std::size_t active_units(const xt::xtensor<T, 2>& x, double threshold = 0.01) const
    requires(C == 0)
  {
    return active_of(encode(x), threshold);
  }


 protected:
  static constexpr std::size_t D = input_size, Z = code_size;
  static constexpr std::size_t enc_in = D + C, dec_in = Z + C;
  static constexpr std::size_t lik_offset = Enc::param_count + Dec::param_count;

  // Splits the step over threads (see set_threads); each slice returns its summed loss.
  // (With `index`, the batch is rows index[0..n) of x and c, gathered slice by slice.)
  // With `opt`, a multi-threaded step may also update the parameters (then *updated is true; see
  // parallel_gradient).
  template <class Opt = no_optimizer>
  double gradient_impl(const T* x, const T* c, std::size_t n, const std::size_t* index = nullptr, Opt* opt = nullptr,
                       bool* updated = nullptr) {
    const T scale = T(1) / static_cast<T>(n);
    const double sum = this->parallel_gradient(
        n, 6.0 * param_count * K, true,
        [&](const slice<T>& s) {
          const T* xs = s.rows_of(x, index, D, 0);
          const T* cs = s.rows_of(c, index, C, 1);
          return K == 1 ? elbo_slice(xs, cs, s, scale) : iw_slice(xs, cs, s, scale);
        },
        opt, updated);
    return sum / static_cast<double>(n);
  }

  template <class Opt>
  double train_batch_impl(const T* x, const T* c, std::size_t n, Opt& opt, const std::size_t* index = nullptr) {
    bool updated = false;
    const double loss = gradient_impl(x, c, n, index, &opt, &updated);
    if (!std::isfinite(loss)) throw numerical_error("the training loss is " + describe_non_finite(loss));
    if (!updated) this->optimizer_step(opt);
    ++this->steps_;
    return loss;
  }

  // Joins rows of x (n × D) and c (n × C) into out (n × (D + C)); with C = 0, returns x.
  static const T* join(const T* a, std::size_t wa, const T* c, std::size_t n, T* out) noexcept {
    if constexpr (C == 0) {
      (void)wa, (void)c, (void)n, (void)out;
      return a;
    } else {
      for (std::size_t r = 0; r < n; ++r) {
        std::copy(a + r * wa, a + (r + 1) * wa, out + r * (wa + C));
        std::copy(c + r * C, c + (r + 1) * C, out + r * (wa + C) + wa);
      }
      return out;
    }
  }

  struct train_buffers {
    T *enc_input, *enc_cache, *z, *dec_input, *dec_cache, *out, *dout, *ddec_input, *dz, *enc_scratch,
        *dec_scratch, *stats, *weights;
  };
  // The encoder and the decoder have scratch of their own: a layer's deferred weight gradient (see
  // `Context::deferred`) reads its dz from it after both backward passes have run.
  static constexpr std::size_t train_per_sample = enc_in + Enc::cache_size + Z + dec_in + Dec::cache_size + 2 * D +
                                                  dec_in + Z + Enc::scratch_size + Dec::scratch_size + 2 * Z + 1;
  static train_buffers carve_from(T* w, std::size_t n) noexcept {
    train_buffers b;
    T** slots[] = {&b.enc_input, &b.enc_cache, &b.z,  &b.dec_input,   &b.dec_cache,   &b.out,    &b.dout,
                   &b.ddec_input, &b.dz,       &b.enc_scratch, &b.dec_scratch, &b.stats, &b.weights};
    const std::size_t widths[] = {enc_in, Enc::cache_size, Z, dec_in, Dec::cache_size, D, D, dec_in, Z,
                                  Enc::scratch_size, Dec::scratch_size, 2 * Z, 1};
    for (std::size_t i = 0; i < 13; ++i) {
      *slots[i] = w;
      w += n * widths[i];
    }
    return b;
  }

  // Encoder (sampling when ctx.training) then decoder on n rows, filling the buffers.
  void forward_train(const T* x, const T* c, std::size_t n, train_buffers& b, Context<T>& ctx) const {
    const T* p = this->params();
    const T* ein = join(x, D, c, n, b.enc_input);
    Enc::forward(p, ein, b.z, b.enc_cache, n, ctx);
    const T* din = join(b.z, Z, c, n, b.dec_input);
    Dec::forward(p + Enc::param_count, din, b.out, b.dec_cache, n, ctx);
  }

  // Backward through decoder and encoder; b.dz must hold the gradient that reaches z directly (zero for
  // the ELBO, the prior's for the IWAE bound); the decoder's is added to it.
  void backward_train(const T* x, std::size_t n, train_buffers& b, Context<T>& ctx, T* g) {
    const T* p = this->params();
    const T* ein = C == 0 ? x : b.enc_input;
    const T* din = C == 0 ? b.z : b.dec_input;
    Dec::backward(p + Enc::param_count, din, b.out, b.dec_cache, b.dout, b.ddec_input, g + Enc::param_count,
                  b.dec_scratch, n, ctx);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < Z; ++j) b.dz[r * Z + j] += b.ddec_input[r * dec_in + j];
    Enc::backward(p, ein, b.z, b.enc_cache, b.dz, static_cast<T*>(nullptr), g, b.enc_scratch, n, ctx);
  }

  // The slice's summed −ELBO (β-weighted KL) and its gradient into s.grads.
  double elbo_slice(const T* x, const T* c, const slice<T>& s, T scale) {
    const std::size_t n = s.rows;
    train_buffers b = carve_from(s.work(n * train_per_sample), n);
    Context<T> ctx{.training = true, .rng = s.rng, .grad_scale = scale, .kl_weight = static_cast<T>(current_kl_weight()),
                   .deferred = s.deferred};
    forward_train(x, c, n, b, ctx);
    const double rec = Lik::nll_and_gradient(b.out, x, this->params() + lik_offset, b.dout, s.grads + lik_offset, n,
                                             D, ctx.grad_scale);
    std::fill(b.dz, b.dz + n * Z, T(0));
    backward_train(x, n, b, ctx, s.grads);
    return rec + ctx.penalty;
  }

  // log w = log p(x|z) + log p(z) − log q(z|x) for each of the m rows of a forward pass; with
  // z = μ + σε, log q(z|x) = Σ_j (−½ε_j² − ½ log σ_j² − ½ log 2π).
  void log_weights(const T* x_rows, const train_buffers& b, std::size_t m, double* logw) const {
    const T* lp = this->params() + lik_offset;
    for (std::size_t r = 0; r < m; ++r) {
      double lw = -Lik::nll(b.out + r * D, x_rows + r * D, lp, 1, D);
      for (std::size_t j = 0; j < Z; ++j) {
        const double z = b.z[r * Z + j];
        const double mu = b.stats[r * 2 * Z + j], lv = b.stats[r * 2 * Z + Z + j];
        const double e = (z - mu) * std::exp(-0.5 * lv);
        lw += -0.5 * z * z - (-0.5 * e * e - 0.5 * lv);
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
    train_buffers b = carve_from(s.work(m * train_per_sample), m);
    Context<T> ctx{.training = true, .rng = s.rng, .grad_scale = gs, .gaussian_stats = b.stats, .iw_weights = b.weights,
                   .deferred = s.deferred};
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
        b.weights[i * K + k] = static_cast<T>(std::exp(logw[i * K + k] - mx) / sum) * gs;
    }
    // d(−log w)/d out, row by row with its weight; the likelihood's own parameters accumulate.
    T* dlik = s.grads + lik_offset;
    constexpr std::size_t lik_params = Lik::template params_for<D>;
    T lik_row[lik_params > 0 ? lik_params : 1];
    for (std::size_t j = 0; j < lik_params; ++j) dlik[j] = T(0);
    for (std::size_t r = 0; r < m; ++r) {
      Lik::nll_and_gradient(b.out + r * D, xr + r * D, this->params() + lik_offset, b.dout + r * D, lik_row, 1, D,
                            b.weights[r]);
      for (std::size_t j = 0; j < lik_params; ++j) dlik[j] += lik_row[j];
      // −log p(z) = ½ Σ z² + const: its gradient flows through z.
      for (std::size_t j = 0; j < Z; ++j) b.dz[r * Z + j] = b.weights[r] * b.z[r * Z + j];
    }
    backward_train(xr, m, b, ctx, s.grads);
    return total;
  }

  // The rows of x (and c) each repeated K times, in a buffer kept for reuse.
  static T* replicated(const T* x, const T* c, std::size_t n, aligned_buffer<T>& buffer) {
    const std::size_t m = n * K;
    buffer.reserve(m * (D + C));
    T* out = buffer.data();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < K; ++k) {
        std::copy(x + i * D, x + (i + 1) * D, out + (i * K + k) * D);
        if constexpr (C > 0) std::copy(c + i * C, c + (i + 1) * C, out + m * D + (i * K + k) * C);
      }
    return out;
  }


  static xt::xtensor<T, 1> first_row(const xt::xtensor<T, 2>& m) {
    xt::xtensor<T, 1> r = xt::xtensor<T, 1>::from_shape({m.shape()[1]});
    std::copy(m.data(), m.data() + m.shape()[1], r.data());
    return r;
  }

  static aligned_buffer<T> one_hot(const xt::xtensor<std::int32_t, 1>& labels, std::size_t n, const char* where) {
    if (labels.size() != n)
      throw shape_error(std::string(where) + ": expected one label per row (" + std::to_string(n) + "), found " +
                        std::to_string(labels.size()));
    aligned_buffer<T> c(n * (C > 0 ? C : 1));
    for (std::size_t r = 0; r < n; ++r) {
      if (labels(r) < 0 || static_cast<std::size_t>(labels(r)) >= C)
        throw data_error(std::string(where) + ": expected labels in [0, " + std::to_string(C) + "), found " +
                         std::to_string(labels(r)) + " in row " + std::to_string(r));
      c[r * C + static_cast<std::size_t>(labels(r))] = T(1);
    }
    return c;
  }

  static xt::xtensor<T, 2> prior_draws(std::size_t n, std::uint64_t seed, const char* where) {
    if (n == 0) throw option_error(std::string(where) + ": expected at least 1 sample, found 0");
    Rng rng(seed);
    xt::xtensor<T, 2> z = xt::xtensor<T, 2>::from_shape({n, Z});
    for (auto& v : z) v = static_cast<T>(rng.normal());
    return z;
  }

  // Encoder over n rows in chunks: μ (rng null) or a draw from q(z|x).
  xt::xtensor<T, 2> encode_rows(const T* x, const T* c, std::size_t n, Rng* rng) const {
    xt::xtensor<T, 2> z = xt::xtensor<T, 2>::from_shape({n, Z});
    aligned_buffer<T> w(storage::inference_chunk * (enc_in + Enc::cache_size));
    storage::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Context<T> ctx{.training = rng != nullptr, .rng = rng};
      const T* ein = join(x + r * D, D, c ? c + r * C : nullptr, m, w.data());
      Enc::forward(this->params(), ein, z.data() + r * Z, w.data() + m * enc_in, m, ctx);
    });
    return z;
  }

  // [μ | log σ²] of q(z|x) for n rows (n × 2Z).
  xt::xtensor<T, 2> statistics_rows(const T* x, const T* c, std::size_t n) const {
    xt::xtensor<T, 2> st = xt::xtensor<T, 2>::from_shape({n, 2 * Z});
    aligned_buffer<T> w(storage::inference_chunk * (enc_in + Enc::cache_size + Z));
    storage::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Context<T> ctx{.gaussian_stats = st.data() + r * 2 * Z};
      const T* ein = join(x + r * D, D, c ? c + r * C : nullptr, m, w.data());
      Enc::forward(this->params(), ein, w.data() + m * (enc_in + Enc::cache_size), w.data() + m * enc_in, m, ctx);
    });
    return st;
  }

  // Decoder over n codes in chunks, mapped to the likelihood's mean.
  xt::xtensor<T, 2> decode_rows(const T* z, const T* c, std::size_t n) const {
    xt::xtensor<T, 2> y = xt::xtensor<T, 2>::from_shape({n, D});
    aligned_buffer<T> w(storage::inference_chunk * (dec_in + Dec::cache_size));
    storage::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Context<T> ctx;
      const T* din = join(z + r * Z, Z, c ? c + r * C : nullptr, m, w.data());
      Dec::forward(this->params() + Enc::param_count, din, y.data() + r * D, w.data() + m * dec_in, m, ctx);
    });
    Lik::to_mean(y.data(), this->params() + lik_offset, n, D);
    return y;
  }

  struct elbo_parts {
    double elbo, reconstruction, kl;
  };
  // ELBO with the KL weighted by `kl_weight`, one draw per row from Rng(seed).
  elbo_parts evaluate_elbo(const T* x, const T* c, std::size_t n, double kl_weight, std::uint64_t seed) const {
    Rng rng(seed);
    aligned_buffer<T> w(storage::inference_chunk * train_per_sample);
    double rec = 0, kl = 0;
    storage::in_chunks(n, [&](std::size_t r, std::size_t m) {
      train_buffers b = carve_from(w.data(), m);
      Context<T> ctx{.training = true, .rng = &rng, .kl_weight = T(1)};
      forward_train(x + r * D, c ? c + r * C : nullptr, m, b, ctx);
      rec += Lik::nll(b.out, x + r * D, this->params() + lik_offset, m, D);
      kl += ctx.penalty;
    });
    const double dn = static_cast<double>(n);
    return {-(rec + kl_weight * kl) / dn, rec / dn, kl / dn};
  }

  // Mean over rows of log (1/k) Σ_i w_i, the log-mean-exp taken stably.
  double log_likelihood_rows(const T* x, const T* c, std::size_t n, std::size_t k, std::uint64_t seed) const {
    Rng rng(seed);
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, storage::inference_chunk / std::min<std::size_t>(k, storage::inference_chunk));
    const std::size_t reps = std::min<std::size_t>(k, storage::inference_chunk);  // draws per pass
    aligned_buffer<T> w(rows_per_chunk * reps * train_per_sample);
    aligned_buffer<T> xr(rows_per_chunk * reps * (D + C));
    std::vector<double> logw(rows_per_chunk * reps);
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
        train_buffers b = carve_from(w.data(), m);
        Context<T> ctx{.training = true, .rng = &rng, .gaussian_stats = b.stats, .iw_weights = b.weights};
        forward_train(xs, C > 0 ? cs : nullptr, m, b, ctx);
        log_weights(xs, b, m, logw.data());
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t s = 0; s < now; ++s) per_row[i].push_back(logw[i * now + s]);
      }
      for (std::size_t i = 0; i < rows; ++i) {
        double mx = -std::numeric_limits<double>::infinity();
        for (double v : per_row[i]) mx = std::max(mx, v);
        double s = 0;
        for (double v : per_row[i]) s += std::exp(v - mx);
        total += mx + std::log(s) - std::log(static_cast<double>(k));
      }
    }
    return total / static_cast<double>(n);
  }

  double beta_ = 1;
  std::size_t warmup_ = 0;
};

}  // namespace latent::detail
