#pragma once
/// \file
/// `latent::LeakyRelu` (slope 0.3 for z < 0, Keras's default) and `latent::LeakyReluWith<Slope>`.

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = z for z > 0, else Slope·z; f'(z) = 1 or Slope. `Slope` is a template argument, so the
/// slope is part of the model's type (`LeakyReluWith<0.01>` is PyTorch's default).
template <double Slope>
struct LeakyReluWith {
  static_assert(Slope >= 0 && Slope < 1, "latent: the LeakyRelu slope must be in [0, 1)");
  static constexpr const char* name = "LeakyRelu";
  static constexpr double slope = Slope;
  template <class V>
  static V apply(const V& z) noexcept {
    return kernels::math::select(z > V(0), z, V(static_cast<kernels::scalar_of_t<V>>(Slope)) * z);
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    return kernels::math::select(y > V(0), V(1), V(static_cast<kernels::scalar_of_t<V>>(Slope)));
  }
  template <class V>
  static V second_derivative(const V&) noexcept {
    return V(0);
  }
};

/// Leaky ReLU with Keras's default slope 0.3.
struct LeakyRelu : LeakyReluWith<0.3> {};

}  // namespace latent
