#pragma once
/// \file
/// `latent::BetaTCVAE<Enc, Dec, Lik, T>`: the β-TCVAE (Chen, Li, Grosse & Duvenaud, "Isolating sources of
/// disentanglement in variational autoencoders", 2018; pythae's `BetaTCVAE`): a VAE whose KL term is
/// split into index-code mutual information, total correlation and dimension-wise KL, each with its own
/// weight, the three estimated on the batch. Written through the VAE family's `CodePrior` hook
/// (models/code_prior.hpp). docs/tc-and-mmd-vaes.md.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/models/code_prior.hpp"
#include "latent/models/detail/vae_model.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::max
#include <cmath>      // std::exp, std::log, std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <limits>     // std::numeric_limits
#include <numbers>    // std::numbers::pi
#include <string>     // std::string, std::to_string
#include <vector>     // std::vector: the step's buffers (grown once, reused)

namespace latent {

/// How the β-TCVAE estimates the aggregate posterior q(z) = (1/N) Σ_n q(z|x_n) on a batch of B rows
/// (Chen et al. 2018, §4.1 and appendix C), from a dataset of N rows: log q(z_i) ≈ log Σ_j w_ij q(z_i|x_j)
/// and log q(z_ik) ≈ log Σ_j w_ij q(z_ik|x_j), with weights w_ij per row i:
///   - `mws`, minibatch-weighted sampling: w_ij = 1/(B·N) for every j (rtqichen/beta-tcvae's default, and
///     pythae's with `use_mss=False`). Biased: the weights do not sum to 1 (log q(z) is low by log N).
///   - `mss`, minibatch-stratified sampling as Chen et al. define it: w_ii = 1/N for the row's own x,
///     w_ij = (N − M)/(N·M) for one other row (j = i + 1, cyclically) and 1/M for the other B − 2,
///     M = B − 1; each row's weights sum to 1.
///   - `mss_pythae`: the weight matrix exactly as pythae's and rtqichen's `_log_importance_weight_matrix`
///     builds it (it strides the flat matrix by M + 1 = B, so it sets columns 0 and 1, not the diagonal:
///     w_i0 = 1/N, w_i1 = (N − M)/(N·M), w_{M−1,0} = (N − M)/(N·M), the rest 1/M; YannDubs/
///     disentangling-vae#58 asks about it). Kept to compare with that code; prefer `mss`.
/// A batch of one row uses w = 1/N for every estimator.
enum class TCEstimator { mws, mss, mss_pythae };

/// The β-TCVAE's batch term (a `CodePrior`, models/code_prior.hpp). On a batch of B codes z_i ~ q(z|x_i)
/// with statistics [μ | log σ²]:
///
///     α·Σ_i [log q(z_i|x_i) − log q(z_i)]        index-code mutual information (MI)
///   + β·Σ_i [log q(z_i) − Σ_k log q(z_ik)]       total correlation (TC)
///   + γ·Σ_i [Σ_k log q(z_ik) − log p(z_i)]       dimension-wise KL
///
/// with log q(z_i) and log q(z_ik) from the batch by `estimator` (see `TCEstimator`) and p = N(0, I). It
/// replaces the head's closed-form KL; with α = β = γ = 1 the three sum to Σ_i log q(z_i|x_i) − log p(z_i),
/// a one-draw estimate of the KL. Gradients are analytic in z and in [μ | log σ²], accumulated in double;
/// the cost is O(B²·Z) (Z: the code's values, every position of a spatial head's grid). The term
/// couples the batch's rows: a step runs on one thread.
///
/// Defaults: α = γ = 1 as Chen et al. (who vary β only) and pythae's `BetaTCVAEConfig`; β = 6, pythae's
/// dSprites config (examples/scripts/configs/dsprites/beta_tc_vae/; pythae's class default is β = 1,
/// which is the plain VAE's objective in expectation, its MNIST and CelebA configs use β = 2);
/// `estimator = mss` as pythae's `use_mss=True` (in its corrected form: see `TCEstimator`);
/// `dataset_size` N = 0 means "the batch size", pythae's fallback when no size is passed (its trainer
/// passes the training set's size: set it to your number of rows to match). N only shifts the MWS terms
/// by constants (their gradients do not depend on it) but changes the MSS weights.
struct TCPenalty {
  double alpha = 1;  ///< weight of the index-code mutual information
  double beta = 6;   ///< weight of the total correlation
  double gamma = 1;  ///< weight of the dimension-wise KL
  TCEstimator estimator = TCEstimator::mss;
  double dataset_size = 0;  ///< N in the estimators' weights; 0: the batch size

