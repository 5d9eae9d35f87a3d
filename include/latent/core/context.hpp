#pragma once
/// \file
/// `latent::Context`: what a forward or backward pass needs to know besides the data.

#include "latent/core/random.hpp"

namespace latent {

/// Passed through every layer's `forward` and `backward`.
///
/// Deterministic layers ignore it. Stochastic layers (the `Gaussian` head) draw from `rng` when
/// `training` is true; layers that add a term to the loss (the KL term of a VAE) add its sum over the
/// batch to `penalty` and scale its gradient by `grad_scale` (1 / samples in the whole batch, so that
/// gradients are those of the batch mean).
template <class T>
struct Context {
  bool training = false;   ///< sample noise (training) or use the mean (inference)
  Rng* rng = nullptr;      ///< noise source when training
  T grad_scale = T(1);     ///< d(batch-mean loss) / d(one sample's loss)
  T kl_weight = T(1);      ///< β of a β-VAE: weight of the KL term in the loss
  double penalty = 0;      ///< sum over the batch of loss terms added by layers
  /// When set, a `Gaussian` head copies its statistics [μ | log σ²] (n × 2Z) here during forward.
  T* gaussian_stats = nullptr;
  /// When set (importance-weighted training), a `Gaussian` head adds no analytic KL; instead its
  /// backward adds the gradient of log q(z|x) = −½ Σ log σ² + const, weighted per sample by these
  /// values (n of them, already including `grad_scale`).
  const T* iw_weights = nullptr;
};

}  // namespace latent
