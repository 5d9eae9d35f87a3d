#pragma once
/// \file
/// The post-hoc sampler: `fit_code_mixture(model, x)` fits a `GaussianMixture` to a trained model's codes
/// of its training data, `generate_from(model, mixture, n, seed)` decodes draws from it — pythae's
/// `GaussianMixtureSampler` (10 components by default), with which any model generates, deterministic
/// ones (Autoencoder, WAE, RAE_L2, RAE_GP) too. docs/rae.md.

#include "latent/analysis/gaussian_mixture.hpp"
#include "latent/core/convert.hpp"
#include "latent/core/error.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data in, samples out

#include <concepts>  // std::floating_point
#include <cstddef>   // std::size_t
#include <cstdint>   // std::uint64_t
#include <string>    // std::to_string

namespace latent {

/// A model with codes: `encode` of n × input_size rows gives n × code_size codes, `decode` maps codes
/// back. Every unconditional model of latent: the autoencoders (their codes), the VAEs (`encode` gives
/// the means μ), the VQ-VAE (the quantised z_q, its grid flattened). Not the conditional VAE, whose calls
/// take labels.
template <class M>
concept CodeModel = requires(const M& m, const xt::xtensor<typename M::scalar_type, 2>& x) {
  { M::code_size } -> std::convertible_to<std::size_t>;
  { m.encode(x) } -> std::same_as<xt::xtensor<typename M::scalar_type, 2>>;
  { m.decode(x) } -> std::same_as<xt::xtensor<typename M::scalar_type, 2>>;
};

/// The mixture of `options.components` full-covariance Gaussians (default 10, as pythae's sampler) fitted
/// by EM to `model.encode(x)` (`GaussianMixture::fit`: reproducible from `options.seed`). `x` has the
/// model's rows, of either floating-point type. Errors: the model's for bad rows (`shape_error`,
/// `data_error`); the mixture's for fewer rows than components (`data_error`) or bad options
/// (`option_error`).
template <CodeModel Model, std::floating_point U>
GaussianMixture fit_code_mixture(const Model& model, const xt::xtensor<U, 2>& x, const GaussianMixtureOptions& options = {}) {
  const auto codes = model.encode(x);
  return GaussianMixture::fit(as_scalar<float>(codes), options);
}

/// `n` samples of the model: draws from `mixture` (reproducible from `seed`) decoded by `model` (the
/// decoder's mean: probabilities for a Bernoulli or logit loss). `shape_error` when the mixture is not
/// over the model's codes (`code_size` dimensions); `option_error` for n = 0.
template <CodeModel Model>
xt::xtensor<typename Model::scalar_type, 2> generate_from(const Model& model, const GaussianMixture& mixture,
                                                          std::size_t n, std::uint64_t seed) {
  if (mixture.dimensions() != Model::code_size)
    throw shape_error("generate_from: expected a mixture over the model's codes (" + std::to_string(Model::code_size) +
                      " dimensions), found one over " + std::to_string(mixture.dimensions()));
  if (n == 0) throw option_error("generate_from: expected at least 1 sample, found 0");
  return model.decode(as_scalar<typename Model::scalar_type>(mixture.sample(n, seed)));
}

}  // namespace latent
