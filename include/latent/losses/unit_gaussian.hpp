#pragma once
/// \file
/// `latent::UnitGaussian`: the Gaussian likelihood p(x|z) = N(x; μ(z), I) of a VAE.

#include "latent/losses/elementwise_loss.hpp"

#include <cstddef>  // std::size_t

namespace latent {

namespace detail {
struct unit_gaussian_element {
  static constexpr double half_log_two_pi = 0.91893853320467274178;
  template <class V>
  static V term(const V& m, const V& x) noexcept {
    const V e = m - x;
    return V(0.5) * e * e + V(static_cast<kernels::scalar_of_t<V>>(half_log_two_pi));
  }
  template <class V>
  static V slope(const V& m, const V& x) noexcept {
    return m - x;
  }
};
}  // namespace detail

/// Gaussian likelihood with fixed unit variance: −log p(x|z) = Σ_j [½(x_j − μ_j)² + ½ log 2π], the exact
/// log-density including its constant. The decoder outputs μ (any activation). No parameters of its own.
/// (`Gaussian<Z>` is the encoder's head; the Gaussian likelihoods are `UnitGaussian` and
/// `LearnedGaussian`.) Example: examples/compare.cpp.
struct UnitGaussian : detail::elementwise_likelihood<detail::unit_gaussian_element> {
  static constexpr const char* name = "UnitGaussian";
  static constexpr bool takes_logits = false;
  template <class T>
  static void to_mean(T*, const T*, std::size_t, std::size_t) noexcept {}
};

}  // namespace latent
