// An activation is applied to SIMD registers as well as scalars. With LATENT_SHOULD_FAIL it is written
// for float and double only; the first lines name the activation and the missing form. Valid as written.
#include "latent/kernels/simd.hpp"
#include "latent/layers/dense.hpp"

#include <cmath>  // std::abs: the scalar-only form

namespace cf::activation_scalar_only {

struct Softsign {
  static constexpr const char* name = "Softsign";
#ifdef LATENT_SHOULD_FAIL
  static float apply(float z) noexcept { return z / (1 + std::abs(z)); }
  static double apply(double z) noexcept { return z / (1 + std::abs(z)); }
#else
  template <class V>
  static V apply(const V& z) noexcept {
    return z / (V(1) + latent::kernels::math::abs(z));
  }
#endif
  template <class V>
  static V derivative(const V& y) noexcept {
    return (V(1) - latent::kernels::math::abs(y)) * (V(1) - latent::kernels::math::abs(y));
  }
};

using Layer = latent::Dense<10, 5, Softsign>;

inline int case_activation_scalar_only() { return Layer::param_count == 55 ? 0 : 1; }

}  // namespace cf::activation_scalar_only

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::activation_scalar_only::case_activation_scalar_only(); }
#endif
