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

#include "latent/core/random.hpp"

#include <concepts>  // std::convertible_to
#include <cstddef>   // std::size_t

namespace latent {

/// No batch term: the plain VAE.
struct no_code_prior {
  static constexpr bool splittable = true;
};

/// A batch term on a VAE's codes for scalars `T` (see the file's comment).
template <class P, class T = float>
concept CodePrior = requires(P& p, const T* z, const T* st, std::size_t n, T* dz, T* dst, T s, Rng& rng) {
  { P::model_name } -> std::convertible_to<const char*>;
  { P::replaces_kl } -> std::convertible_to<bool>;
  { p.batch_penalty(z, st, n, n, dz, dst, s, rng) } -> std::convertible_to<double>;
};

}  // namespace latent
