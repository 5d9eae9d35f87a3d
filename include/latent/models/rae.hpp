#pragma once
/// \file
/// `latent::RAE_L2<Enc, Dec, Loss>` and `latent::RAE_GP<Enc, Dec, Loss>`: the regularised deterministic
/// autoencoders of Ghosh et al. ("From variational to deterministic autoencoders", ICLR 2020; pythae's
/// `RAE_L2` and `RAE_GP`). A plain autoencoder whose codes are kept small (β·½‖z‖²) and whose decoder
/// is kept smooth — by an L2 penalty on its parameters (RAE-L2) or by a penalty on its Jacobian at the
/// codes (RAE-GP). They generate through a density fitted to their codes after training
/// (analysis/posthoc_sampler.hpp). docs/rae.md.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"

#include <cmath>    // std::isfinite
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <string>   // std::to_string

namespace latent {

namespace detail {
/// β·½‖z‖² per row (the embedding penalty both RAEs share): adds grad_scale·β·z to dz; returns the sum.
template <class T>
double embedding_penalty(double beta, const T* z, T* dz, std::size_t n, std::size_t width, T grad_scale) {
  if (beta == 0) return 0;
  double sum = 0;
  const T g = grad_scale * static_cast<T>(beta);
  for (std::size_t i = 0; i < n * width; ++i) {
    sum += static_cast<double>(z[i]) * static_cast<double>(z[i]);
    dz[i] += g * z[i];
  }
  return 0.5 * beta * sum;
}

inline void check_weight(const char* who, const char* field, double w) {
  if (!(w >= 0) || !std::isfinite(w))
    throw option_error(std::string(who) + ": expected " + field + " >= 0, found " + std::to_string(w));
}
}  // namespace detail

/// The penalties of an `RAE_L2` (pythae's `RAE_L2_Config` defaults):
///
///     β · ½‖z‖²  per sample  +  λ · ‖θ_dec‖²  per batch
///
/// z the sample's code, θ_dec every parameter of the decoder (weights and biases, as PyTorch's
/// `weight_decay` on `decoder.parameters()`). β is `embedding_weight`, λ `reg_weight`. pythae applies
/// λ as the decoder optimiser's `weight_decay` (PyTorch adds wd·θ to the gradient: the gradient of
/// (wd/2)‖θ‖²); here the term is the paper's λ‖θ‖², gradient 2λθ, so pythae's decay wd is λ = wd/2.
/// pythae's reconstruction term sums the squared error over the D inputs, latent's `MSE` averages it, so
/// pythae's weights w correspond to w / D here.
/// A step runs on one thread (`splittable` false), so two threads give one thread's bits: the term adds
/// to the decoder's weight gradients, which a split step would sum per slice (see `RaeGpPenalty`).
struct RaeL2Penalty {
  double embedding_weight = 1e-4;  ///< β
  double reg_weight = 1e-7;        ///< λ

  static constexpr const char* name = "RAE-L2";
  static constexpr const char* model_name = "RAE_L2";
  /// Not split over threads: the bits of a step must not depend on the thread count (a split step sums
  /// the slices' weight gradients, whose rounding depends on the split).
  static constexpr bool splittable = false;

  /// The settings, checked: `option_error` naming the field, what was expected and what was found.
  RaeL2Penalty validated() const {
    detail::check_weight("RaeL2Penalty", "embedding_weight", embedding_weight);
    detail::check_weight("RaeL2Penalty", "reg_weight", reg_weight);
    return *this;
  }

  /// The regulariser's code hook (models/regulariser.hpp): Σ_rows β·½‖z‖².
  template <class T>
  double code_penalty(const T* z, T* dz, std::size_t n, std::size_t width, T grad_scale) const {
    return detail::embedding_penalty(embedding_weight, z, dz, n, width, grad_scale);
  }