  static constexpr const char* model_name = "BetaTCVAE";
  static constexpr bool replaces_kl = true;
  static constexpr bool splittable = false;

  /// The settings, checked: `option_error` naming the field, what was expected and what was found.
  TCPenalty validated() const {
    const auto weight = [](const char* name, double v) {
      if (!(v >= 0) || !std::isfinite(v))
        throw option_error(std::string("TCPenalty: expected a finite ") + name + " >= 0, found " + std::to_string(v));
    };
    weight("alpha", alpha);
    weight("beta", beta);
    weight("gamma", gamma);
    if (!(dataset_size == 0 || dataset_size >= 1) || !std::isfinite(dataset_size))
      throw option_error("TCPenalty: expected dataset_size 0 (the batch size) or >= 1, found " +
                         std::to_string(dataset_size));
    if (estimator != TCEstimator::mws && estimator != TCEstimator::mss && estimator != TCEstimator::mss_pythae)
      throw option_error("TCPenalty: expected the estimator mws, mss or mss_pythae, found " +
                         std::to_string(static_cast<int>(estimator)));
    return *this;
  }

  /// The three terms on a batch, each summed over its rows (divide by B for the per-row means).
  struct terms {
    double mutual_information = 0, total_correlation = 0, dimension_kl = 0;
  };

  /// The terms of the B codes z (B × Z) with statistics [μ | log σ²] (B × 2Z), without gradients.
  template <class T>
  terms decompose(const T* z, const T* stats, std::size_t b, std::size_t Z) const {
    terms t;
    evaluate(z, stats, b, Z, static_cast<T*>(nullptr), static_cast<T*>(nullptr), T(0), t);
    return t;
  }

  /// The hook: α·MI + β·TC + γ·dimension-wise KL summed over the B rows (so that / B is its part of the
  /// batch's mean loss); adds grad_scale times its gradients to dz (B × Z) and dstats (B × 2Z).
  /// `option_error` if `dataset_size` is set below the batch size.
  template <class T>
  double batch_penalty(const T* z, const T* stats, std::size_t b, std::size_t Z, T* dz, T* dstats, T grad_scale,
                       Rng&) const {
    terms t;
    evaluate(z, stats, b, Z, dz, dstats, grad_scale, t);
    return alpha * t.mutual_information + beta * t.total_correlation + gamma * t.dimension_kl;
  }

  /// log w_ij, the estimator's weight of x_j in row i's estimate, for a batch of b rows.
  double log_weight(std::size_t i, std::size_t j, std::size_t b) const {
    const double B = static_cast<double>(b), N = dataset_size > 0 ? dataset_size : B;
    if (b < 2) return -std::log(N);
    const double M = B - 1, strat = (N - M) / (N * M);
    switch (estimator) {
      case TCEstimator::mws: return -std::log(B * N);
      case TCEstimator::mss:
        if (j == i) return -std::log(N);
        return std::log(j == (i + 1) % b ? strat : 1 / M);
      case TCEstimator::mss_pythae:
        if (i == b - 2 && j == 0) return std::log(strat);  // W[M − 1, 0], written last
        if (j == 0) return -std::log(N);
        return std::log(j == 1 ? strat : 1 / M);
    }
    return 0;
  }

