#pragma once
/// \file
/// The rules of the models, one carrier each (see core/diagnostics.hpp): the decoder takes the
/// encoder's code (plus the condition, in a conditional model) and gives the encoder's input back, in
/// size and, when both are shaped, in shape; an encoder and a decoder are layers; a VAE's encoder ends
/// in `Gaussian<Z>`, which appears nowhere else; a loss on logits needs an `Identity` output; a call
/// that takes a batch gets one. model_base.hpp, autoencoder.hpp and vae_model.hpp assert them. (The
/// contractive encoder's rule is beside `ContractiveAutoencoder`.)

#include "latent/core/diagnostics.hpp"

#include <cstddef>  // std::size_t

namespace latent::diag {

/// Rule (b): the decoder's input size must equal the encoder's output (code) size.
template <class DecoderExpects, class EncoderGives, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_encoder_output;
template <std::size_t Want, std::size_t Got, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_encoder_output<expects_inputs<Want>, gives_outputs<Got>, Decoder, Encoder> {
  static_assert(Want == Got, "latent: the decoder's input size must equal the encoder's output (code) size");
  static constexpr bool value = true;
};

/// Rule (c): the decoder's output size must equal the encoder's input size (a reconstruction has the
/// shape of the input).
template <class DecoderGives, class EncoderExpects, class Decoder, class Encoder>
struct decoder_output_size_does_not_match_encoder_input;
template <std::size_t Got, std::size_t Want, class Decoder, class Encoder>
struct decoder_output_size_does_not_match_encoder_input<gives_outputs<Got>, expects_inputs<Want>, Decoder, Encoder> {
  static_assert(Want == Got,
                "latent: the decoder's output size must equal the encoder's input size (a reconstruction has "
                "the input's shape)");
  static constexpr bool value = true;
};

/// When both are shaped, the decoder's output shape must equal the encoder's input shape.
template <class DecoderGives, class EncoderExpects, class Decoder, class Encoder>
struct decoder_output_shape_does_not_match_encoder_input_shape;
template <std::size_t C, std::size_t H, std::size_t W, std::size_t C2, std::size_t H2, std::size_t W2, class Decoder,
          class Encoder>
struct decoder_output_shape_does_not_match_encoder_input_shape<gives_shape<C, H, W>, expects_shape<C2, H2, W2>, Decoder,
                                                               Encoder> {
  static_assert(C == C2 && H == H2 && W == W2,
                "latent: the decoder's output shape must equal the encoder's input shape (a reconstruction has "
                "the input's shape)");
  static constexpr bool value = true;
};

/// An encoder or decoder must be a layer (sizes and passes), e.g. a `Seq<...>`.
template <class Where, class NotALayer, bool IsLayer>
struct model_part_is_not_a_layer {
  static_assert(IsLayer, "latent: an encoder or decoder must be a layer such as Seq<Dense<...>, ...> or "
                         "Dense<In, Out, Act> (static in_size, out_size, param_count, cache_size, scratch_size)");
  static constexpr bool value = true;
};

/// A conditional model's decoder takes the code and the condition: its input size must be Z + C. The
/// carrier's arguments spell the sum out: expects_inputs<4>, code_size<4>, plus_classes<3>, total<7>.
template <std::size_t N>
struct code_size {};
template <std::size_t N>
struct plus_classes {};
template <std::size_t N>
struct total {};
template <class DecoderExpects, class CodeSize, class Classes, class Total, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_code_plus_condition;
template <std::size_t Want, std::size_t Z, std::size_t C, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_code_plus_condition<expects_inputs<Want>, code_size<Z>, plus_classes<C>,
                                                             total<Z + C>, Decoder, Encoder> {
  static_assert(Want == Z + C,
                "latent: a conditional model's decoder input size must equal the code size plus the number of classes");
  static constexpr bool value = true;
};

/// A conditional model with a shaped encoder takes the image's channels plus one constant plane per
/// class: Input<C + Classes, H, W> for a decoder that gives C × H × W.
template <std::size_t C, std::size_t H, std::size_t W>
struct image_shape {};
template <class DecoderGives, class Classes, class EncoderExpects, class Decoder, class Encoder>
struct conditional_encoder_shape_is_not_image_plus_class_planes;
template <std::size_t C, std::size_t H, std::size_t W, std::size_t K, std::size_t C2, std::size_t H2, std::size_t W2,
          class Decoder, class Encoder>
struct conditional_encoder_shape_is_not_image_plus_class_planes<image_shape<C, H, W>, plus_classes<K>,
                                                                expects_shape<C2, H2, W2>, Decoder, Encoder> {
  static_assert(C + K == C2 && H == H2 && W == W2,
                "latent: a conditional model's shaped encoder takes the image's channels plus one constant plane "
                "per class: Input<C + Classes, H, W>");
  static constexpr bool value = true;
};

/// A VAE's encoder must end in a `Gaussian<Z>` head (and have no other).
template <class Encoder, bool EndsInGaussian>
struct vae_encoder_does_not_end_in_a_gaussian_head {
  static_assert(
      EndsInGaussian,
      "latent: a VAE's encoder must end in a Gaussian<Z> head, e.g. Seq<Dense<784, 400, Relu>, Gaussian<20>>");
  static constexpr bool value = true;
};

/// `Gaussian<Z>` may only be the last layer of an encoder: not inside it, not in a decoder.
template <class Where, class Layer, std::size_t Count>
struct gaussian_head_is_not_at_the_end_of_the_encoder {
  static_assert(
      Count == 0,
      "latent: Gaussian<Z> may only be the last layer of a VAE's encoder (not before it, not in the decoder)");
  static constexpr bool value = true;
};
/// Where `gaussian_head_is_not_at_the_end_of_the_encoder` found one: inside the encoder, before its end.
struct before_the_end_of_the_encoder {};

/// `Gaussian<Z>` is the head of a VAE's encoder: a plain autoencoder (Autoencoder, Denoising, Sparse,
/// Contractive) has no use for it, and would silently train a noisy code without its KL term.
template <class Where, class Layer, std::size_t Count>
struct gaussian_head_is_only_for_a_vae_encoder {
  static_assert(Count == 0,
                "latent: Gaussian<Z> is the head of a VAE's encoder; a plain autoencoder's encoder and decoder "
                "cannot contain it (use VAE<...>, or a Dense layer for the code)");
  static constexpr bool value = true;
};

/// A loss on logits needs a decoder whose last layer is linear (Identity activation).
template <class Loss, class LastActivation, bool IsIdentity>
struct logit_loss_needs_an_identity_output_layer {
  static_assert(IsIdentity,
                "latent: this loss takes logits: the decoder's last layer must have the Identity activation");
  static constexpr bool value = true;
};

/// A call that takes a batch (a 2-D `xt::xtensor<T, 2>`, rows are samples) was given something else,
/// e.g. one sample as an `xt::xtensor<T, 1>`, which would otherwise convert to a batch of a garbage shape.
template <class Given>
struct call_expects_a_batch_of_rows {
  static_assert(dependent_false<Given>,
                "latent: this call takes a batch, a 2-D xt::xtensor<T, 2> with one sample per row; reshape one "
                "sample to a 1 x D batch (encode, decode and reconstruct also take one sample as xt::xtensor<T, 1>)");
  static constexpr bool value = false;
};

/// The IWAE bound runs each row K times through the encoder and decoder in one pass: a layer whose
/// training pass couples the batch (BatchNorm) would count each row K times in its statistics.
template <std::size_t K, class Encoder, class Decoder, bool NoBatchCoupling>
struct importance_weighted_bound_repeats_rows_through_batch_statistics {
  static_assert(NoBatchCoupling,
                "latent: an IWAE (K > 1 importance samples) repeats every row K times in one training pass, so a "
                "layer with batch statistics (BatchNorm) would count each row K times; use GroupNorm or LayerNorm "
                "(per sample), or a VAE");
  static constexpr bool value = true;
};

/// A code prior with anchors (VampPrior's pseudo-inputs, models/code_prior.hpp) runs the encoder on its
/// anchors in eval mode beside the batch: an encoder layer with state or batch statistics (BatchNorm)
/// would see the anchors through statistics they do not belong to.
template <class Encoder, bool Stateless>
struct code_prior_with_anchors_needs_an_encoder_without_state {
  static_assert(Stateless,
                "latent: a VampPrior (a code prior with pseudo-inputs) runs the encoder on its pseudo-inputs beside "
                "the batch; an encoder layer with state or batch statistics (BatchNorm) is not allowed there: use "
                "GroupNorm or LayerNorm");
  static constexpr bool value = true;
};

}  // namespace latent::diag
