#pragma once
/// \file
/// `latent::InfoVAE<Enc, Dec, Lik, T>`: InfoVAE with the MMD divergence (Zhao, Song & Ermon, "InfoVAE:
/// balancing learning and inference in variational autoencoders", 2019; pythae's `INFOVAE_MMD`): a VAE
/// whose KL is scaled by 1 − α and which adds the maximum mean discrepancy between the batch's codes and
/// draws from the prior, weighted α + λ − 1. Written through the VAE family's `CodePrior` hook
/// (models/code_prior.hpp); the MMD is `WAE`'s (models/wae.hpp). docs/tc-and-mmd-vaes.md.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/models/code_prior.hpp"
#include "latent/models/detail/vae_model.hpp"
#include "latent/models/wae.hpp"  // MmdKernel, detail::mmd_to_prior

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cmath>    // std::exp, std::isfinite
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <string>   // std::string, std::to_string
#include <vector>   // std::vector: the kernel's scales; mmd's draws

namespace latent {

/// InfoVAE's batch term (a `CodePrior`, models/code_prior.hpp). On a batch of B codes z_i ~ q(z|x_i):
///
///     (1 − α)·Σ_i KL(q(z|x_i) ‖ N(0, I))  +  B·(α + λ − 1)·MMD²(z, p)
///
/// the KL in closed form (it replaces the head's), MMD² as `MmdPenalty`'s (models/wae.hpp): unbiased
/// within-sample sums over B(B−1) pairs, the cross sum over B², B draws p from N(0, I) per step (the
/// step's generator), C = 2·Z·bandwidth², for `imq` k(a, b) = Σ_s sC / (sC + ‖a − b‖²) over `scales` s,
/// for `rbf` exp(−‖a − b‖² / C). Divided by B this is pythae's `INFOVAE_MMD.loss_function` less its
/// reconstruction term: pythae adds the batch's MMD² to every row's loss before the mean. The MMD
/// couples the batch's rows: a step runs on one thread.
///
/// Defaults: α = 0 and λ = 1000 from pythae's benchmark configs for MNIST and CelebA
/// (examples/scripts/configs/{mnist,celeba}/info_vae_config.json), so the KL keeps weight 1 and the MMD
/// gets 999; the imq kernel, bandwidth 1 and scales {0.1, 0.2, 0.5, 1, 2, 5, 10} from pythae's
/// `INFOVAE_MMD_Config`. That class's own defaults α = 0, λ = 1e-3 (and α = 0.5, λ = 3e-2 in its older
/// versions and its CIFAR-10 config) give the MMD a negative weight (−0.999, −0.47): the objective then
/// pushes the codes' distribution away from the prior, which is not InfoVAE's intent (Zhao et al.'s
/// divergence term is a penalty; λ = 1e-3 reads as a slip for 1e3). latent refuses a negative weight
/// (`validated`). Both sides of the loss sum over the data's values as pythae's do (latent's VAE
/// likelihoods sum over the input), so the weights carry over without rescaling.
struct InfoMmd {
  double alpha = 0;      ///< α: the KL's weight is 1 − α (α ≤ 1)
  double lambda = 1000;  ///< λ: the MMD's weight is α + λ − 1 (must be ≥ 0)
  MmdKernel kernel = MmdKernel::imq;
  double bandwidth = 1.0;
  std::vector<double> scales = {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0};

  static constexpr const char* model_name = "InfoVAE";
  static constexpr bool replaces_kl = true;
  static constexpr bool splittable = false;

  /// The KL's weight, 1 − α.
  double kl_weight() const noexcept { return 1 - alpha; }
  /// The MMD's weight, α + λ − 1.
  double mmd_weight() const noexcept { return alpha + lambda - 1; }

  /// The settings, checked: `option_error` naming the field, what was expected and what was found.
  InfoMmd validated() const {
    if (!(alpha <= 1) || !std::isfinite(alpha))
      throw option_error("InfoMmd: expected a finite alpha <= 1 (the KL's weight is 1 - alpha), found " +
                         std::to_string(alpha));
    if (!std::isfinite(lambda))
      throw option_error("InfoMmd: expected a finite lambda, found " + std::to_string(lambda));
    if (!(mmd_weight() >= 0))
      throw option_error("InfoMmd: expected alpha + lambda - 1 >= 0 (the MMD's weight; a negative one pushes the "
                         "codes away from the prior), found alpha " +
                         std::to_string(alpha) + ", lambda " + std::to_string(lambda) + ": " +
                         std::to_string(mmd_weight()));
    if (!(bandwidth > 0) || !std::isfinite(bandwidth))
      throw option_error("InfoMmd: expected bandwidth > 0, found " + std::to_string(bandwidth));
    if (kernel != MmdKernel::imq && kernel != MmdKernel::rbf)
      throw option_error("InfoMmd: expected the kernel imq or rbf, found " + std::to_string(static_cast<int>(kernel)));
    if (kernel == MmdKernel::imq && scales.empty())
      throw option_error("InfoMmd: expected at least one scale for the imq kernel, found none");
    for (const double s : scales)
      if (!(s > 0) || !std::isfinite(s)) throw option_error("InfoMmd: expected scales > 0, found " + std::to_string(s));
    return *this;
  }