 private:
  // The terms and, when dz is not null, their weighted gradients. Per row i, with
  // L_jk = log N(z_ik; μ_jk, σ²_jk), s_j = log w_ij + Σ_k L_jk, log q(z_i) = LSE_j s_j = lq,
  // log q(z_ik) = LSE_j (log w_ij + L_jk) = lq_k, the loss α·log q(z_i|x_i) + (β − α)·lq + (γ − β)·Σ_k lq_k
  // − γ·log p(z_i) has ∂/∂L_jk = G_jk = α·[j = i] + (β − α)·softmax_j(s)_j + (γ − β)·softmax_j(log w + L_·k)_j,
  // and ∂L_jk/∂z_ik = −(z_ik − μ_jk)/σ²_jk, ∂L_jk/∂μ_jk = (z_ik − μ_jk)/σ²_jk,
  // ∂L_jk/∂log σ²_jk = −½ + ½ (z_ik − μ_jk)²/σ²_jk.
  template <class T>
  void evaluate(const T* z, const T* stats, std::size_t b, std::size_t Z, T* dz, T* dstats, T grad_scale,
                terms& t) const {
    if (b == 0) return;
    if (dataset_size > 0 && dataset_size < static_cast<double>(b))
      throw option_error("TCPenalty: expected dataset_size >= the batch size " + std::to_string(b) + ", found " +
                         std::to_string(dataset_size));
    const bool grads = dz != nullptr;
    const std::size_t bz = b * Z;
    // One buffer per thread, grown once: the statistics in double, 1/σ², row i's L (k-major), the
    // gradients' accumulators, row i's log weights, its softmax over j of the joint, and of one unit.
    thread_local std::vector<double> store;
    if (store.size() < 7 * bz + 3 * b) store.resize(7 * bz + 3 * b);
    double* const mu = store.data();
    double *const lv = mu + bz, *const iv = lv + bz, *const L = iv + bz, *const dzacc = L + bz, *const dmu = dzacc + bz,
                  *const dlv = dmu + bz, *const lw = dlv + bz, *const s = lw + b, *const e = s + b;
    for (std::size_t j = 0; j < b; ++j)
      for (std::size_t k = 0; k < Z; ++k) {
        mu[j * Z + k] = static_cast<double>(stats[j * 2 * Z + k]);
        lv[j * Z + k] = static_cast<double>(stats[j * 2 * Z + Z + k]);
        iv[j * Z + k] = std::exp(-lv[j * Z + k]);
      }
    if (grads)
      for (std::size_t i = 0; i < bz; ++i) dzacc[i] = dmu[i] = dlv[i] = 0;
    const double half_log_2pi = 0.5 * std::log(2 * std::numbers::pi);
    const double a = alpha, bq = beta - alpha, cq = gamma - beta;
    for (std::size_t i = 0; i < b; ++i) {
      for (std::size_t j = 0; j < b; ++j) lw[j] = log_weight(i, j, b), s[j] = lw[j];
      double log_q_given_x = 0, log_p = 0;
      for (std::size_t k = 0; k < Z; ++k) {
        const double zk = static_cast<double>(z[i * Z + k]);
        log_p += -half_log_2pi - 0.5 * zk * zk;
        for (std::size_t j = 0; j < b; ++j) {
          const double d = zk - mu[j * Z + k];
          const double l = -half_log_2pi - 0.5 * lv[j * Z + k] - 0.5 * d * d * iv[j * Z + k];
          L[k * b + j] = l;
          s[j] += l;
        }
        log_q_given_x += L[k * b + i];
      }
      double mx = -std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < b; ++j) mx = std::max(mx, s[j]);
      double sum = 0;
      for (std::size_t j = 0; j < b; ++j) sum += std::exp(s[j] - mx);
      const double log_q = mx + std::log(sum);
      if (grads)
        for (std::size_t j = 0; j < b; ++j) s[j] = std::exp(s[j] - log_q);  // softmax_j, for G
      double log_prod = 0;
      for (std::size_t k = 0; k < Z; ++k) {
        const double* Lk = &L[k * b];
        double m = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < b; ++j) m = std::max(m, lw[j] + Lk[j]);
        double sum_k = 0;
        for (std::size_t j = 0; j < b; ++j) sum_k += (e[j] = std::exp(lw[j] + Lk[j] - m));
        const double log_qk = m + std::log(sum_k);
        log_prod += log_qk;
        if (!grads) continue;
        const double zk = static_cast<double>(z[i * Z + k]);
        double gz = gamma * zk;  // −γ·log p(z_i)
        for (std::size_t j = 0; j < b; ++j) {
          const double G = (j == i ? a : 0.0) + bq * s[j] + cq * (e[j] / sum_k);
          const double u = (zk - mu[j * Z + k]) * iv[j * Z + k];
          gz -= G * u;
          dmu[j * Z + k] += G * u;
          dlv[j * Z + k] += G * (-0.5 + 0.5 * u * (zk - mu[j * Z + k]));
        }
        dzacc[i * Z + k] += gz;
      }
      t.mutual_information += log_q_given_x - log_q;
      t.total_correlation += log_q - log_prod;
      t.dimension_kl += log_prod - log_p;
    }
    if (!grads) return;
    const double gs = static_cast<double>(grad_scale);
    for (std::size_t j = 0; j < b; ++j)
      for (std::size_t k = 0; k < Z; ++k) {
        dz[j * Z + k] += static_cast<T>(gs * dzacc[j * Z + k]);
        dstats[j * 2 * Z + k] += static_cast<T>(gs * dmu[j * Z + k]);
        dstats[j * 2 * Z + Z + k] += static_cast<T>(gs * dlv[j * Z + k]);
      }
  }
};

