#pragma once
/// \file
/// `latent::for_each_layer<Model>(f)`: the leaf layers of a model's encoder and decoder in order, with
/// where each one's parameters start in `model.parameters()` and its state in `model.state()`; and
/// `for_each_branch<L>(f)` / `for_each_layer_of<Chain>(f)` to walk into the chains a layer holds (a
/// `Residual`'s branch and projection). Weight import and export and the ONNX writer map a model onto
/// outside formats through them, so they agree on one order.

#include "latent/core/concepts.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/layers/residual.hpp"

#include <cstddef>      // std::size_t
#include <type_traits>  // std::conditional_t
#include <utility>      // std::index_sequence

namespace latent {

/// Which part of a model a leaf layer belongs to.
enum class model_part { encoder, decoder };

/// One leaf layer `L` (heads bound to their input sizes, nested `Seq`s flattened) of a model, or of a
/// chain a layer holds (see `for_each_layer_of`).
template <class L>
struct layer_slot {
  using layer = L;
  std::size_t index;   ///< 0-based among all the model's leaf layers (encoder's first)
  std::size_t offset;  ///< where its `L::param_count` parameters start in `model.parameters()`
  model_part part;
  std::size_t index_in_part;  ///< 0-based among its part's leaf layers
  /// Where its state (`detail::state_size_of<L>()` values: BatchNorm's running statistics) starts in
  /// `model.state()`.
  std::size_t state_offset;
};

/// One chain held by a layer (a `Residual`'s branch or projection): `Chain` is a bound chain (`Seq`-like,
/// with `::layers`) or a single layer; `offset` and `state_offset` count from the holding layer's own.
template <class Chain>
struct branch_slot {
  using chain = Chain;
  const char* name;  ///< "branch", "projection"
  std::size_t offset;
  std::size_t state_offset;
};

/// The chains a layer holds, for the visitors that walk into them: none for a leaf. A holder
/// specialises it with `count`, `chain<I>` (the I-th bound chain), `names[I]`, and `param_offsets[I]`
/// and `state_offsets[I]` (relative to its own).
template <class L>
struct layer_branches {
  static constexpr std::size_t count = 0;
};

/// A residual block holds its branch, then its projection (if it has one); its parameters and state
/// are the branch's, then the projection's.
template <class In, class B, class Pr>
struct layer_branches<detail::residual_layer<In, B, Pr>> {
  static constexpr bool projected = detail::residual_layer<In, B, Pr>::projected;
  static constexpr std::size_t count = projected ? 2 : 1;
  template <std::size_t I>
  using chain = std::conditional_t<I == 0, B, Pr>;
  static constexpr const char* names[2] = {"branch", "projection"};
  static constexpr std::size_t param_offsets[2] = {0, B::param_count};
  static constexpr std::size_t state_offsets[2] = {0, detail::state_size_of<B>()};
};

/// True for a layer that holds chains (`for_each_branch` walks into them).
template <class L>
inline constexpr bool holds_branches_v = layer_branches<L>::count > 0;

namespace detail {
template <class... Ls, class F>
void walk_layers(type_list<Ls...>, F& f, model_part part, std::size_t& index, std::size_t& offset,
                 std::size_t& state_offset) {
  std::size_t in_part = 0;
  (
      [&] {
        f(layer_slot<Ls>{index, offset, part, in_part, state_offset});
        ++index, ++in_part;
        offset += Ls::param_count;
        state_offset += state_size_of<Ls>();
      }(),
      ...);
}
}  // namespace detail

/// Calls `f(layer_slot<L>{...})` for every leaf layer of `Model`'s encoder, then of its decoder. The
/// parameters of the layers are packed in this order, and so is their state; a VAE's likelihood
/// parameters (if any) follow the layers', from `likelihood_offset_v<Model>`. A layer that holds chains
/// (`Residual`) is one leaf here; `for_each_branch` walks into it.
template <class Model, class F>
void for_each_layer(F&& f) {
  std::size_t index = 0, offset = 0, state_offset = 0;
  detail::walk_layers(flat_layers_t<typename Model::encoder_type>{}, f, model_part::encoder, index, offset,
                      state_offset);
  detail::walk_layers(flat_layers_t<typename Model::decoder_type>{}, f, model_part::decoder, index, offset,
                      state_offset);
}

/// Calls `f(layer_slot<L>{...})` for every leaf layer of `Chain` (a `Seq`, a bound branch, or one
/// layer; nested `Seq`s flattened), `index` and `index_in_part` counting its leaves from 0, offsets
/// counting from `offset` and `state_offset` (where the chain's parameters and state start).
template <class Chain, class F>
void for_each_layer_of(F&& f, model_part part = model_part::encoder, std::size_t offset = 0,
                       std::size_t state_offset = 0) {
  std::size_t index = 0;
  detail::walk_layers(flat_layers_t<Chain>{}, f, part, index, offset, state_offset);
}

/// Calls `f(branch_slot<Chain>{...})` for every chain layer `L` holds (see `layer_branches`), in the
/// order of its parameters; nothing for a leaf.
template <class L, class F>
void for_each_branch(F&& f) {
  using B = layer_branches<L>;
  if constexpr (B::count > 0) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(branch_slot<typename B::template chain<I>>{B::names[I], B::param_offsets[I], B::state_offsets[I]}), ...);
    }(std::make_index_sequence<B::count>{});
  }
}

/// Where a model's parameters that belong to no layer start (a `LearnedGaussian`'s log-variances):
/// after the encoder's and the decoder's.
template <class Model>
inline constexpr std::size_t likelihood_offset_v = Model::encoder_type::param_count + Model::decoder_type::param_count;

}  // namespace latent
