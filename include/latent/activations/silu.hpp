#pragma once
/// \file
/// `latent::Silu`: f(z) = z·σ(z) (SiLU, or swish: latent diffusion's activation).

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = z·σ(z) with σ the logistic function (PyTorch's SiLU). Its derivative σ(z)·(1 + z·(1 − σ(z)))
/// is not a function of the output (f is not monotonic below z ≈ −1.28), so it is given in terms of the
/// input: Silu stands as a layer of its own in a `Seq` (`Seq<GroupNorm<8>, Silu, Conv2D<64, 3, 1, Same>>`).
struct Silu {
  static constexpr const char* name = "Silu";
  static constexpr bool derivative_takes_input = true;
  template <class V>
  static V apply(const V& z) noexcept {
    return z / (V(1) + kernels::math::exp(-z));
  }
  template <class V>
  static V derivative_of_input(const V& z) noexcept {
    const V s = V(1) / (V(1) + kernels::math::exp(-z));
    return s * (V(1) + z * (V(1) - s));
  }
};

}  // namespace latent
