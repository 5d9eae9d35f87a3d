#pragma once
/// \file
/// `latent::Context`: what a forward or backward pass needs to know besides the data.

#include "latent/core/deferred_gradients.hpp"
#include "latent/core/random.hpp"
#include "latent/detail/slice_barrier.hpp"

#include <cstddef>  // std::size_t

namespace latent {

/// Train or eval mode (PyTorch's `model.train()` / `model.eval()`): whether normalisation layers use
/// the batch's statistics (train) or their running statistics (eval), and whether dropout drops.
/// `fit`'s steps (and `gradient`) run in train mode; everything else — `evaluate`, `loss`, `elbo`,
/// `encode`, `reconstruct`, validation inside `fit`, the `Predictor`, exports — in eval mode. Separate
/// from `Context::training`, which says whether to draw a VAE's noise (its evaluations draw it too).
enum class Mode { eval, train };

namespace detail {
/// What a batch-coupled layer (BatchNorm in train mode) sees of its training step: its rows in the
/// step's shared memory — `shared_per_row` doubles for each of the `count` rows of the whole step, this
/// slice's from `first` — and the barrier the step's slices meet at. A layer writes its slice's rows,
/// calls `sync()`, then reads every row: summing them in row order gives the same bits on any number
/// of threads. Outside a training step (a layer called directly) it is empty, and the call's rows are
/// the whole batch.
struct batch_link {
  double* rows = nullptr;
  std::size_t count = 0;
  std::size_t first = 0;
  slice_barrier* barrier = nullptr;
  /// Waits for the step's other slices; false when one of them failed (the step is then thrown away).
  bool sync() const noexcept { return barrier == nullptr || barrier->arrive_and_wait(); }
  bool empty() const noexcept { return rows == nullptr; }
};
}  // namespace detail

/// Passed through every layer's `forward` and `backward`.
///
/// Deterministic layers ignore it. Stochastic layers (the `Gaussian` head) draw from `rng` when
/// `training` is true; layers that add a term to the loss (the KL term of a VAE) add its sum over the
/// batch to `penalty` and scale its gradient by `grad_scale` (1 / samples in the whole batch, so that
/// gradients are those of the batch mean). Layers with state (BatchNorm) read `mode`, `state`, `stats`
/// and `batch`, which the model and every `Seq` point at the layer they call (see core/concepts.hpp).
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
  /// When set (a VAE with a batch penalty on its codes, models/code_prior.hpp), a `Gaussian` head's
  /// backward adds these values (n × 2Z, already including `grad_scale`) to the gradient of its
  /// statistics [μ | log σ²] (not where log σ² was clamped).
  const T* stat_grads = nullptr;
  /// When set (a slice of a multi-threaded training step), a layer may push its weight gradient here
  /// instead of computing it: after all slices are done, the model forms each such gradient over the
  /// whole batch, every thread the rows of the parameters it will also update. The layer must still
  /// compute its input gradient, and the buffers it names must stay untouched until the step ends.
  /// Layers that ignore it stay correct: their gradients are summed over the slices as before.
  detail::deferred_gradients<T>* deferred = nullptr;
  /// Train or eval mode (see `Mode`).
  Mode mode = Mode::eval;
  /// The current layer's state (`state_size` values; BatchNorm's running statistics), or null for a
  /// layer without: read in eval mode, never written by a pass (the model applies `update_state` once
  /// per training step).
  const T* state = nullptr;
  /// In a training step: where the current layer adds the statistics its `update_state` reads after
  /// the step (`step_stats_size` values, zero at the start of the step; the model sums them over the step's
  /// slices, and over the processes of a data-parallel run). Null outside a training step.
  T* stats = nullptr;
  /// In a training step: the current layer's rows of the step's shared memory (see `detail::batch_link`).
  detail::batch_link batch{};
};

}  // namespace latent
