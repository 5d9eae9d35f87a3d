#pragma once
/// \file
/// An activation standing alone in a `Seq` as a layer of its own (`Seq<Conv2D<32, 3>, BatchNorm, Relu>`,
/// as Keras's `layers.ReLU()`): the `Seq` wraps it in `detail::activation_layer`, bound to the shape of
/// the layer before it. (`Activation` is the name of the activation concept, so the wrapper has no
/// public name: the activation itself is the layer.)

#include "latent/activations/activation.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/layers/keeps_shape.hpp"

#include <algorithm>  // std::copy_n
#include <cstddef>    // std::size_t
#include <string>     // std::string: the signature

namespace latent::detail {

/// Activation `A` applied element by element to what the layer before it gives (`In`: a shape or
/// flat<N>), keeping its shape. No parameters; backward multiplies by A′ of the output, or of the input
/// for an activation whose derivative takes it (SiLU, GELU).
template <class In, class A>
struct activation_layer : same_shape<In> {
  static_assert(check_activation<A>());
  using activation = A;
  static constexpr const char* name = A::name;
  static constexpr std::size_t in_size = In::size, out_size = In::size;
  static constexpr std::size_t param_count = 0, cache_size = 0, scratch_size = 0;
  static constexpr double forward_flops = 4.0 * static_cast<double>(In::size);
  static std::string signature() { return A::name; }

  template <class T>
  static void init(T*, Rng&) noexcept {}
  template <class T>
  static void forward(const T*, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    kernels::apply_activation<A>(x, y, n * in_size);
  }
  template <class T>
  static void backward(const T*, const T* x, const T* y, const T*, T* dy, T* dx, T*, T*, std::size_t n,
                       Context<T>&) noexcept {
    if (dx == nullptr) return;
    std::copy_n(dy, n * in_size, dx);
    if constexpr (derivative_takes_input<A>)
      kernels::multiply_by_input_derivative<A>(dx, x, n * in_size);
    else
      kernels::multiply_by_derivative<A>(dx, y, n * in_size);
  }
};

}  // namespace latent::detail
