#pragma once
/// \file
/// `latent::SparseAutoencoder`: an autoencoder whose code is pushed towards sparsity.

#include "latent/activations/sigmoid.hpp"
#include "latent/core/error.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"

#include <algorithm>    // std::clamp
#include <cmath>        // std::abs, std::log, std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <string>       // std::to_string
#include <type_traits>  // std::is_same_v

namespace latent {

/// The sparsity penalties of a `SparseAutoencoder` (both may be on):
/// - `l1`: λ·Σ_j |h_j| per sample (any code);
/// - `kl_weight` > 0: w·Σ_j KL(ρ ‖ ρ̂_j) per batch, where ρ = `target` and ρ̂_j is the mean activation
///   of code unit j over the batch (Ng's sparse autoencoder; needs a Sigmoid code, values in (0, 1)).
struct Sparsity {
  double l1 = 1e-3;
  double target = 0.05;
  double kl_weight = 0.0;

  static constexpr const char* name = "Sparsity";
  static constexpr const char* model_name = "SparseAutoencoder";

  /// The KL penalty couples the rows of a batch (ρ̂ is a batch mean), so such a step is not split
  /// over threads.
  bool splittable() const noexcept { return kl_weight == 0; }

  Sparsity validated() const {
    if (!(l1 >= 0) || !std::isfinite(l1)) throw option_error("Sparsity: expected l1 >= 0, found " + std::to_string(l1));
    if (!(kl_weight >= 0) || !std::isfinite(kl_weight))
      throw option_error("Sparsity: expected kl_weight >= 0, found " + std::to_string(kl_weight));
    if (!(target > 0 && target < 1))
      throw option_error("Sparsity: expected 0 < target < 1, found " + std::to_string(target));
    return *this;
  }

  /// Adds the penalty's gradient (scaled by `grad_scale` = 1/n) to `dcode` and returns the penalty
  /// summed so that dividing by n gives the batch's mean (the KL term is per batch: n·w·ΣKL).
  template <class T>
  double code_penalty(const T* code, T* dcode, std::size_t n, std::size_t z, T grad_scale) const {
    double total = 0;
    if (l1 > 0) {
      for (std::size_t i = 0; i < n * z; ++i) {
        total += l1 * std::abs(static_cast<double>(code[i]));
        dcode[i] += grad_scale * static_cast<T>(l1) * (code[i] > 0 ? T(1) : (code[i] < 0 ? T(-1) : T(0)));
      }
    }
    if (kl_weight > 0) {
      for (std::size_t j = 0; j < z; ++j) {
        double mean = 0;
        for (std::size_t r = 0; r < n; ++r) mean += code[r * z + j];
        // ρ̂ is kept inside (0, 1) so that the logarithms stay finite.
        const double rho_hat = std::clamp(mean / static_cast<double>(n), 1e-7, 1 - 1e-7);
        total += static_cast<double>(n) * kl_weight *
                 (target * std::log(target / rho_hat) + (1 - target) * std::log((1 - target) / (1 - rho_hat)));
        // ∂(n·w·KL)/∂h_rj · (1/n) = w·(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)) / n
        const T g = static_cast<T>(kl_weight * (-target / rho_hat + (1 - target) / (1 - rho_hat))) * grad_scale;
        for (std::size_t r = 0; r < n; ++r) dcode[r * z + j] += g;
      }
    }
    return total;
  }
};

/// A sparse autoencoder: the reconstruction loss plus a sparsity penalty on the code (`Sparsity`: L1,
/// and/or KL(ρ‖ρ̂) for a Sigmoid code). `loss` reports the reconstruction loss alone; training
/// minimises loss + penalty. Same rules and API as `Autoencoder`. A KL penalty on a code whose last
/// activation is not Sigmoid is rejected with `option_error`. Example: examples/compare.cpp.
template <class Enc, class Dec, class L = MSE, class T = float>
class SparseAutoencoder : public detail::autoencoder_model<Enc, Dec, L, T, Sparsity> {
 public:
  explicit SparseAutoencoder(std::uint64_t seed = 0, Sparsity sparsity = {})
      : detail::autoencoder_model<Enc, Dec, L, T, Sparsity>(seed, checked(sparsity)) {}
  const Sparsity& sparsity() const noexcept { return this->reg_; }
  void set_sparsity(const Sparsity& s) { this->reg_ = checked(s); }

 private:
  static Sparsity checked(const Sparsity& s) {
    if (s.kl_weight > 0 && !std::is_same_v<last_activation_t<Enc>, Sigmoid>)
      throw option_error("Sparsity: a KL sparsity penalty needs a code in (0, 1): expected the encoder's last "
                         "activation to be Sigmoid");
    return s.validated();
  }
};

}  // namespace latent