  /// The decoder hook (models/regulariser.hpp): λ‖θ‖², and grad_scale·2λθ added to the gradient.
  template <class T>
  double decoder_penalty(const T* params, T* grads, std::size_t count, T grad_scale) const {
    if (reg_weight == 0) return 0;
    double sum = 0;
    const T g = grad_scale * static_cast<T>(2 * reg_weight);
    for (std::size_t i = 0; i < count; ++i) {
      sum += static_cast<double>(params[i]) * static_cast<double>(params[i]);
      grads[i] += g * params[i];
    }
    return reg_weight * sum;
  }
};

/// How `RaeGpPenalty` estimates ‖J‖²_F = Σ_j ‖J e_j‖² = E_v ‖J v‖² (v ~ N(0, I)).
enum class JacobianEstimate {
  hutchinson,  ///< (1/K) Σ_k ‖J v_k‖² over K = `directions` Gaussian directions: unbiased, 2K decoder passes
  coordinates  ///< Σ_j ‖J e_j‖² over the Z axes: deterministic, 2Z decoder passes
};

/// The penalties of an `RAE_GP` (pythae's `RAE_GP_Config` defaults for the weights):
///
///     β · ½‖z‖²  +  λ · ‖J_D(z)‖²_F   per sample,   J_D(z) = ∂D(z)/∂z  (D × Z)
///
/// the squared Frobenius norm of the decoder's Jacobian at the sample's code (the paper's gradient
/// penalty on the generator; pythae's `_compute_gp` differentiates instead Σ_i D(E(x))_i with respect to
/// the input x, a single vector–Jacobian product through the whole autoencoder). latent has no double
/// backpropagation, so ‖J‖²_F is estimated. Along a direction v, J v is taken by the central difference
///
///     J v ≈ u = (D(z + h v) − D(z − h v)) / (2h),
///
/// and the penalty is λ·(1/K) Σ_k ‖u_k‖² (Hutchinson: E_v ‖J v‖² = ‖J‖²_F for v ~ N(0, I)) or λ Σ_j ‖u_j‖²
/// over the axes. Its gradient is exact — both decoder passes are back-propagated, to the decoder's
/// parameters and to the code (hence the encoder) — so training follows the gradient of the estimate.
/// Honestly:
/// - bias: u = J v + (h²/6)·D'''(z)[v, v, v] + O(h⁴), so the estimate is off by O(h²) for a smooth
///   decoder (h = 1e-2: about 1e-5 relative for derivatives of order one); across a ReLU's kink u is the
///   mean of the Jacobians along the segment (a smoothed Jacobian). Rounding adds about ε·|D|/h.
/// - variance (Hutchinson, Gaussian v): Var ‖J v‖² = 2‖JᵀJ‖²_F per direction, so a row's estimate has a
///   relative standard deviation of at most √(2/K); the batch mean averages rows, and steps average
///   batches. `coordinates` has no variance and costs Z/K times as much.
/// - directions are drawn per row from a generator keyed by `seed`, the model's training step count and
///   the row's index in the batch: the same in repeated `gradient` calls (which take no step: gradient
///   checks hold them fixed), new at every training step, independent of how the batch is cut. In a
///   data-parallel run rows at the same index of different processes share them.
/// - threads: a step runs on one thread (`splittable` false), so two threads give one thread's bits. The
///   extra passes add to the decoder's weight gradients, which a split step would sum per slice (the
///   slices' sums round differently from one sum over the batch).
/// The extra passes run the decoder in eval mode (Dropout passes through), on any layers whose passes
/// treat rows independently: Dense, convolutional, residual, attention layers; not BatchNorm in train
/// mode or layers with state (rule `rae_gp_decoder_has_batch_statistics_or_state`).
/// Defaults: β = 1e-4, λ = 1e-7 (pythae's config; pythae's MNIST benchmark: 1e-2 and 1e-4 with its
/// summed reconstruction, i.e. w / D here), K = 1, h = 1e-2 (about the cube root of float's ε, where
/// truncation and rounding errors balance, for codes of order one).
struct RaeGpPenalty {
  double embedding_weight = 1e-4;  ///< β
  double reg_weight = 1e-7;        ///< λ
  JacobianEstimate estimate = JacobianEstimate::hutchinson;
  std::size_t directions = 1;  ///< K, for `hutchinson`
  double step = 1e-2;          ///< h, in code units
  std::uint64_t seed = 0;      ///< the directions' generator

  static constexpr const char* name = "RAE-GP";
  static constexpr const char* model_name = "RAE_GP";
  /// Not split over threads (see above): one thread's bits on any number.
  static constexpr bool splittable = false;
  static constexpr bool penalises_decoder_jacobian = true;  ///< runs the decoder itself (not a user hook)

  /// The settings, checked: `option_error` naming the field, what was expected and what was found.
  RaeGpPenalty validated() const {
    detail::check_weight("RaeGpPenalty", "embedding_weight", embedding_weight);
    detail::check_weight("RaeGpPenalty", "reg_weight", reg_weight);
    if (!(step > 0) || !std::isfinite(step))
      throw option_error("RaeGpPenalty: expected step > 0, found " + std::to_string(step));
    if (estimate == JacobianEstimate::hutchinson && directions == 0)
      throw option_error("RaeGpPenalty: expected directions >= 1 for the Hutchinson estimate, found 0");
    return *this;
  }

