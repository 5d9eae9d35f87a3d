#pragma once
/// \file
/// `beta_vae_score`: the disentanglement metric of Higgins et al. 2017 (β-VAE), the accuracy of a
/// linear classifier that names the factor two observations share from the mean absolute difference
/// of their codes. See docs/disentanglement.md; example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>    // std::fill
#include <cmath>        // std::abs, std::exp, std::sqrt
#include <cstddef>      // std::size_t
#include <string>       // std::to_string
#include <type_traits>  // std::is_floating_point_v, std::decay_t, std::invoke_result_t
#include <vector>       // std::vector

#include "latent/analysis/factor_vae_score.hpp"  // detail::encode_vote, detail::check_votes
#include "latent/analysis/factor_votes.hpp"
#include "latent/core/error.hpp"

namespace latent {

/// The classifier of `beta_vae_score`: multinomial logistic regression trained by full-batch
/// gradient descent on standardised features.
struct BetaVaeOptions {
  /// Gradient steps.
  std::size_t steps = 500;
  /// Step size on the mean cross-entropy (features have unit variance, so 0.5 is safe).
  double learning_rate = 0.5;
  /// L2 penalty λ/2·‖W‖² on the weights (not the biases).
  double l2 = 1e-3;
};

namespace detail {

// The feature of one vote: the mean over pairs (row i, row i + L/2) of |z_i − z_{i+L/2}|, per unit.
template <class T, class Encode, class X>
std::vector<double> pair_difference(Encode& encode, const X& x, std::size_t width) {
  const xt::xtensor<T, 2> c = encode_vote<T>(encode, x, width, "beta_vae_score");
  const std::size_t half = c.shape()[0] / 2;
  std::vector<double> f(width, 0.0);
  for (std::size_t i = 0; i < half; ++i)
    for (std::size_t j = 0; j < width; ++j)
      f[j] += std::abs(static_cast<double>(c(i, j)) - static_cast<double>(c(i + half, j)));
  for (double& v : f) v /= static_cast<double>(half);
  return f;
}

// Class probabilities of a softmax over x·W + b (W: d × k row-major), into `p`.
inline void softmax_scores(const double* x, const std::vector<double>& w, const std::vector<double>& b, std::size_t d,
                           std::size_t k, std::vector<double>& p) {
  double top = -1e300;
  for (std::size_t c = 0; c < k; ++c) {
    double s = b[c];
    for (std::size_t j = 0; j < d; ++j) s += x[j] * w[j * k + c];
    p[c] = s;
    top = s > top ? s : top;
  }
  double total = 0;
  for (std::size_t c = 0; c < k; ++c) total += p[c] = std::exp(p[c] - top);
  for (std::size_t c = 0; c < k; ++c) p[c] /= total;
}

}  // namespace detail

/// The β-VAE score (Higgins et al., "β-VAE: Learning Basic Visual Concepts with a Constrained
/// Variational Framework", ICLR 2017). Each vote's batch of L observations sharing factor k is read
/// as L/2 pairs (row i, row i + L/2); its feature is the mean over the pairs of |z_i − z_{i+L/2}|
/// per unit (J values), small on the units that carry factor k. A linear classifier, multinomial
/// logistic regression softmax(W·f + b) over the K factors, is fitted to the training votes'
/// features (standardised by their mean and standard deviation; `options.steps` full-batch gradient
/// steps on the mean cross-entropy + λ/2·‖W‖²); the score is its accuracy on the evaluation votes.
/// 1 when a factor's units are its own; chance, 1/K, when the code ignores the factors.
/// Differences from the paper: the pairs of a batch share one value of v_k (the paper draws one per
/// pair; either way each pair agrees on v_k alone), and the classifier is trained by plain gradient
/// descent, not Adagrad.
/// `encode(x)` maps a vote's observations to codes (xt::xtensor<T, 2>, one row each, every batch as
/// wide as the first). Throws as `factor_vae_score` for bad votes or codes, and `option_error` for 0 steps or a
/// non-positive learning rate.
template <class X, class Encode>
double beta_vae_score(const FactorVotes<X>& votes, Encode&& encode, const BetaVaeOptions& options = {}) {
  using T = typename std::decay_t<std::invoke_result_t<Encode&, const X&>>::value_type;
  static_assert(std::is_floating_point_v<T>, "latent: beta_vae_score needs codes of float or double");
  detail::check_votes(votes, "beta_vae_score");
  if (options.steps == 0 || !(options.learning_rate > 0))
    throw option_error("beta_vae_score: expected at least 1 step and a positive learning rate, found " +
                       std::to_string(options.steps) + " and " + std::to_string(options.learning_rate));
  // The width of every batch's codes is the first batch's.
  const std::size_t d = detail::encode_vote<T>(encode, votes.train[0].x, 0, "beta_vae_score").shape()[1];
  const std::size_t k = votes.num_factors;
  // Features of every vote, then standardised with the training votes' moments.
  auto features = [&](const auto& set) {
    std::vector<double> f;
    for (const auto& b : set) {
      const std::vector<double> v = detail::pair_difference<T>(encode, b.x, d);
      f.insert(f.end(), v.begin(), v.end());
    }
    return f;
  };
  std::vector<double> train = features(votes.train), eval = features(votes.eval);
  const std::size_t nt = votes.train.size(), ne = votes.eval.size();
  std::vector<double> mean(d, 0.0), sd(d, 0.0);
  for (std::size_t r = 0; r < nt; ++r)
    for (std::size_t j = 0; j < d; ++j) mean[j] += train[r * d + j] / static_cast<double>(nt);
  for (std::size_t r = 0; r < nt; ++r)
    for (std::size_t j = 0; j < d; ++j) sd[j] += (train[r * d + j] - mean[j]) * (train[r * d + j] - mean[j]);
  for (double& s : sd) s = s > 0 ? std::sqrt(s / static_cast<double>(nt)) : 1.0;
  for (auto* f : {&train, &eval})
    for (std::size_t i = 0; i < f->size(); ++i) (*f)[i] = ((*f)[i] - mean[i % d]) / sd[i % d];

  // Logistic regression from zero weights: deterministic, convex, so the start does not matter.
  std::vector<double> w(d * k, 0.0), b(k, 0.0), gw(d * k), gb(k), p(k);
  for (std::size_t step = 0; step < options.steps; ++step) {
    for (std::size_t i = 0; i < d * k; ++i) gw[i] = options.l2 * w[i];
    std::fill(gb.begin(), gb.end(), 0.0);
    for (std::size_t r = 0; r < nt; ++r) {
      const double* x = train.data() + r * d;
      detail::softmax_scores(x, w, b, d, k, p);
      p[votes.train[r].factor] -= 1;  // ∂CE/∂logits = p − onehot
      for (std::size_t c = 0; c < k; ++c) {
        gb[c] += p[c] / static_cast<double>(nt);
        for (std::size_t j = 0; j < d; ++j) gw[j * k + c] += x[j] * p[c] / static_cast<double>(nt);
      }
    }
    for (std::size_t i = 0; i < d * k; ++i) w[i] -= options.learning_rate * gw[i];
    for (std::size_t c = 0; c < k; ++c) b[c] -= options.learning_rate * gb[c];
  }
  std::size_t correct = 0;
  for (std::size_t r = 0; r < ne; ++r) {
    detail::softmax_scores(eval.data() + r * d, w, b, d, k, p);
    std::size_t best = 0;
    for (std::size_t c = 1; c < k; ++c)
      if (p[c] > p[best]) best = c;
    correct += best == votes.eval[r].factor ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(ne);
}

}  // namespace latent
