#pragma once
/// \file
/// `latent::Tanh`: f(z) = tanh z.

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = tanh z, f'(z) = 1 − y².
struct Tanh {
  static constexpr const char* name = "Tanh";
  template <class V>
  static V apply(const V& z) noexcept {
    return kernels::math::tanh(z);
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    return V(1) - y * y;
  }
  /// f''(z) = −2y(1 − y²).
  template <class V>
  static V second_derivative(const V& y) noexcept {
    return V(-2) * y * (V(1) - y * y);
  }
};

}  // namespace latent
