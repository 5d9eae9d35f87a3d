#pragma once
/// \file
/// `latent::Context`: what a forward or backward pass needs to know besides the data.

#include "latent/core/deferred_gradients.hpp"
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
  bool training = false;  ///< sample noise (training) or use the mean (inference)
  Rng* rng = nullptr;     ///< noise source when training
  T grad_scale = T(1);    ///< d(batch-mean loss) / d(one sample's loss)
  T kl_weight = T(1);     ///< β of a β-VAE: weight of the KL term in the loss
  double penalty = 0;     ///< sum over the batch of loss terms added by layers
  /// When set, a `Gaussian` head copies its statistics [μ | log σ²] (n × 2Z) here during forward.
  T* gaussian_stats = nullptr;
  /// When set (importance-weighted training), a `Gaussian` head adds no analytic KL; instead its
  /// backward adds the gradient of log q(z|x) = −½ Σ log σ² + const, weighted per sample by these
  /// values (n of them, already including `grad_scale`).
  const T* iw_weights = nullptr;
  /// When set (a slice of a multi-threaded training step), a layer may push its weight gradient here
  /// instead of computing it: after all slices are done, the model forms each such gradient over the
  /// whole batch, every thread the rows of the parameters it will also update. The layer must still
  /// compute its input gradient, and the buffers it names must stay untouched until the step ends.
  /// Layers that ignore it stay correct: their gradients are summed over the slices as before.
  detail::deferred_gradients<T>* deferred = nullptr;
};

}  // namespace latent
