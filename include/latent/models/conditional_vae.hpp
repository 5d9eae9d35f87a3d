#pragma once
/// \file
/// `latent::ConditionalVAE<Encoder, Decoder, Classes, Likelihood, T>`: the VAE conditioned on a class
/// label, as an adaptor over the VAE core — each call turns its labels into one-hot rows and runs the
/// same computation as the unconditional VAE with them joined to the encoder's and decoder's inputs.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/data/one_hot.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/models/detail/vae_model.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::copy, std::fill
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int32_t, std::uint64_t
#include <utility>    // std::pair

namespace latent {

/// The conditional VAE (Sohn et al.): a one-hot label of `Classes` classes joins the encoder's input
/// (encoder input size = data width + Classes) and the decoder's input (decoder input size = Z +
/// Classes). Its calls take one label (in [0, Classes)) per row: `encode(x, labels)`, `decode(z, labels)`,
/// `reconstruct(x, labels)` (and the one-sample forms with one label), `loss(x, labels)`,
/// `elbo(x, labels)`, `elbo_terms`, `log_likelihood(x, labels, k)`, `kl_per_unit`, `active_units`,
/// `generate(n, label, seed)`, and `fit(model, data, labels, opt, options)`. The training entry points
/// take the n × Classes one-hot rows after the data pointer. Example: examples/compare.cpp.
template <class Enc, class Dec, std::size_t Classes, class Lik = Bernoulli, class T = float>
class ConditionalVAE : public detail::vae_model<Enc, Dec, Lik, T, Classes, 1> {
  static_assert(Classes > 0, "latent: a ConditionalVAE needs at least one class");
  using core = detail::vae_model<Enc, Dec, Lik, T, Classes, 1>;
  using labels_t = xt::xtensor<std::int32_t, 1>;
  static constexpr std::size_t D = core::input_size, Z = core::code_size;

 public:
  explicit ConditionalVAE(std::uint64_t seed = 0) : core(seed) {}

  // ---- training: the one-hot conditions (n × Classes) after the data --------------------------------
  template <class Opt>
  double train_batch(const T* x, const T* c, std::size_t n, Opt& opt) {
    return this->train_impl("train_batch", x, c, nullptr, n, opt);
  }
  template <class Opt>
  double train_rows(const T* data, const T* c, const std::size_t* rows, std::size_t n, Opt& opt) {
    return this->train_impl("train_rows", data, c, rows, n, opt);
  }
  double gradient(const T* x, const T* c, std::size_t n) { return this->gradient_impl("gradient", x, c, nullptr, n); }

  // ---- inference ----------------------------------------------------------------------------------
  xt::xtensor<T, 2> encode(const xt::xtensor<T, 2>& x, const labels_t& labels) const {
    detail::check_samples(x, D, "encode");
    return through(x, labels, Z, "encode",
                   [&](const T* in, const T* c, std::size_t n, T* out) { this->encode_rows(in, c, n, out); });
  }
  xt::xtensor<T, 1> encode(const xt::xtensor<T, 1>& x, std::int32_t label) const {
    detail::check_sample(x, D, "encode");
    return one(x, label, Z, "encode", [&](const T* in, const T* c, T* out) { this->encode_rows(in, c, 1, out); });
  }
  xt::xtensor<T, 2> encode_sample(const xt::xtensor<T, 2>& x, const labels_t& labels, std::uint64_t seed = 0) const {
    detail::check_samples(x, D, "encode_sample");
    Rng rng(seed);
    return through(x, labels, Z, "encode_sample",
                   [&](const T* in, const T* c, std::size_t n, T* out) { this->encode_rows(in, c, n, out, &rng); });
  }
  xt::xtensor<T, 2> decode(const xt::xtensor<T, 2>& z, const labels_t& labels) const {
    detail::check_samples(z, Z, "decode", "the model's code size");
    return through(z, labels, D, "decode",
                   [&](const T* in, const T* c, std::size_t n, T* out) { this->decode_rows(in, c, n, out); });
  }
  xt::xtensor<T, 1> decode(const xt::xtensor<T, 1>& z, std::int32_t label) const {
    detail::check_sample(z, Z, "decode", "the model's code size");
    return one(z, label, D, "decode", [&](const T* in, const T* c, T* out) { this->decode_rows(in, c, 1, out); });
  }
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<T, 2>& x, const labels_t& labels) const {
    detail::check_samples(x, D, "reconstruct");
    return through(x, labels, D, "reconstruct",
                   [&](const T* in, const T* c, std::size_t n, T* out) { this->reconstruct_rows(in, c, n, out); });
  }
  xt::xtensor<T, 1> reconstruct(const xt::xtensor<T, 1>& x, std::int32_t label) const {
    detail::check_sample(x, D, "reconstruct");
    return one(x, label, D, "reconstruct",
               [&](const T* in, const T* c, T* out) { this->reconstruct_rows(in, c, 1, out); });
  }
  /// n new samples of class `label` (seeded).
  xt::xtensor<T, 2> generate(std::size_t n, std::int32_t label, std::uint64_t seed = 0) const {
    const xt::xtensor<T, 2> z = core::prior_draws(n, seed, "generate");
    labels_t labels = labels_t::from_shape({n});
    std::fill(labels.begin(), labels.end(), label);
    return decode(z, labels);
  }

