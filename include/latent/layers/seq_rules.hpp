#pragma once
/// \file
/// The rules of a `Seq`'s wiring, one carrier each (see core/diagnostics.hpp): every element is a layer,
/// there is at least one, the first knows its input size, and each layer takes what the one before it
/// gives (after `Flatten`, the flattened size; a `Reshape`, the same count). layers/seq.hpp asserts them,
/// and layers/shape_layers.hpp the first-layer rule for `Flatten`; the predicate is `seq_is_wired_v`.

#include "latent/core/diagnostics.hpp"

#include <cstddef>  // std::size_t

namespace latent::diag {

/// Rule (a): inside a `Seq`, layer I's input size must equal layer I−1's output size.
template <class At, class Layer, class Expects, class Receives>
struct layer_input_size_does_not_match_previous_output;
template <std::size_t I, class Layer, std::size_t Want, std::size_t Got>
struct layer_input_size_does_not_match_previous_output<layer_index<I>, Layer, expects_inputs<Want>,
                                                       receives_outputs<Got>> {
  static_assert(Want == Got, "latent: a layer's input size must equal the previous layer's output size");
  static constexpr bool value = true;
};

/// After Flatten, a layer's input size must be the flattened size (channels × height × width).
template <class At, class Layer, class Expects, class Flattened, class Size>
struct layer_input_size_does_not_match_flattened_shape;
template <std::size_t I, class Layer, std::size_t Want, std::size_t C, std::size_t H, std::size_t W, std::size_t N>
struct layer_input_size_does_not_match_flattened_shape<layer_index<I>, Layer, expects_inputs<Want>,
                                                       flattened_shape<C, H, W>, flattened_size<N>> {
  static_assert(Want == N,
                "latent: a layer after Flatten must take the flattened size (channels x height x width) as its "
                "input size");
  static constexpr bool value = true;
};

/// Reshape<C, H, W> keeps the element count: C × H × W must equal the previous layer's output size.
template <class At, class Layer, class To, class Size, class Receives>
struct reshape_changes_the_element_count;
template <std::size_t I, class Layer, std::size_t C, std::size_t H, std::size_t W, std::size_t N, std::size_t Got>
struct reshape_changes_the_element_count<layer_index<I>, Layer, reshape_to<C, H, W>, reshape_size<N>,
                                         receives_outputs<Got>> {
  static_assert(N == Got,
                "latent: Reshape<C, H, W> must keep the element count: C x H x W must equal the previous layer's "
                "output size");
  static constexpr bool value = true;
};

/// Rule (d): every element of a `Seq` must be a layer (a type with in_size, out_size, param_count and
/// forward/backward passes, or a head such as `Gaussian<Z>` whose input size the `Seq` infers).
template <class At, class NotALayer, bool IsLayer>
struct seq_element_is_not_a_layer {
  static_assert(IsLayer, "latent: every element of a Seq must be a layer such as Dense<In, Out, Act> or a nested Seq");
  static constexpr bool value = true;
};

/// A `Seq` needs at least one layer.
template <std::size_t Count>
struct seq_has_no_layers {
  static_assert(Count > 0, "latent: a Seq needs at least one layer");
  static constexpr bool value = true;
};

/// The first layer of a chain must know its input size (a head such as `Gaussian<Z>` cannot start one).
template <class At, class Layer, bool KnowsInput>
struct first_layer_does_not_know_its_input_size {
  static_assert(KnowsInput,
                "latent: the first layer of a Seq must know its input size; a head such as Gaussian<Z> infers "
                "it from the layer before it");
  static constexpr bool value = true;
};

}  // namespace latent::diag
