#pragma once
/// \file
/// `latent::Gelu`: f(z) = z·Φ(z), the Gaussian error linear unit (exact, with erf: PyTorch's default).

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = z·Φ(z) = ½·z·erfc(−z/√2) (PyTorch's GELU with approximate='none'). Its derivative
/// Φ(z) + z·φ(z) is not a function of the output (f is not monotonic below z ≈ −0.75), so it is given in
/// terms of the input: Gelu stands as a layer of its own in a `Seq`.
struct Gelu {
  static constexpr const char* name = "Gelu";
  static constexpr bool derivative_takes_input = true;
  template <class V>
  static V apply(const V& z) noexcept {
    // Φ(z) as ½·erfc(−z/√2): no cancellation where erf(z/√2) is near −1.
    return V(0.5) * z * kernels::math::erfc(z * V(-0.70710678118654752440));
  }
  template <class V>
  static V derivative_of_input(const V& z) noexcept {
    const V cdf = V(0.5) * kernels::math::erfc(z * V(-0.70710678118654752440));
    const V pdf = V(0.39894228040143267794) * kernels::math::exp(V(-0.5) * z * z);
    return cdf + z * pdf;
  }
};

}  // namespace latent
