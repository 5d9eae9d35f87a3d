#pragma once
/// \file
/// `latent::Sigmoid`: f(z) = 1 / (1 + e^−z).

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = 1 / (1 + e^−z), f'(z) = y(1 − y). For very negative z, e^−z overflows to +inf and f(z) is
/// exactly 0, never NaN.
struct Sigmoid {
  static constexpr const char* name = "Sigmoid";
  template <class V>
  static V apply(const V& z) noexcept {
    return V(1) / (V(1) + kernels::math::exp(-z));
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    return y * (V(1) - y);
  }
  /// f''(z) = y(1 − y)(1 − 2y).
  template <class V>
  static V second_derivative(const V& y) noexcept {
    return y * (V(1) - y) * (V(1) - V(2) * y);
  }
};

}  // namespace latent
