#pragma once
/// \file
/// `latent::Elu`: f(z) = z for z > 0, else e^z − 1 (α = 1, as Keras and PyTorch).

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = z for z > 0, else α(e^z − 1) with α = 1; f'(z) = 1 or y + α.
struct Elu {
  static constexpr const char* name = "Elu";
  template <class V>
  static V apply(const V& z) noexcept {
    // expm1 keeps precision near 0; min() keeps e^z from overflowing in the unused branch.
    return kernels::math::select(z > V(0), z, kernels::math::expm1(kernels::math::min(z, V(0))));
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    return kernels::math::select(y > V(0), V(1), y + V(1));
  }
  /// f''(z) = 0 for z > 0, else y + 1.
  template <class V>
  static V second_derivative(const V& y) noexcept {
    return kernels::math::select(y > V(0), V(0), y + V(1));
  }
};

}  // namespace latent
