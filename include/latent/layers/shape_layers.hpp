#pragma once
/// \file
/// The layers that give, drop and change shapes: `Input<C, H, W>`, `Flatten`, `Reshape<C, H, W>`.
/// None has parameters; each passes its rows through unchanged (the values are already in
/// channel-first order, so flattening and reshaping only change what the next layer is told).

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/seq_rules.hpp"  // diag::first_layer_does_not_know_its_input_size: Flatten first

#include <algorithm>    // std::copy_n
#include <cstddef>      // std::size_t
#include <string>       // std::string: signatures
#include <type_traits>  // std::is_same_v

namespace latent {

namespace detail {
/// The passes of a layer that copies its N values per row (forward: y = x; backward: dx = dy).
template <std::size_t N>
struct pass_through {
  static constexpr std::size_t in_size = N, out_size = N, param_count = 0, cache_size = 0, scratch_size = 0;
  template <class T>
  static void init(T*, Rng&) noexcept {}
  template <class T>
  static void forward(const T*, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    std::copy_n(x, n * N, y);
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T* dy, T* dx, T*, T*, std::size_t n,
                       Context<T>&) noexcept {
    if (dx != nullptr) std::copy_n(dy, n * N, dx);
  }
};

inline std::string shape_text(std::size_t c, std::size_t h, std::size_t w) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}
}  // namespace detail

namespace diag {
/// Input<C, H, W> and Reshape<C, H, W> need C, H and W of at least 1.
template <class Layer, class Shape, bool NonZero>
struct shape_has_a_zero_size {
  static_assert(NonZero, "latent: a shape needs at least one channel, one row and one column");
  static constexpr bool value = true;
};
}  // namespace diag

/// The shape of a chain's input: C channels of H × W, channel-first (PyTorch's order; a Fashion-MNIST
/// row is `Input<1, 28, 28>` as it is). Write it first in an encoder's `Seq`, so the convolutions
/// after it learn their input shape: `Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Same, Relu>, ...>`.
/// No parameters; rows pass through. Rule: C, H, W ≥ 1 (`shape_has_a_zero_size`).
template <std::size_t C, std::size_t H, std::size_t W>
struct Input : detail::pass_through<C * H * W> {
  static_assert(diag::shape_has_a_zero_size<Input, diag::input_shape<C, H, W>, (C > 0 && H > 0 && W > 0)>::value);
  using in_shape = shape<C, H, W>;
  using out_shape = shape<C, H, W>;
  static std::string signature() { return "Input<" + detail::shape_text(C, H, W) + ">"; }
};

/// Gives the previous layer's C × H × W values as a flat row of C·H·W (they are already in that
/// order), for the `Dense` layer after it, whose input size must then be C·H·W
/// (`layer_input_size_does_not_match_flattened_shape`, which names the shape and its size).
/// After a flat layer it changes nothing.
struct Flatten {
  static constexpr const char* name = "Flatten";
  template <class In>
  struct bound : detail::pass_through<In::size> {
    using flattened_from = In;
    static std::string signature() {
      if constexpr (detail::is_shape_v<In>)
        return "Flatten<" + detail::shape_text(In::channels, In::height, In::width) + ">";
      else
        return "Flatten<" + std::to_string(In::size) + ">";
    }
  };
  template <class In>
  using bind_shape = bound<In>;
  template <class At, class In>
  static constexpr bool check() {
    static_assert(diag::first_layer_does_not_know_its_input_size<At, Flatten,
                                                                 !std::is_same_v<In, diag::receives_nothing>>::value);
    return !std::is_same_v<In, diag::receives_nothing>;
  }
};

/// Gives the previous layer's values the shape C × H × W (channel-first), e.g. after the decoder's
/// first `Dense<16, 3136, Relu>`: `Reshape<64, 7, 7>`. Its input size is C·H·W; a previous layer of
/// another width breaks `reshape_changes_the_element_count`, which names both counts.
template <std::size_t C, std::size_t H, std::size_t W>
struct Reshape : detail::pass_through<C * H * W> {
  static_assert(diag::shape_has_a_zero_size<Reshape, diag::reshape_to<C, H, W>, (C > 0 && H > 0 && W > 0)>::value);
  static constexpr bool is_reshape = true;
  using out_shape = shape<C, H, W>;
  static std::string signature() { return "Reshape<" + detail::shape_text(C, H, W) + ">"; }
};

namespace detail {
// What a shape head that got no shape was given, as the carriers print it.
template <class In>
struct what_it_receives {
  using type = diag::receives_nothing;
};
template <std::size_t N>
struct what_it_receives<flat<N>> {
  using type = diag::receives_flat<N>;
};

template <class L>
inline constexpr bool is_reshape_v = requires { requires L::is_reshape; };
template <class L>
concept flattens_a_shape = requires { typename L::flattened_from; } && is_shape_v<typename L::flattened_from>;
}  // namespace detail

}  // namespace latent
