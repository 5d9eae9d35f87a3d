#pragma once
/// \file
/// `latent::WAE<Enc, Dec, Loss>`: the Wasserstein autoencoder with the MMD penalty (Tolstikhin et al.,
/// "Wasserstein auto-encoders", 2018; pythae's `WAE_MMD`): a deterministic autoencoder whose codes are
/// pulled towards the prior N(0, I) by the maximum mean discrepancy between the batch's codes and as many
/// draws from the prior. Its codes can then be decoded from prior draws: it generates.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"

#include <cmath>    // std::exp, std::isfinite
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <string>   // std::to_string
#include <vector>   // std::vector: the kernel's scales; the step's draws (grown once, reused)

namespace latent {

/// The MMD's kernel: pythae's inverse multiquadratic (multi-scale) or Gaussian (RBF).
enum class MmdKernel { imq, rbf };

namespace detail {

/// The MMD's kernel k(a, b) and ∂k/∂a = f · (a − b): returns k, sets f, for squared distance d2 and C
/// (see `MmdPenalty`). Shared by `MmdPenalty` (WAE) and `InfoMmd` (InfoVAE, models/info_vae.hpp).
inline double mmd_kernel_at(MmdKernel kernel, const std::vector<double>& scales, double d2, double c, double& f) {
  double k = 0;
  f = 0;
  if (kernel == MmdKernel::rbf) {
    k = std::exp(-d2 / c);
    f = -2 / c * k;
  } else {
    for (const double s : scales) {
      const double sc = s * c, den = sc + d2;
      k += sc / den;
      f += -2 * sc / (den * den);
    }
  }
  return k;
}

/// n · weight · MMD²(q, p) between the n codes q (n × z) and n draws p from N(0, I) taken from `rng`
/// (see `MmdPenalty`), and grad_scale · n · weight · ∂MMD²/∂q added to dq; 0 for n < 2 or weight 0.
template <class T>
double mmd_to_prior(const T* q, T* dq, std::size_t n, std::size_t z, T grad_scale, Rng& rng, double weight,
                    MmdKernel kernel, double bandwidth, const std::vector<double>& scales) {
  if (n < 2 || weight == 0) return 0;
  thread_local std::vector<double> draws, grad;
  if (draws.size() < n * z) draws.resize(n * z), grad.resize(n * z);
  for (std::size_t i = 0; i < n * z; ++i) draws[i] = rng.normal(), grad[i] = 0;
  const double c = 2.0 * static_cast<double>(z) * bandwidth * bandwidth, nn = static_cast<double>(n),
               pairs = nn * (nn - 1);
  const auto dist2 = [z](const auto* a, const auto* b) {
    double s = 0;
    for (std::size_t k = 0; k < z; ++k) {
      const double d = static_cast<double>(a[k]) - static_cast<double>(b[k]);
      s += d * d;
    }
    return s;
  };
  const auto kernel_at = [&](double d2, double cc, double& f) { return mmd_kernel_at(kernel, scales, d2, cc, f); };
  double qq = 0, pp = 0, qp = 0, f = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      if (i != j) {
        pp += kernel_at(dist2(&draws[i * z], &draws[j * z]), c, f);
        qq += kernel_at(dist2(q + i * z, q + j * z), c, f);
        const double a = f * 2 / pairs;  // the pair appears as (i, j) and (j, i)
        for (std::size_t k = 0; k < z; ++k)
          grad[i * z + k] += a * (static_cast<double>(q[i * z + k]) - static_cast<double>(q[j * z + k]));
      }
      qp += kernel_at(dist2(q + i * z, &draws[j * z]), c, f);
      const double a = f * (-2 / (nn * nn));
      for (std::size_t k = 0; k < z; ++k) grad[i * z + k] += a * (static_cast<double>(q[i * z + k]) - draws[j * z + k]);
    }
  const double scale = static_cast<double>(grad_scale) * nn * weight;
  for (std::size_t i = 0; i < n * z; ++i) dq[i] += static_cast<T>(scale * grad[i]);
  return nn * weight * (qq / pairs + pp / pairs - 2 * qp / (nn * nn));
}

}  // namespace detail

