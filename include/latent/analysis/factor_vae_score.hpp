#pragma once
/// \file
/// `factor_vae_score`: the disentanglement metric of Kim & Mnih 2018 (FactorVAE), a majority-vote
/// classifier that names the factor held fixed in a batch from the code unit that varies least.
/// See docs/disentanglement.md; example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_floating_point_v
#include <vector>       // std::vector

#include "latent/analysis/factor_votes.hpp"
#include "latent/core/error.hpp"

namespace latent {

namespace detail {

// Mean and (population) variance of each column of `m`.
template <class T>
void column_moments(const xt::xtensor<T, 2>& m, std::vector<double>& mean, std::vector<double>& var) {
  const std::size_t n = m.shape()[0], d = m.shape()[1];
  mean.assign(d, 0.0);
  var.assign(d, 0.0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) mean[j] += m(r, j);
  for (double& v : mean) v /= static_cast<double>(n);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) {
      const double e = static_cast<double>(m(r, j)) - mean[j];
      var[j] += e * e;
    }
  for (double& v : var) v /= static_cast<double>(n);
}

// The codes of one vote's batch, checked: at least 2 rows, finite, `width` units (any, at least one,
// when `width` is 0).
template <class T, class Encode, class X>
xt::xtensor<T, 2> encode_vote(Encode& encode, const X& x, std::size_t width, const char* where) {
  xt::xtensor<T, 2> c = encode(x);
  if (width == 0 && c.shape()[1] == 0)
    throw data_error(std::string(where) + ": expected codes of at least 1 unit, found 0");
  if (width != 0 && c.shape()[1] != width)
    throw shape_error(std::string(where) + ": expected codes of " + std::to_string(width) +
                      " units (the reference codes' width), found " + std::to_string(c.shape()[1]));
  if (c.shape()[0] < 2)
    throw data_error(std::string(where) + ": expected at least 2 codes per batch, found " +
                     std::to_string(c.shape()[0]));
  for (std::size_t i = 0; i < c.size(); ++i)
    if (!std::isfinite(c.data()[i]))
      throw data_error(std::string(where) + ": expected finite codes, found " + std::to_string(c.data()[i]));
  return c;
}

// Votes a classifier can learn from and be measured on: some of each, each naming a known factor.
template <class X>
void check_votes(const FactorVotes<X>& votes, const char* where) {
  if (votes.num_factors == 0) throw option_error(std::string(where) + ": expected at least one factor, found 0");
  if (votes.train.empty() || votes.eval.empty())
    throw option_error(std::string(where) + ": expected at least one training and one evaluation vote, found " +
                       std::to_string(votes.train.size()) + " and " + std::to_string(votes.eval.size()));
  for (const auto* set : {&votes.train, &votes.eval})
    for (const auto& b : *set)
      if (b.factor >= votes.num_factors)
        throw option_error(std::string(where) + ": expected votes for factors below " +
                           std::to_string(votes.num_factors) + ", found factor " + std::to_string(b.factor));
}

}  // namespace detail

/// The FactorVAE score (Kim & Mnih, "Disentangling by Factorising", ICML 2018). Each unit j is first
/// divided by its standard deviation s_j over `reference_codes` (the codes of the data set, n × J);
/// units with variance below `prune_variance` there are collapsed and left out (disentanglement_lib's
/// 0.05). For each vote (a batch sharing factor k), the unit with the smallest variance of z_j / s_j
/// over the batch is the vote's index d. The classifier maps each index d to the factor it met most
/// often among the training votes (majority vote, ties to the lower factor); the score is its
/// accuracy on the evaluation votes:
///   score = (1 / |eval|) Σ_{eval votes (d, k)} [argmax_k' V(d, k') = k],  V(d, k) = training votes.
/// 1 when each factor has its own unit that it alone moves; chance, 1/K, when the code ignores the
/// factors. 0 when every unit is collapsed. `encode(x)` maps a vote's observations to codes
/// (xt::xtensor<T, 2>, one row each).
/// Throws `data_error` when the reference codes are empty or hold NaN/Inf, and `shape_error` or
/// `data_error` when a batch's codes are not as wide as the reference codes, have fewer than 2 rows
/// or hold NaN/Inf; `option_error` when there are no training or evaluation votes or a vote names a
/// factor index of `num_factors` or more.
template <class X, class Encode, class T>
double factor_vae_score(const FactorVotes<X>& votes, Encode&& encode, const xt::xtensor<T, 2>& reference_codes,
                        double prune_variance = 0.05) {
  static_assert(std::is_floating_point_v<T>, "latent: factor_vae_score needs codes of float or double");
  const std::size_t nz = reference_codes.shape()[1], nv = votes.num_factors;
  if (reference_codes.shape()[0] < 2 || nz == 0)
    throw data_error("factor_vae_score: expected reference codes of at least 2 rows and 1 unit, found " +
                     std::to_string(reference_codes.shape()[0]) + " x " + std::to_string(nz));
  for (std::size_t i = 0; i < reference_codes.size(); ++i)
    if (!std::isfinite(reference_codes.data()[i]))
      throw data_error("factor_vae_score: expected finite reference codes, found " +
                       std::to_string(reference_codes.data()[i]));
  detail::check_votes(votes, "factor_vae_score");
  std::vector<double> mean, global;
  detail::column_moments(reference_codes, mean, global);
  std::vector<std::size_t> active;
  for (std::size_t j = 0; j < nz; ++j)
    if (global[j] >= prune_variance && global[j] > 0) active.push_back(j);
  if (active.empty()) return 0.0;

  // The index of a vote: the active unit of least normalised variance (the first on a tie).
  auto index_of = [&](const X& x) {
    const xt::xtensor<T, 2> c = detail::encode_vote<T>(encode, x, nz, "factor_vae_score");
    std::vector<double> m, v;
    detail::column_moments(c, m, v);
    std::size_t best = active[0];
    for (std::size_t j : active)
      if (v[j] / global[j] < v[best] / global[best]) best = j;
    return best;
  };
  std::vector<std::size_t> counts(nz * nv, 0);
  for (const auto& b : votes.train) ++counts[index_of(b.x) * nv + b.factor];
  std::vector<std::size_t> predict(nz, 0);
  for (std::size_t d = 0; d < nz; ++d)
    for (std::size_t k = 1; k < nv; ++k)
      if (counts[d * nv + k] > counts[d * nv + predict[d]]) predict[d] = k;
  std::size_t correct = 0;
  for (const auto& b : votes.eval) correct += predict[index_of(b.x)] == b.factor ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(votes.eval.size());
}

}  // namespace latent
