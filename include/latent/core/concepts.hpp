#pragma once
/// \file
/// The roles of latent's types: `Activation`, `Layer`, `LayerSpec`, `Loss`, `Optimizer`.
///
/// A **layer** is a stateless description: its sizes and parameter count are compile-time facts, and its
/// parameters live in the model's packed parameter array. Its passes work on `n` samples at a time,
/// row-major (one row per sample):
///
///     static constexpr std::size_t in_size, out_size, param_count;
///     static constexpr std::size_t cache_size;    // values per sample kept from forward for backward
///     static constexpr std::size_t scratch_size;  // values per sample used temporarily by backward
///     template <class T> static void init(T* params, Rng&);
///     template <class T> static void forward(const T* params, const T* x, T* y, T* cache,
///                                            std::size_t n, Context<T>&);
///     template <class T> static void backward(const T* params, const T* x, const T* y, const T* cache,
///                                             T* dy, T* dx, T* dparams, T* scratch,
///                                             std::size_t n, Context<T>&);
///
/// `backward` receives dL/dy in `dy` (it may overwrite it), writes dL/dparams to `dparams` (overwriting)
/// and dL/dx to `dx` unless `dx` is null (the first layer of a model needs no input gradient).
/// A **head** (such as `Gaussian<Z>`) does not know its input size; it has `template <std::size_t In>
/// using bind = ...;`, which a `Seq` instantiates with the previous layer's output size.

#include "latent/core/context.hpp"
#include "latent/core/random.hpp"

#include <concepts>  // std::same_as, std::convertible_to
#include <cstddef>   // std::size_t
#include <span>      // std::span

namespace latent {

/// An element-wise function with its derivative written in terms of its output.
template <class A>
concept Activation = requires(float f, double d) {
  { A::apply(f) } -> std::same_as<float>;
  { A::apply(d) } -> std::same_as<double>;
  { A::derivative(f) } -> std::same_as<float>;
};

/// A layer whose input and output sizes are known.
template <class L>
concept Layer = requires {
  { L::in_size } -> std::convertible_to<std::size_t>;
  { L::out_size } -> std::convertible_to<std::size_t>;
  { L::param_count } -> std::convertible_to<std::size_t>;
  { L::cache_size } -> std::convertible_to<std::size_t>;
  { L::scratch_size } -> std::convertible_to<std::size_t>;
};

/// A head: a layer that learns its input size from the layer before it.
template <class L>
concept Head = requires { typename L::template bind<1>; } && Layer<typename L::template bind<1>>;

/// What may appear inside a `Seq`: a layer or a head.
template <class L>
concept LayerSpec = Layer<L> || Head<L>;

/// A reconstruction loss: per-sample loss and its gradient for a batch.
template <class L>
concept Loss = requires(const float* p, float* g, std::size_t n) {
  { L::value(p, p, n, n) } -> std::convertible_to<double>;
  { L::value_and_gradient(p, p, g, n, n, 1.0f) } -> std::convertible_to<double>;
};

namespace detail {
/// A layer's parameter count (output size), or 0 for a type that is not a layer: models size their
/// storage with these so that passing a non-layer fails on the readable rule, not on a missing member.
template <class L>
constexpr std::size_t param_count_or_zero() {
  if constexpr (Layer<L>)
    return L::param_count;
  else
    return 0;
}
template <class L>
constexpr std::size_t out_size_or_zero() {
  if constexpr (Layer<L>)
    return L::out_size;
  else
    return 0;
}
}  // namespace detail

/// An optimiser: updates packed parameters from packed gradients.
template <class O, class T = float>
concept Optimizer = requires(O& o, std::span<T> p, std::span<const T> g) { o.step(p, g); };

}  // namespace latent