  /// The regulariser's code hook (models/regulariser.hpp): Σ_rows β·½‖z‖².
  template <class T>
  double code_penalty(const T* z, T* dz, std::size_t n, std::size_t width, T grad_scale) const {
    return detail::embedding_penalty(embedding_weight, z, dz, n, width, grad_scale);
  }

  /// The directions of row `row` (its index in the batch) at training step `step_count`: K × Z values.
  template <class T>
  void directions_of(std::size_t row, std::uint64_t step_count, std::size_t z, T* v) const {
    const std::size_t k = estimate == JacobianEstimate::coordinates ? z : directions;
    if (estimate == JacobianEstimate::coordinates) {
      for (std::size_t i = 0; i < k * z; ++i) v[i] = T(0);
      for (std::size_t j = 0; j < z; ++j) v[j * z + j] = T(1);
      return;
    }
    // splitmix-style mixing of (seed, step, row) into one seed: a generator per row.
    std::uint64_t key = seed * 0x9E3779B97F4A7C15ULL ^ (step_count + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
    key ^= (static_cast<std::uint64_t>(row) + 1) * 0x94D049BB133111EBULL;
    Rng rng(key);
    for (std::size_t i = 0; i < k * z; ++i) v[i] = static_cast<T>(rng.normal());
  }

  /// The hook the autoencoder calls (see above): Σ_rows λ·(estimate of ‖J_D(z)‖²_F) for the n codes at
  /// `code` (rows first_row, … of the batch, at training step `step_count`), with grad_scale times its
  /// gradient added to `dcode` (n × Z) and to `dec_grads` (the decoder's part of the gradient).
  template <class Dec, class T>
  double decoder_jacobian_penalty(const T* dec_params, const T* code, T* dcode, T* dec_grads, std::size_t n,
                                  std::size_t first_row, std::uint64_t step_count, T grad_scale) const {
    if (reg_weight == 0 || n == 0) return 0;
    constexpr std::size_t Z = Dec::in_size, D = Dec::out_size;
    const bool axes = estimate == JacobianEstimate::coordinates;
    const std::size_t K = axes ? Z : directions;
    const std::size_t m = 2 * n * K;  // rows of the passes: (row, direction, ±)
    buffers<T>& b = work<T>();
    b.reserve(m, Z, D, Dec::cache_size, Dec::scratch_size, Dec::param_count, K);
    const T h = static_cast<T>(step);
    for (std::size_t r = 0; r < n; ++r) {
      directions_of(first_row + r, step_count, Z, b.v.data());
      for (std::size_t k = 0; k < K; ++k) {
        T* plus = b.z.data() + ((r * K + k) * 2) * Z;
        T* minus = plus + Z;
        for (std::size_t j = 0; j < Z; ++j) {
          plus[j] = code[r * Z + j] + h * b.v[k * Z + j];
          minus[j] = code[r * Z + j] - h * b.v[k * Z + j];
        }
      }
    }
    Context<T> ctx;  // eval mode, no noise, no deferred gradients
    Dec::forward(dec_params, b.z.data(), b.y.data(), b.cache.data(), m, ctx);
    // Σ_k w‖u_k‖² with u = (y⁺ − y⁻)/(2h); ∂/∂y± = ±2w·u/(2h) = ±w·u/h, w = 1/K (Hutchinson) or 1.
    const double w = axes ? 1.0 : 1.0 / static_cast<double>(K);
    const double inv2h = 1.0 / (2.0 * static_cast<double>(step));
    const T g = static_cast<T>(static_cast<double>(grad_scale) * reg_weight * w / static_cast<double>(step));
    double total = 0;
    for (std::size_t q = 0; q < n * K; ++q) {
      const T* yp = b.y.data() + 2 * q * D;
      const T* ym = yp + D;
      T* dp = b.dy.data() + 2 * q * D;
      T* dm = dp + D;
      for (std::size_t i = 0; i < D; ++i) {
        const double u = (static_cast<double>(yp[i]) - static_cast<double>(ym[i])) * inv2h;
        total += u * u;
        dp[i] = g * static_cast<T>(u);
        dm[i] = -dp[i];
      }
    }
    detail::layer_backward_call<Dec>(dec_params, b.z.data(), b.y.data(), b.cache.data(), b.dy.data(), b.dz.data(),
                                     b.grads.data(), b.scratch.data(), m, ctx);
    for (std::size_t i = 0; i < Dec::param_count; ++i) dec_grads[i] += b.grads[i];
    // z± = z ± h v: each code receives both passes' input gradients, over its K directions.
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t q = 0; q < 2 * K; ++q)
        for (std::size_t j = 0; j < Z; ++j) dcode[r * Z + j] += b.dz[(r * 2 * K + q) * Z + j];
    return reg_weight * w * total;
  }

