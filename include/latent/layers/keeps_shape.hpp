#pragma once
/// \file
/// What the layers that keep their input's shape share (normalisation, standalone activations,
/// dropout): the channels and positions of what they receive, and their shapes.

#include "latent/core/shape.hpp"

#include <cstddef>  // std::size_t

namespace latent::detail {

/// A shape's channels and positions: C × (H·W) for `shape<C, H, W>`, N × 1 for `flat<N>`.
template <class In>
struct channels_of {
  static constexpr std::size_t channels = In::size, positions = 1;
};
template <std::size_t C, std::size_t H, std::size_t W>
struct channels_of<shape<C, H, W>> {
  static constexpr std::size_t channels = C, positions = H * W;
};

/// The in_shape / out_shape of a layer that keeps its input's shape (none for a flat input).
template <class In>
struct same_shape {};
template <std::size_t C, std::size_t H, std::size_t W>
struct same_shape<shape<C, H, W>> {
  using in_shape = shape<C, H, W>;
  using out_shape = shape<C, H, W>;
};

template <class R>
constexpr double ratio_value() noexcept {
  return static_cast<double>(R::num) / static_cast<double>(R::den);
}

}  // namespace latent::detail
