#pragma once
/// \file
/// `latent::VAE<Encoder, Decoder, Likelihood, T>`: the variational autoencoder.

#include "latent/losses/bernoulli.hpp"
#include "latent/models/conditional_vae.hpp"  // ConditionalVAE, here too for code that includes vae.hpp
#include "latent/models/detail/vae_model.hpp"

#include <cstdint>  // std::uint64_t

namespace latent {

/// A variational autoencoder (Kingma & Welling). The encoder ends in `Gaussian<Z>`: q(z|x) =
/// N(μ(x), diag σ²(x)); z = μ + σ·ε while training (the reparameterisation trick); the decoder gives
/// the parameters of p(x|z) for the likelihood `Lik` (`Bernoulli` on logits, `UnitGaussian`,
/// `LearnedGaussian`).
///
/// Training loss per sample: −ELBO = −E_q[log p(x|z)] + β·KL(q(z|x) ‖ N(0, I)), the KL in closed form
/// and summed over code dimensions, averaged over the batch (as PyTorch's VAE example, which sums). β is
/// a run-time option (`set_beta`, a β-VAE), with optional linear KL warm-up (`set_kl_warmup`).
///
/// API: `encode` returns μ; `encode_sample` draws z; `decode` returns the likelihood's mean;
/// `reconstruct`; `generate(n, seed)`; `elbo(data)`; `log_likelihood(data, k)` (importance-sampled);
/// `kl_per_unit`, `active_units`; plus `fit`/`evaluate` like every model.
///
/// Shape rules, at compile time: the encoder ends in `Gaussian<Z>` and has no other; no `Gaussian` in
/// the decoder; decoder input = Z; decoder output = encoder input; `Bernoulli` needs an Identity
/// (logit) last layer. Example: examples/vae_fashion_mnist.cpp.
template <class Enc, class Dec, class Lik = Bernoulli, class T = float>
class VAE : public detail::vae_model<Enc, Dec, Lik, T, 0, 1> {
 public:
  /// Weights drawn from `seed`; the same seed gives the same weights and the same training noise.
  explicit VAE(std::uint64_t seed = 0) : detail::vae_model<Enc, Dec, Lik, T, 0, 1>(seed) {}
};

/// The importance-weighted autoencoder (Burda et al.): a VAE trained on the K-sample bound
/// L_K = E[log (1/K) Σ_k p(x, z_k)/q(z_k|x)], which is tighter than the ELBO (L_1). Same parts, same
/// API and rules as `VAE`; `loss` reports −L_K. Example: examples/compare.cpp.
template <class Enc, class Dec, std::size_t K = 5, class Lik = Bernoulli, class T = float>
class IWAE : public detail::vae_model<Enc, Dec, Lik, T, 0, K> {
 public:
  explicit IWAE(std::uint64_t seed = 0) : detail::vae_model<Enc, Dec, Lik, T, 0, K>(seed) {}
};

}  // namespace latent
