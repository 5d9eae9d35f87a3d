#pragma once
/// \file
/// `sample_factor_votes`: batches of observations that share the value of one ground-truth factor
/// (the others random), split into training and evaluation votes — what the FactorVAE score
/// (`factor_vae_score`) and the β-VAE score (`beta_vae_score`) classify. Sampled once, a set of
/// votes scores any number of models. See docs/disentanglement.md.

#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <string>       // std::to_string
#include <type_traits>  // std::decay_t, std::invoke_result_t
#include <utility>      // std::move
#include <vector>       // std::vector

#include "latent/core/error.hpp"

namespace latent {

/// One vote: a batch of observations (rows of `x`) that share the value of factor `factor`.
template <class X>
struct FactorBatch {
  std::size_t factor = 0;
  X x;
};

/// The votes of a classifier score: `train` fits the classifier, `eval` measures it.
template <class X>
struct FactorVotes {
  std::size_t num_factors = 0;
  std::vector<FactorBatch<X>> train;
  std::vector<FactorBatch<X>> eval;
};

/// How many votes to draw, and how large each batch is.
struct VoteOptions {
  /// Observations per batch (Kim & Mnih and disentanglement_lib: 64). Even: the β-VAE score pairs
  /// row i with row i + batch_size / 2.
  std::size_t batch_size = 64;
  /// Votes that fit the classifier.
  std::size_t train_votes = 500;
  /// Votes that measure it.
  std::size_t eval_votes = 300;
  /// Seed of the first batch; batch b gets seed + b.
  std::uint64_t seed = 0;
};

/// Draws `train_votes + eval_votes` batches with `sample(factor, batch_size, seed)`, which must return
/// `batch_size` observations (a type the encoder takes, e.g. xt::xtensor<float, 2> images) that share
/// one value of factor `factor`, drawn by `seed`, all other factors random — for the shapes data,
/// `make_shapes_sharing(factor, n, seed).data.x`. Vote b holds factor b mod `num_factors`, so every
/// factor gets the same number of votes (± 1).
/// Throws `option_error` when `num_factors` is 0, the batch size is below 2 or odd, or there are no
/// training or no evaluation votes.
template <class Sample>
auto sample_factor_votes(Sample&& sample, std::size_t num_factors, const VoteOptions& o = {}) {
  using X = std::decay_t<std::invoke_result_t<Sample&, std::size_t, std::size_t, std::uint64_t>>;
  if (num_factors == 0) throw option_error("sample_factor_votes: expected at least one factor, found 0");
  if (o.batch_size < 2 || o.batch_size % 2 != 0)
    throw option_error("sample_factor_votes: expected an even batch size of at least 2, found " +
                       std::to_string(o.batch_size));
  if (o.train_votes == 0 || o.eval_votes == 0)
    throw option_error("sample_factor_votes: expected at least one training and one evaluation vote, found " +
                       std::to_string(o.train_votes) + " and " + std::to_string(o.eval_votes));
  FactorVotes<X> votes;
  votes.num_factors = num_factors;
  for (std::size_t b = 0; b < o.train_votes + o.eval_votes; ++b) {
    const std::size_t k = b % num_factors;
    auto& into = b < o.train_votes ? votes.train : votes.eval;
    into.push_back({k, sample(k, o.batch_size, o.seed + b)});
  }
  return votes;
}

}  // namespace latent