/// The β-TCVAE: a VAE (same parts, rules and API as `VAE`) trained on
///
///     −E_q[log p(x|z)] + α·MI + β·TC + γ·dimension-wise KL
///
/// per row, the three terms estimated on each batch (`TCPenalty`, whose defaults and sources it lists).
/// Training only: `loss(x)`, `elbo`, `elbo_terms` and the other evaluations report the plain VAE's
/// quantities (−ELBO with the closed-form KL, β = 1), so a β-TCVAE's loss compares with a VAE's;
/// `tc_terms(x)` gives the three terms. The VAE's `set_beta` and KL warm-up are not offered (the KL is
/// replaced; the TC's β is `tc().beta`). The settings are not saved with the weights. Steps run on one
/// thread (the estimators couple the batch's rows). docs/tc-and-mmd-vaes.md.
template <class Enc, class Dec, class Lik = Bernoulli, class T = float>
class BetaTCVAE : public detail::vae_model<Enc, Dec, Lik, T, 0, 1, TCPenalty> {
  using base = detail::vae_model<Enc, Dec, Lik, T, 0, 1, TCPenalty>;

 public:
  /// Weights drawn from `seed`; the same seed gives the same weights and the same training noise.
  /// `option_error` for bad settings (`TCPenalty::validated`).
  explicit BetaTCVAE(std::uint64_t seed = 0, TCPenalty tc = {}) : base(seed, tc.validated()) {}

  /// The weights, estimator and dataset size (the same as `code_prior()`).
  const TCPenalty& tc() const noexcept { return this->code_prior(); }
  /// New settings, checked (`option_error`).
  void set_tc(const TCPenalty& tc) { this->set_code_prior(tc); }

  /// The three terms on the rows of `x` taken as one batch (the training estimator on one draw
  /// z ~ q(z|x) per row from Rng(seed)), as means per row in nats. Costs O(n²·Z): use a batch-sized
  /// sample. `shape_error` if x's width is not the input size, `data_error` for no rows or a NaN/Inf.
  TCPenalty::terms tc_terms(const xt::xtensor<T, 2>& x, std::uint64_t seed = 0) const {
    detail::check_samples(x, base::D, "tc_terms");
    const std::size_t n = x.shape()[0], Z = base::Z;
    const xt::xtensor<T, 2> st = this->statistics_rows(x.data(), nullptr, n);
    // z = μ + σ·ε, drawn as the head draws it in training.
    Rng rng(seed);
    std::vector<T> z(n * Z);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < Z; ++k)
        z[r * Z + k] = static_cast<T>(st(r, k) + std::exp(0.5 * static_cast<double>(st(r, Z + k))) * rng.normal());
    TCPenalty::terms t = tc().decompose(z.data(), st.data(), n, Z);
    const double dn = static_cast<double>(n);
    t.mutual_information /= dn, t.total_correlation /= dn, t.dimension_kl /= dn;
    return t;
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
