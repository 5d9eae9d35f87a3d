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
/// Inside, use the element-wise maths of `latent::kernels::math` (abs, exp, log, erf, select, ...), which
/// take both scalars and registers. Optional: `second_derivative(y)` (f''(z) in terms of y), needed
/// only by the contractive autoencoder. Example: examples/custom_layer.cpp.
///
/// An activation whose derivative is not a function of its output (SiLU, GELU: two inputs give one
/// output with different slopes) gives it in terms of its input instead, and says so:
///
///     static constexpr bool derivative_takes_input = true;
///     template <class V> static V derivative_of_input(const V& z) noexcept;  // f'(z)
///
/// Such an activation stands as a layer of its own in a `Seq` (`Seq<Conv2D<64, 3>, Silu>`), whose
/// backward pass has the input; a layer that fuses its activation and keeps only the output (`Dense`,
/// the convolutions) refuses it at compile time and says to write it that way.

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
template <class A, class V>
concept activation_input_derivative = requires(const V& v) {
  { A::derivative_of_input(v) } -> std::convertible_to<V>;
};
template <class A>
concept activation_input_derivative_all =
    activation_input_derivative<A, float> && activation_input_derivative<A, double> &&
    activation_input_derivative<A, kernels::simd<float>> && activation_input_derivative<A, kernels::simd<double>>;
/// An activation that gives its derivative in terms of its input (`derivative_takes_input`).
template <class A>
concept derivative_takes_input = requires { requires static_cast<bool>(A::derivative_takes_input); };
/// Its derivative, in whichever form it gives it.
template <class A>
concept activation_some_derivative = (derivative_takes_input<A> && activation_input_derivative_all<A>) ||
                                     (!derivative_takes_input<A> && activation_derivative_all<A>);
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
    detail::activation_named<A> && detail::activation_apply_all<A> && detail::activation_some_derivative<A>;

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
/// An activation's `derivative` (in terms of the output; or `derivative_of_input`, with
/// `derivative_takes_input`) must take SIMD registers as well as scalars.
template <class Activation, bool Has>
struct activation_has_no_derivative_for_simd_registers {
  static_assert(Has, "latent: an activation needs `template <class V> static V derivative(const V& y)` (f' in "
                     "terms of the output y), callable on float, double and their SIMD registers");
  static constexpr bool value = true;
};
/// A layer that fuses its activation keeps only its output, so its activation's derivative must be a
/// function of the output: SiLU and GELU (whose derivatives take the input) stand as layers of their own.
template <class Layer, class Activation, bool OutputDerivative>
struct fused_activation_needs_a_derivative_of_its_output {
  static_assert(OutputDerivative,
                "latent: this activation's derivative needs its input (SiLU, GELU), which a layer that fuses its "
                "activation does not keep; write the activation as a layer of its own: Seq<Dense<In, Out>, Silu> "
                "or Seq<Conv2D<F, K>, Silu>");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {
/// The rule of a layer that fuses activation `A` and keeps only its output (Dense, the convolutions).
template <class Layer, class A>
constexpr bool check_fused_activation() {
  static_assert(diag::fused_activation_needs_a_derivative_of_its_output<Layer, A, !derivative_takes_input<A>>::value);
  return !derivative_takes_input<A>;
}
/// Every member of the `Activation` contract, one carrier each (used where an activation is taken,
/// e.g. by `Dense`): the first lines of the diagnostic name the activation and what it lacks.
template <class A>
constexpr bool check_activation() {
  if constexpr (!activation_like<A>) {
    return diag::dense_activation_is_not_an_activation<A, false>::value;
  } else {
    static_assert(diag::activation_has_no_name<A, activation_named<A>>::value);
    static_assert(diag::activation_has_no_apply_for_simd_registers<A, activation_apply_all<A>>::value);
    static_assert(diag::activation_has_no_derivative_for_simd_registers<A, activation_some_derivative<A>>::value);
    return true;
  }
}
}  // namespace detail

}  // namespace latent