  // ---- evaluation ---------------------------------------------------------------------------------
  double loss(const xt::xtensor<T, 2>& x, const labels_t& labels) const {
    detail::check_samples(x, D, "loss");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "loss");
    return this->loss_rows(x.data(), c.data(), x.shape()[0]);
  }
  double elbo(const xt::xtensor<T, 2>& x, const labels_t& labels, std::uint64_t seed = 0) const {
    detail::check_samples(x, D, "elbo");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "elbo");
    return this->evaluate_elbo(x.data(), c.data(), x.shape()[0], 1.0, seed).elbo;
  }
  std::pair<double, double> elbo_terms(const xt::xtensor<T, 2>& x, const labels_t& labels,
                                       std::uint64_t seed = 0) const {
    detail::check_samples(x, D, "elbo_terms");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "elbo_terms");
    const auto e = this->evaluate_elbo(x.data(), c.data(), x.shape()[0], 1.0, seed);
    return {e.reconstruction, e.kl};
  }
  /// Importance-sampled log p(x | label) per sample.
  double log_likelihood(const xt::xtensor<T, 2>& x, const labels_t& labels, std::size_t k = 100,
                        std::uint64_t seed = 0) const {
    detail::check_samples(x, D, "log_likelihood");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "log_likelihood");
    return this->log_likelihood_rows(x.data(), c.data(), x.shape()[0], k, seed);
  }
  /// The mean KL of each code unit over the rows, given their labels (Z values).
  xt::xtensor<double, 1> kl_per_unit(const xt::xtensor<T, 2>& x, const labels_t& labels) const {
    detail::check_samples(x, D, "kl_per_unit");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "kl_per_unit");
    return this->kl_per_unit_rows(x.data(), c.data(), x.shape()[0]);
  }
  /// Active units of the code given the labels (see `VAE::active_units`).
  std::size_t active_units(const xt::xtensor<T, 2>& x, const labels_t& labels, double threshold = 0.01) const {
    detail::check_samples(x, D, "active_units");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "active_units");
    return this->active_units_rows(x.data(), c.data(), x.shape()[0], threshold);
  }

  /// The loss of each row on its own, given its label (n values; see `VAE::loss_per_sample`).
  xt::xtensor<double, 1> loss_per_sample(const xt::xtensor<T, 2>& x, const labels_t& labels) const {
    detail::check_samples(x, D, "loss_per_sample");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "loss_per_sample");
    return core::per_row(x.shape()[0],
                         [&](std::size_t r) { return this->loss_rows(x.data() + r * D, c.data() + r * Classes, 1); });
  }
  /// The ELBO of each row on its own, given its label (n values; see `VAE::elbo_per_sample`).
  xt::xtensor<double, 1> elbo_per_sample(const xt::xtensor<T, 2>& x, const labels_t& labels,
                                         std::uint64_t seed = 0) const {
    detail::check_samples(x, D, "elbo_per_sample");
    const aligned_buffer<T> c = conditions(labels, x.shape()[0], "elbo_per_sample");
    return core::per_row(x.shape()[0], [&](std::size_t r) {
      return this->evaluate_elbo(x.data() + r * D, c.data() + r * Classes, 1, 1.0, seed).elbo;
    });
  }

  // Anything but a batch where a batch is expected is refused at compile time (not converted).
  template <detail::not_a_batch E>
  double loss(const E&, const labels_t&) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::not_a_batch E>
  double elbo(const E&, const labels_t&, std::uint64_t = 0) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::not_a_batch E>
  double log_likelihood(const E&, const labels_t&, std::size_t = 100, std::uint64_t = 0) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::not_a_batch E>
  xt::xtensor<T, 2> encode(const E&, const labels_t&) const {
    (void)detail::refuse_non_batch<E>();
    return {};
  }
  template <detail::not_a_batch E>
  xt::xtensor<T, 2> reconstruct(const E&, const labels_t&) const {
    (void)detail::refuse_non_batch<E>();
    return {};
  }

  template <detail::not_a_batch E>
  bool decode(const E&, const labels_t&) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::not_a_batch E>
  bool encode_sample(const E&, const labels_t&, std::uint64_t = 0) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::not_a_batch E>
  bool elbo_terms(const E&, const labels_t&, std::uint64_t = 0) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::not_a_batch E>
  bool kl_per_unit(const E&, const labels_t&) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::not_a_batch E>
  bool active_units(const E&, const labels_t&, double = 0.01) const {
    return detail::refuse_non_batch<E>();
  }

 private:
  static aligned_buffer<T> conditions(const labels_t& labels, std::size_t n, const char* where) {
    return detail::one_hot_buffer<T>(labels, n, Classes, where);
  }
  template <class F>
  static xt::xtensor<T, 2> through(const xt::xtensor<T, 2>& in, const labels_t& labels, std::size_t width,
                                   const char* where, const F& fn) {
    const std::size_t n = in.shape()[0];
    const aligned_buffer<T> c = conditions(labels, n, where);
    xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({n, width});
    fn(in.data(), c.data(), n, out.data());
    return out;
  }
  // One sample with one label through fn(in, c, out).
  template <class F>
  static xt::xtensor<T, 1> one(const xt::xtensor<T, 1>& in, std::int32_t label, std::size_t width, const char* where,
                               const F& fn) {
    const aligned_buffer<T> c = conditions(labels_t{label}, 1, where);
    xt::xtensor<T, 1> out = xt::xtensor<T, 1>::from_shape({width});
    fn(in.data(), c.data(), out.data());
    return out;
  }
};

}  // namespace latent