  /// The hook: (1 − α)·Σ KL + B·(α + λ − 1)·MMD² (so that / B is its part of the batch's mean loss);
  /// adds grad_scale times its gradients to dz (B × Z) and dstats (B × 2Z).
  template <class T>
  double batch_penalty(const T* z, const T* stats, std::size_t b, std::size_t Z, T* dz, T* dstats, T grad_scale,
                       Rng& rng) const {
    const double w = kl_weight(), gs = static_cast<double>(grad_scale);
    double kl = 0;
    if (w != 0)
      for (std::size_t r = 0; r < b; ++r)
        for (std::size_t k = 0; k < Z; ++k) {
          // ½(μ² + σ² − 1 − log σ²): ∂/∂μ = μ, ∂/∂log σ² = ½(σ² − 1)
          const double mu = static_cast<double>(stats[r * 2 * Z + k]),
                       lv = static_cast<double>(stats[r * 2 * Z + Z + k]);
          const double var = std::exp(lv);
          kl += 0.5 * (mu * mu + var - 1.0 - lv);
          dstats[r * 2 * Z + k] += static_cast<T>(gs * w * mu);
          dstats[r * 2 * Z + Z + k] += static_cast<T>(gs * w * 0.5 * (var - 1.0));
        }
    return w * kl + detail::mmd_to_prior(z, dz, b, Z, grad_scale, rng, mmd_weight(), kernel, bandwidth, scales);
  }
};

/// InfoVAE-MMD: a VAE (same parts, rules and API as `VAE`) trained on
///
///     −E_q[log p(x|z)] + (1 − α)·KL(q(z|x) ‖ N(0, I)) + (α + λ − 1)·MMD²(q(z), N(0, I))
///
/// per row, the MMD on each batch (`InfoMmd`, whose defaults and sources it lists). Training only:
/// `loss(x)`, `elbo` and the other evaluations report the plain VAE's quantities (−ELBO with the
/// closed-form KL, β = 1); `mmd(x)` gives the MMD². The VAE's `set_beta` and KL warm-up are not offered
/// (the KL's weight is 1 − α). The settings are not saved with the weights. Steps run on one thread (the
/// MMD couples the batch's rows). docs/tc-and-mmd-vaes.md.
template <class Enc, class Dec, class Lik = Bernoulli, class T = float>
class InfoVAE : public detail::vae_model<Enc, Dec, Lik, T, 0, 1, InfoMmd> {
  using base = detail::vae_model<Enc, Dec, Lik, T, 0, 1, InfoMmd>;

 public:
  /// Weights drawn from `seed`; the same seed gives the same weights and the same training noise.
  /// `option_error` for bad settings (`InfoMmd::validated`).
  explicit InfoVAE(std::uint64_t seed = 0, InfoMmd info = {}) : base(seed, info.validated()) {}

  /// α, λ and the kernel (the same as `code_prior()`).
  const InfoMmd& info() const noexcept { return this->code_prior(); }
  /// New settings, checked (`option_error`).
  void set_info(const InfoMmd& info) { this->set_code_prior(info); }

  /// MMD²(q(z), N(0, I)) between one draw z ~ q(z|x) per row of `x` (from Rng(seed)) and as many
  /// prior draws (from a generator derived from the seed), with the model's kernel, unweighted. Costs
  /// O(n²·Z): use a batch-sized sample; 0 for fewer than 2 rows. `shape_error` if x's width is not the
  /// input size, `data_error` for no rows or a NaN/Inf.
  double mmd(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const {
    detail::check_samples(x, base::D, "mmd");
    const std::size_t n = x.shape()[0];
    const xt::xtensor<T, 2> z = this->encode_sample(x, seed);
    Rng rng(seed ^ 0x9e3779b97f4a7c15ULL);  // the prior's draws, apart from the codes'
    std::vector<T> dz(n * base::Z);
    const InfoMmd& s = info();
    return n < 2 ? 0.0
                 : detail::mmd_to_prior(z.data(), dz.data(), n, base::Z, T(0), rng, 1.0, s.kernel, s.bandwidth,
                                        s.scales) /
                       static_cast<double>(n);
  }

 private:
  // The VAE's KL weight does not act on this model's training: hidden rather than silently ignored.
  using base::beta;
  using base::current_kl_weight;
  using base::kl_warmup;
  using base::set_beta;
  using base::set_kl_warmup;
};

}  // namespace latent
