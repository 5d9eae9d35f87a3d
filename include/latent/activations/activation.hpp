#pragma once
/// \file
/// The `Activation` concept: what the library calls on an activation, spelled as it calls it.
///
/// The kernels apply an activation to whole SIMD registers and to single scalars (the tail of a row),
/// in float and in double, so an activation is written once as templates over the value type `V`:
///
///     struct Softsign {
///       static constexpr const char* name = "Softsign";
///       template <class V> static V apply(const V& z) noexcept;       // f(z)
///       template <class V> static V derivative(const V& y) noexcept;  // f'(z) written in terms of y = f(z)
///     };
///
/// Inside, use the element-wise maths of `latent::kernels::math` (abs, exp, log, select, ...), which
/// take both scalars and registers. Optional: `second_derivative(y)` (f''(z) in terms of y), needed
/// only by the contractive autoencoder. Example: examples/custom_layer.cpp.

#include "latent/kernels/simd.hpp"

#include <concepts>     // std::same_as, std::convertible_to
#include <string_view>  // std::string_view

namespace latent {

namespace detail {
template <class A, class V>
concept activation_apply = requires(const V& v) {
  { A::apply(v) } -> std::convertible_to<V>;
};
template <class A, class V>
concept activation_derivative = requires(const V& v) {
  { A::derivative(v) } -> std::convertible_to<V>;
};
/// `apply` on every value type the kernels use: float, double and their SIMD registers.
template <class A>
concept activation_apply_all = activation_apply<A, float> && activation_apply<A, double> &&
                               activation_apply<A, kernels::simd<float>> && activation_apply<A, kernels::simd<double>>;
template <class A>
concept activation_derivative_all =
    activation_derivative<A, float> && activation_derivative<A, double> &&
    activation_derivative<A, kernels::simd<float>> && activation_derivative<A, kernels::simd<double>>;
template <class A>
concept activation_named = requires {
  { A::name } -> std::convertible_to<std::string_view>;
};
/// Something that is meant as an activation (it has `apply` for a float), complete or not.
template <class A>
concept activation_like = activation_apply<A, float>;
}  // namespace detail

/// An element-wise function with its derivative written in terms of its output, callable on scalars
/// and SIMD registers of float and double, with a name.
template <class A>
concept Activation =
    detail::activation_named<A> && detail::activation_apply_all<A> && detail::activation_derivative_all<A>;

namespace diag {
/// The activation of a `Dense` layer must be an activation (Identity, Relu, Sigmoid, ...).
template <class NotAnActivation, bool IsActivation>
struct dense_activation_is_not_an_activation {
  static_assert(IsActivation,
                "latent: the third argument of Dense must be an activation such as Identity, Relu or Sigmoid");
  static constexpr bool value = true;
};

/// An activation needs `static constexpr const char* name`.
template <class Activation, bool Has>
struct activation_has_no_name {
  static_assert(Has, "latent: an activation needs `static constexpr const char* name = \"...\";`");
  static constexpr bool value = true;
};
/// An activation's `apply` must take SIMD registers as well as scalars (float and double).
template <class Activation, bool Has>
struct activation_has_no_apply_for_simd_registers {
  static_assert(Has, "latent: an activation needs `template <class V> static V apply(const V& z)`, callable on "
                     "float, double and their SIMD registers (write it with latent::kernels::math)");
  static constexpr bool value = true;
};
/// An activation's `derivative` (in terms of the output) must take SIMD registers as well as scalars.
template <class Activation, bool Has>
struct activation_has_no_derivative_for_simd_registers {
  static_assert(Has, "latent: an activation needs `template <class V> static V derivative(const V& y)` (f' in "
                     "terms of the output y), callable on float, double and their SIMD registers");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {
/// Every member of the `Activation` contract, one carrier each (used where an activation is taken,
/// e.g. by `Dense`): the first lines of the diagnostic name the activation and what it lacks.
template <class A>
constexpr bool check_activation() {
  if constexpr (!activation_like<A>) {
    return diag::dense_activation_is_not_an_activation<A, false>::value;
  } else {
    static_assert(diag::activation_has_no_name<A, activation_named<A>>::value);
    static_assert(diag::activation_has_no_apply_for_simd_registers<A, activation_apply_all<A>>::value);
    static_assert(diag::activation_has_no_derivative_for_simd_registers<A, activation_derivative_all<A>>::value);
    return true;
  }
}
}  // namespace detail

}  // namespace latent
