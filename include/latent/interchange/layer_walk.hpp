#pragma once
/// \file
/// `latent::for_each_layer<Model>(f)`: the leaf layers of a model's encoder and decoder in order, with
/// where each one's parameters start in `model.parameters()`. Weight import and export and the ONNX
/// writer map a model onto outside formats through it, so they agree on one order.

#include "latent/layers/layer_traits.hpp"

#include <cstddef>  // std::size_t

namespace latent {

/// Which part of a model a leaf layer belongs to.
enum class model_part { encoder, decoder };

/// One leaf layer `L` (heads bound to their input sizes, nested `Seq`s flattened) of a model.
template <class L>
struct layer_slot {
  using layer = L;
  std::size_t index;   ///< 0-based among all the model's leaf layers (encoder's first)
  std::size_t offset;  ///< where its `L::param_count` parameters start in `model.parameters()`
  model_part part;
  std::size_t index_in_part;  ///< 0-based among its part's leaf layers
};

namespace detail {
template <class... Ls, class F>
void walk_layers(type_list<Ls...>, F& f, model_part part, std::size_t& index, std::size_t& offset) {
  std::size_t in_part = 0;
  (
      [&] {
        f(layer_slot<Ls>{index, offset, part, in_part});
        ++index, ++in_part;
        offset += Ls::param_count;
      }(),
      ...);
}
}  // namespace detail

/// Calls `f(layer_slot<L>{...})` for every leaf layer of `Model`'s encoder, then of its decoder. The
/// parameters of the layers are packed in this order; a VAE's likelihood parameters (if any) follow
/// them, from `likelihood_offset_v<Model>`.
template <class Model, class F>
void for_each_layer(F&& f) {
  std::size_t index = 0, offset = 0;
  detail::walk_layers(flat_layers_t<typename Model::encoder_type>{}, f, model_part::encoder, index, offset);
  detail::walk_layers(flat_layers_t<typename Model::decoder_type>{}, f, model_part::decoder, index, offset);
}

/// Where a model's parameters that belong to no layer start (a `LearnedGaussian`'s log-variances):
/// after the encoder's and the decoder's.
template <class Model>
inline constexpr std::size_t likelihood_offset_v = Model::encoder_type::param_count + Model::decoder_type::param_count;

}  // namespace latent
