#pragma once
/// \file
/// `latent::Relu`: f(z) = max(z, 0).

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = max(z, 0); f'(z) = 1 for z > 0, else 0 (0 at z = 0, as Keras and PyTorch); from y: y > 0.
struct Relu {
  static constexpr const char* name = "Relu";
  template <class V>
  static V apply(const V& z) noexcept {
    return kernels::math::max(z, V(0));
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    return kernels::math::select(y > V(0), V(1), V(0));
  }
  template <class V>
  static V second_derivative(const V&) noexcept {
    return V(0);
  }
};

}  // namespace latent
