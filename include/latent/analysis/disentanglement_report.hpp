#pragma once
/// \file
/// `disentanglement_report`: every figure latent has on how a model's code relates to the true
/// factors of its data, in one call — MIG, the FactorVAE and β-VAE scores, the unit × factor mutual
/// information, and for a VAE the KL of each unit and the active units.
/// See docs/disentanglement.md; example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::stable_sort
#include <cstddef>    // std::size_t
#include <numeric>    // std::iota
#include <vector>     // std::vector

#include "latent/analysis/beta_vae_score.hpp"
#include "latent/analysis/factor_vae_score.hpp"
#include "latent/analysis/factor_votes.hpp"
#include "latent/analysis/mig.hpp"
#include "latent/analysis/mutual_information.hpp"

namespace latent {

/// What `disentanglement_report` computes.
struct DisentanglementOptions {
  /// Histogram bins of the mutual information (MIG and the heat map).
  std::size_t bins = 20;
  /// Units whose variance over the data is below this are collapsed for the FactorVAE score.
  double prune_variance = 0.05;
  /// Threshold of the active units: variance of the code (a VAE's μ) over the data (Burda et al.).
  double active_threshold = 0.01;
  /// The β-VAE score's classifier.
  BetaVaeOptions beta_vae{};
};

/// A model's code against the true factors of the data.
struct DisentanglementReport {
  Mig mig;
  double factor_vae = 0;
  double beta_vae = 0;
  MutualInformation mutual_information;
  /// Z: the mean KL(q(z_j|x) ‖ N(0, 1)) of each unit over the data; empty for a model without one.
  xt::xtensor<double, 1> kl_per_unit;
  /// Z: the variance of each unit of the code over the data.
  std::vector<double> variance;
  /// Units whose variance over the data exceeds the threshold.
  std::size_t active_units = 0;
  /// The units, most informative first: by KL for a VAE, else by variance (ties keep the order).
  std::vector<std::size_t> unit_order;
};

/// Encodes `x` (n × D images with ground-truth `factors`, n × K) and scores the code:
/// MIG (`mutual_information_gap`, `options.bins` bins), the FactorVAE score (`factor_vae_score`,
/// units normalised by their std over `x`), the β-VAE score (`beta_vae_score`) on `votes`
/// (`sample_factor_votes` with `model.encode`-able observations), and the KL per unit when the model
/// has `kl_per_unit` (the VAE family). Errors are those of the scores and of `model.encode`.
template <class Model, class T, class X>
DisentanglementReport disentanglement_report(const Model& model, const xt::xtensor<T, 2>& x,
                                             const xt::xtensor<double, 2>& factors, const FactorVotes<X>& votes,
                                             const DisentanglementOptions& options = {}) {
  const xt::xtensor<T, 2> codes = model.encode(x);
  DisentanglementReport r;
  r.mutual_information = mutual_information(codes, factors, options.bins);
  r.mig = mutual_information_gap(r.mutual_information);
  // Each vote encoded once, for both scores.
  FactorVotes<xt::xtensor<T, 2>> coded;
  coded.num_factors = votes.num_factors;
  for (const auto& b : votes.train) coded.train.push_back({b.factor, model.encode(b.x)});
  for (const auto& b : votes.eval) coded.eval.push_back({b.factor, model.encode(b.x)});
  auto same = [](const xt::xtensor<T, 2>& c) -> const xt::xtensor<T, 2>& { return c; };
  r.factor_vae = factor_vae_score(coded, same, codes, options.prune_variance);
  r.beta_vae = beta_vae_score(coded, same, options.beta_vae);
  std::vector<double> mean;
  detail::column_moments(codes, mean, r.variance);
  for (double v : r.variance) r.active_units += v > options.active_threshold ? 1 : 0;
  std::vector<double> weight = r.variance;
  if constexpr (requires { model.kl_per_unit(x); }) {
    r.kl_per_unit = model.kl_per_unit(x);
    weight.assign(r.kl_per_unit.begin(), r.kl_per_unit.end());
  }
  r.unit_order.resize(weight.size());
  std::iota(r.unit_order.begin(), r.unit_order.end(), std::size_t{0});
  std::stable_sort(r.unit_order.begin(), r.unit_order.end(),
                   [&](std::size_t a, std::size_t b) { return weight[a] > weight[b]; });
  return r;
}

}  // namespace latent
