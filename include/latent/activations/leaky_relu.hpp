#pragma once
/// \file
/// `latent::LeakyRelu` (slope 0.3 for z < 0, Keras's default) and `latent::LeakyReluWith<Num, Den>`
/// (slope Num / Den; `LeakyReluWith<0.01>` with g++).

#include <cstdint>      // std::intmax_t
#include <type_traits>  // std::is_arithmetic_v

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = z for z > 0, else s·z; f'(z) = 1 or s, with the slope s = Num / Den a template argument, so
/// that it is part of the model's type. `LeakyReluWith<1, 100>` (slope 0.01, PyTorch's default) builds
/// with every C++20 compiler; `LeakyReluWith<0.01>` (a `double` argument, `Den` = 1) needs floating-point
/// template arguments, which g++ has and clang 14 lacks. Both spellings compute the same slope.
template <auto Num, std::intmax_t Den = 1>
struct LeakyReluWith {
  static_assert(std::is_arithmetic_v<decltype(Num)>, "latent: the LeakyRelu slope must be a number");
  static_assert(Den > 0, "latent: the denominator of the LeakyRelu slope must be positive");
  /// The slope for z < 0, in double (Num / Den rounded once, so `<3, 10>` is exactly the double 0.3).
  static constexpr double slope = static_cast<double>(Num) / static_cast<double>(Den);
  static_assert(slope >= 0 && slope < 1, "latent: the LeakyRelu slope must be in [0, 1)");
  static constexpr const char* name = "LeakyRelu";
  template <class V>
  static V apply(const V& z) noexcept {
    return kernels::math::select(z > V(0), z, V(static_cast<kernels::scalar_of_t<V>>(slope)) * z);
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    return kernels::math::select(y > V(0), V(1), V(static_cast<kernels::scalar_of_t<V>>(slope)));
  }
  template <class V>
  static V second_derivative(const V&) noexcept {
    return V(0);
  }
};

/// Leaky ReLU with Keras's default slope 0.3.
struct LeakyRelu : LeakyReluWith<3, 10> {};

}  // namespace latent
