#pragma once
/// \file
/// The `CodePrior` hook of the VAE family: a term on the whole batch's codes that a VAE adds to (or puts
/// in place of) the closed-form KL of its `Gaussian` head. β-TCVAE's decomposed KL, InfoVAE's MMD and
/// FactorVAE's discriminator are written through it. A type `P` with
///
///     static constexpr const char* model_name = "BetaTCVAE";  // the model's kind in architecture()
///     static constexpr bool replaces_kl = true;   // the head's analytic KL weight is 0 while training
///     // The term summed over the n rows (so that / n is its part of the batch's mean loss), given the
///     // codes z (n × Z, drawn), the head's statistics [μ | log σ²] (n × 2Z) and the step's generator;
///     // adds grad_scale · ∂term/∂z to dz and grad_scale · ∂term/∂stats to dstats (both zero on entry).
///     template <class T> double batch_penalty(const T* z, const T* stats, std::size_t n, std::size_t Z,
///                                             T* dz, T* dstats, T grad_scale, latent::Rng& rng);
///     // optional: may a step be split over threads by rows? (default false: the term couples rows)
///     static constexpr bool splittable = false;
///
/// is a code prior; `detail::vae_model<…, P>` calls it in every training step (and `gradient`), after
/// the forward pass and before the backward pass. A step whose term couples rows runs on one thread,
/// so two threads give one thread's bits.
///
/// A prior built on the encoder's own posterior at inputs of its own (the VampPrior's pseudo-inputs,
/// models/vamp_vae.hpp) has, in place of that `batch_penalty`, the members of `AnchoredCodePrior`:
///
///     static constexpr std::size_t param_count = ...;  // its own parameters, after the likelihood's
///     static constexpr std::size_t anchors = ...;      // A: the rows it passes through the encoder
///     template <class T> void init(T* own, Rng& rng) const;
///     // The A anchor rows (A × D) from its parameters; the backward of that map stores ∂/∂own.
///     template <class T> void anchor_inputs(const T* own, T* rows, std::size_t D) const;
///     template <class T> void anchor_inputs_backward(const T* own, const T* drows, T* down, std::size_t D) const;
///     // The term as above, given also the anchors' statistics `as` (A × 2Z: the encoder's [μ | log σ²]
///     // at the anchors, without noise); adds grad_scale · ∂term/∂as to `das` (zero on entry).
///     template <class T> double batch_penalty(z, stats, n, Z, dz, dstats, grad_scale, rng, const T* as, T* das);
///     // Its density: log p(z) of n codes (the whole log-density, −Z/2·log 2π included), and n draws.
///     template <class T> void log_density(const T* z, std::size_t n, std::size_t Z, const T* as, double* out) const;
///     template <class T> void sample(std::size_t n, std::size_t Z, const T* as, Rng& rng, T* z) const;
///
/// `detail::vae_model` then runs the encoder on the anchors in every step (eval mode, no noise) before
/// the term and backward after it, so the term's gradient reaches the encoder's weights through the
/// anchors too, and its parameters are the model's last (the optimiser, save/load and gradient checks see
/// them). The term stands for the KL term: β and the KL warm-up weight it. `generate` draws from the
/// prior, and `elbo`, `loss` and `log_likelihood` use its density in place of N(0, I). Unconditional
/// models only, with an encoder without state.
///
/// A prior with values of its own that gradients do not train (FactorVAE's discriminator and its Adam
/// moments, models/factor_vae.hpp) has, in place of that `batch_penalty`, the members of
/// `StatefulCodePrior`:
///
///     static constexpr std::size_t state_size = ...;       // its values in the model's state
///     static constexpr std::size_t step_stats_size = ...;  // the statistics a step gathers for it
///     template <class T> void init_state(T* state, Rng& rng) const;          // from the model's seed
///     template <class T> void update_state(T* state, const T* stats) const;  // once per training step
///     // The term as above, reading its state and adding what the step saw to `step_stats`.
///     template <class T> double batch_penalty(z, stats, n, Z, dz, dstats, grad_scale, rng,
///                                             const T* state, T* step_stats);
///
/// Its state follows the layers' in the model's `state()` (docs/design.md, "State, modes and batch
/// coupling"), so save/load, checkpoints, the last-good copy and the MPI broadcast carry it; its
/// statistics follow the layers' in the step's statistics, summed over processes, and `update_state`
/// runs once per training step after the backward pass (never in `gradient`).

#include "latent/core/random.hpp"

#include <concepts>  // std::convertible_to
#include <cstddef>   // std::size_t

namespace latent {

/// No batch term: the plain VAE.
struct no_code_prior {
  static constexpr bool splittable = true;
};

/// A code prior built on the encoder's posterior at anchor inputs of its own (see the file's comment).
template <class P, class T = float>
concept AnchoredCodePrior = requires(P& p, const P& cp, const T* c, T* m, std::size_t n, double* out, T s, Rng& rng) {
  { P::param_count } -> std::convertible_to<std::size_t>;
  { P::anchors } -> std::convertible_to<std::size_t>;
  cp.init(m, rng);
  cp.anchor_inputs(c, m, n);
  cp.anchor_inputs_backward(c, c, m, n);
  { p.batch_penalty(c, c, n, n, m, m, s, rng, c, m) } -> std::convertible_to<double>;
  cp.log_density(c, n, n, c, out);
  cp.sample(n, n, c, rng, m);
};

/// A code prior with a state of its own in the model's state (see the file's comment).
template <class P, class T = float>
concept StatefulCodePrior = requires(P& p, const P& cp, const T* c, T* m, std::size_t n, T s, Rng& rng) {
  { P::state_size } -> std::convertible_to<std::size_t>;
  { P::step_stats_size } -> std::convertible_to<std::size_t>;
  cp.init_state(m, rng);
  cp.update_state(m, c);
  { p.batch_penalty(c, c, n, n, m, m, s, rng, c, m) } -> std::convertible_to<double>;
};

/// A batch term on a VAE's codes for scalars `T` (see the file's comment).
template <class P, class T = float>
concept CodePrior = requires {
  { P::model_name } -> std::convertible_to<const char*>;
  { P::replaces_kl } -> std::convertible_to<bool>;
} && (AnchoredCodePrior<P, T> || StatefulCodePrior<P, T> ||
      requires(P& p, const T* z, const T* st, std::size_t n, T* dz, T* dst, T s, Rng& rng) {
        { p.batch_penalty(z, st, n, n, dz, dst, s, rng) } -> std::convertible_to<double>;
      });

namespace detail {
/// The values a code prior keeps in the model's state, and the statistics a step gathers for it (0
/// for a prior without state of its own).
template <class P>
constexpr std::size_t code_prior_state_size() {
  if constexpr (requires { P::state_size; })
    return P::state_size;
  else
    return 0;
}
template <class P>
constexpr std::size_t code_prior_stats_size() {
  if constexpr (requires { P::step_stats_size; })
    return P::step_stats_size;
  else
    return 0;
}
}  // namespace detail

}  // namespace latent
