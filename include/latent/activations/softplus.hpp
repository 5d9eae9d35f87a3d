#pragma once
/// \file
/// `latent::Softplus`: f(z) = log(1 + e^z), computed without overflow.

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = log(1 + e^z) = max(z, 0) + log1p(e^−|z|) (the second form never overflows);
/// f'(z) = sigmoid(z).
struct Softplus {
  static constexpr const char* name = "Softplus";
  template <class V>
  static V apply(const V& z) noexcept {
    using namespace kernels::math;
    return max(z, V(0)) + log1p(exp(-abs(z)));
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    // sigmoid(z) = 1 − e^−y; −expm1(−y) keeps precision when y is tiny.
    return -kernels::math::expm1(-y);
  }
  /// f''(z) = s(1 − s) with s = sigmoid(z) = 1 − e^−y.
  template <class V>
  static V second_derivative(const V& y) noexcept {
    const V s = -kernels::math::expm1(-y);
    return s * (V(1) - s);
  }
};

}  // namespace latent
