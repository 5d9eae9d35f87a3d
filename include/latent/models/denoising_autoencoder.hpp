#pragma once
/// \file
/// `latent::DenoisingAutoencoder`: an autoencoder trained to restore corrupted inputs.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"

#include <cmath>    // std::isfinite
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <string>   // std::to_string

namespace latent {

/// How a `DenoisingAutoencoder` corrupts its input while training: each value is set to 0 with
/// probability `mask_fraction` (masking noise), and the others get N(0, gaussian_stddev²) added.
struct Noise {
  double gaussian_stddev = 0.1;  ///< standard deviation of additive Gaussian noise (0: none)
  double mask_fraction = 0.0;    ///< fraction of values set to 0, in [0, 1)

  static constexpr const char* name = "Noise";
  static constexpr const char* model_name = "DenoisingAutoencoder";
  static constexpr bool splittable = true;  ///< each row is corrupted on its own

  /// This noise, or `option_error` if a setting is out of range.
  Noise validated() const {
    if (!(gaussian_stddev >= 0) || !std::isfinite(gaussian_stddev))
      throw option_error("Noise: expected gaussian_stddev >= 0, found " + std::to_string(gaussian_stddev));
    if (!(mask_fraction >= 0 && mask_fraction < 1))
      throw option_error("Noise: expected 0 <= mask_fraction < 1, found " + std::to_string(mask_fraction));
    return *this;
  }

  /// out = corrupted copy of the `count` values at x.
  template <class T>
  void corrupt(const T* x, T* out, std::size_t count, Rng& rng) const {
    for (std::size_t i = 0; i < count; ++i) {
      if (mask_fraction > 0 && rng.uniform() < mask_fraction) {
        out[i] = T(0);
        continue;
      }
      out[i] = gaussian_stddev > 0 ? x[i] + static_cast<T>(gaussian_stddev * rng.normal()) : x[i];
    }
  }
};

/// A denoising autoencoder (Vincent et al.): while training, the encoder sees a corrupted copy of each
/// sample (`Noise`: additive Gaussian and/or masking noise, fresh every step) and the loss compares the
/// reconstruction with the clean sample. Inference (`encode`, `reconstruct`, `loss`) uses clean inputs.
/// Same rules and API as `Autoencoder`, plus `noise()` / `set_noise`. Example: examples/compare.cpp.
template <class Enc, class Dec, class L = MSE, class T = float>
class DenoisingAutoencoder : public detail::autoencoder_model<Enc, Dec, L, T, Noise> {
 public:
  explicit DenoisingAutoencoder(std::uint64_t seed = 0, Noise noise = {})
      : detail::autoencoder_model<Enc, Dec, L, T, Noise>(seed, noise.validated()) {}
  const Noise& noise() const noexcept { return this->reg_; }
  void set_noise(const Noise& noise) { this->reg_ = noise.validated(); }
};

}  // namespace latent
