#pragma once
/// \file
/// The rules of the normalisation layers (BatchNorm, GroupNorm, LayerNorm) and the standalone layers
/// that keep their input's shape, with their carriers: each names the rule, the layer's position and
/// what it receives in the first lines of the diagnostic.

#include "latent/core/diagnostics.hpp"
#include "latent/core/shape.hpp"

#include <cstddef>  // std::size_t

namespace latent {

namespace diag {
template <std::size_t N>
struct groups {};
template <std::size_t N>
struct channels {};

/// A normalisation layer (or a standalone activation or dropout) follows a layer: at the start of a
/// chain it has nothing whose size or shape it could take.
template <class At, class Layer, bool Receives>
struct layer_has_nothing_before_it_to_take_its_size_from {
  static_assert(Receives,
                "latent: a normalisation, activation or dropout layer takes its size from the layer before it; "
                "put it after a layer (e.g. Seq<Conv2D<32, 3>, BatchNorm, Relu>), or start the chain with "
                "Input<C, H, W>");
  static constexpr bool value = true;
};

/// GroupNorm<G>'s groups must divide its input's channels.
template <class At, class Layer, class Groups, class Channels, bool Divides>
struct group_count_does_not_divide_the_channels {
  static_assert(Divides, "latent: GroupNorm's number of groups must divide the number of channels it receives");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {

/// The channels a normalisation layer sees in what it receives: C of `shape<C, H, W>`, N of `flat<N>`
/// (0 for nothing).
template <class In>
struct received_channels {
  static constexpr std::size_t value = 0;
};
template <std::size_t N>
struct received_channels<flat<N>> {
  static constexpr std::size_t value = N;
};
template <std::size_t C, std::size_t H, std::size_t W>
struct received_channels<shape<C, H, W>> {
  static constexpr std::size_t value = C;
};

/// The rule of a layer that keeps its input's size and shape: something before it.
template <class At, class Layer, class In>
constexpr bool check_normalisation() {
  constexpr bool receives = received_channels<In>::value > 0;
  static_assert(diag::layer_has_nothing_before_it_to_take_its_size_from<At, Layer, receives>::value);
  return receives;
}

/// GroupNorm's rules: something before it, and G dividing its channels.
template <class At, class Layer, std::size_t G, class In>
constexpr bool check_group_norm() {
  if constexpr (!check_normalisation<At, Layer, In>()) {
    return false;
  } else {
    constexpr std::size_t C = received_channels<In>::value;
    constexpr bool divides = G > 0 && C % G == 0;
    static_assert(diag::group_count_does_not_divide_the_channels<At, Layer, diag::groups<G>, diag::channels<C>,
                                                                 divides>::value);
    return divides;
  }
}

}  // namespace detail

}  // namespace latent