/// The MMD penalty of a `WAE` (pythae's `WAE_MMD_Config` defaults):
///
///     weight · MMD²(q, p),  MMD² = Σ_{i≠j} k(q_i, q_j) / (N(N−1)) + Σ_{i≠j} k(p_i, p_j) / (N(N−1))
///                                  − 2 Σ_{i,j} k(q_i, p_j) / N²
///
/// over the batch's N codes q and N draws p from N(0, I) (the step's generator: reproducible from the
/// seed), with C = 2·Z·bandwidth² and, for `imq`, k(a, b) = Σ_s sC / (sC + ‖a − b‖²) over `scales` s;
/// for `rbf`, k(a, b) = exp(−‖a − b‖² / C). Per batch, not per row: it couples the batch's codes, so a
/// step is not split over threads. pythae's reconstruction term sums the squared error over the D
/// inputs, latent's `MSE` averages it, so pythae's weight w corresponds to w / D here.
struct MmdPenalty {
  double weight = 3e-2;
  MmdKernel kernel = MmdKernel::imq;
  double bandwidth = 1.0;
  std::vector<double> scales = {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0};

  static constexpr const char* name = "MMD";
  static constexpr const char* model_name = "WAE";
  static constexpr bool splittable = false;

  /// The settings, checked: `option_error` naming the field, what was expected and what was found.
  MmdPenalty validated() const {
    if (!(weight >= 0) || !std::isfinite(weight))
      throw option_error("MmdPenalty: expected weight >= 0, found " + std::to_string(weight));
    if (!(bandwidth > 0) || !std::isfinite(bandwidth))
      throw option_error("MmdPenalty: expected bandwidth > 0, found " + std::to_string(bandwidth));
    if (kernel == MmdKernel::imq && scales.empty())
      throw option_error("MmdPenalty: expected at least one scale for the imq kernel, found none");
    for (const double s : scales)
      if (!(s > 0) || !std::isfinite(s))
        throw option_error("MmdPenalty: expected scales > 0, found " + std::to_string(s));
    return *this;
  }

  /// k(a, b) and ∂k/∂a = f · (a − b): returns k, sets f, for squared distance d2 and C.
  double kernel_at(double d2, double c, double& f) const { return detail::mmd_kernel_at(kernel, scales, d2, c, f); }

  /// The hook (see models/regulariser.hpp): n · weight · MMD² (so that /n is its part of the batch's
  /// mean loss), and grad_scale · n · weight · ∂MMD²/∂q added to dq.
  template <class T>
  double code_penalty(const T* q, T* dq, std::size_t n, std::size_t z, T grad_scale, Rng& rng) const {
    return detail::mmd_to_prior(q, dq, n, z, grad_scale, rng, weight, kernel, bandwidth, scales);
  }
};

/// The Wasserstein autoencoder with the MMD penalty: the reconstruction loss `L` plus `MmdPenalty` on
/// the codes (see there). `loss` reports the reconstruction alone; training minimises both. Same rules
/// and API as `Autoencoder`, plus `mmd()` / `set_mmd`; decoding draws from N(0, I) generates. Its steps
/// run on one thread (the penalty couples the batch). docs/models.md.
template <class Enc, class Dec, class L = MSE, class T = float>
class WAE : public detail::autoencoder_model<Enc, Dec, L, T, MmdPenalty> {
 public:
  explicit WAE(std::uint64_t seed = 0, MmdPenalty mmd = {})
      : detail::autoencoder_model<Enc, Dec, L, T, MmdPenalty>(seed, mmd.validated()) {}
  const MmdPenalty& mmd() const noexcept { return this->reg_; }
  void set_mmd(const MmdPenalty& m) { this->reg_ = m.validated(); }
};

}  // namespace latent