 private:
  // The passes' buffers, grown to the largest call and then reused (one set per thread and scalar type).
  template <class T>
  struct buffers {
    aligned_buffer<T> v{1}, z{1}, y{1}, cache{1}, dy{1}, dz{1}, scratch{1}, grads{1};
    static void grow(aligned_buffer<T>& a, std::size_t count) {
      if (a.size() < count) a = aligned_buffer<T>(count);
    }
    void reserve(std::size_t m, std::size_t zw, std::size_t d, std::size_t c, std::size_t s, std::size_t p,
                 std::size_t k) {
      grow(v, k * zw);
      grow(z, m * zw);
      grow(y, m * d);
      grow(cache, m * c + 1);
      grow(dy, m * d);
      grow(dz, m * zw);
      grow(scratch, m * s + 1);
      grow(grads, p + 1);
    }
  };
  template <class T>
  static buffers<T>& work() {
    thread_local buffers<T> b;
    return b;
  }
};

namespace diag {
/// RAE-GP runs extra passes of the decoder on perturbed codes, each row on its own; a layer whose pass
/// couples the batch (BatchNorm in train mode) or keeps state has no per-row function to differentiate.
template <class Decoder, bool RowWise>
struct rae_gp_decoder_has_batch_statistics_or_state {
  static_assert(RowWise,
                "latent: an RAE_GP penalises each code's Jacobian of the decoder, through extra passes of the "
                "decoder on perturbed codes; a decoder layer with batch statistics or state (BatchNorm) has no "
                "per-row Jacobian: use GroupNorm/LayerNorm, or RAE_L2");
  static constexpr bool value = true;
};
}  // namespace diag

/// The RAE with an L2 penalty on the decoder's parameters: Loss(x̂, x) + β·½‖z‖² + λ‖θ_dec‖² (see
/// `RaeL2Penalty`). `loss` reports the reconstruction alone; training minimises all of it. Same rules and
/// API as `Autoencoder`, plus `penalty()` / `set_penalty`. It generates through a mixture fitted to its
/// codes (`fit_code_mixture`, `generate_from`: analysis/posthoc_sampler.hpp). docs/rae.md.
template <class Enc, class Dec, class L = MSE, class T = float>
class RAE_L2 : public detail::autoencoder_model<Enc, Dec, L, T, RaeL2Penalty> {
 public:
  explicit RAE_L2(std::uint64_t seed = 0, RaeL2Penalty penalty = {})
      : detail::autoencoder_model<Enc, Dec, L, T, RaeL2Penalty>(seed, penalty.validated()) {}
  const RaeL2Penalty& penalty() const noexcept { return this->reg_; }
  void set_penalty(const RaeL2Penalty& p) { this->reg_ = p.validated(); }
};

/// The RAE with a gradient penalty on the decoder: Loss(x̂, x) + β·½‖z‖² + λ‖J_D(z)‖²_F, the Jacobian's
/// norm estimated through central differences along random directions (see `RaeGpPenalty`: bias,
/// variance, cost). `loss` reports the reconstruction alone. Same rules and API as `Autoencoder`, plus
/// `penalty()` / `set_penalty`; rule: a decoder without batch statistics or state
/// (`rae_gp_decoder_has_batch_statistics_or_state`). docs/rae.md.
template <class Enc, class Dec, class L = MSE, class T = float>
class RAE_GP : public detail::autoencoder_model<Enc, Dec, L, T, RaeGpPenalty> {
  static_assert(diag::rae_gp_decoder_has_batch_statistics_or_state<
                Dec, !detail::batch_coupled<Dec> && !detail::stateful<Dec>>::value);

 public:
  explicit RAE_GP(std::uint64_t seed = 0, RaeGpPenalty penalty = {})
      : detail::autoencoder_model<Enc, Dec, L, T, RaeGpPenalty>(seed, penalty.validated()) {}
  const RaeGpPenalty& penalty() const noexcept { return this->reg_; }
  void set_penalty(const RaeGpPenalty& p) { this->reg_ = p.validated(); }
};

}  // namespace latent
