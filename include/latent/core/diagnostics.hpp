#pragma once
/// \file
/// Readable compile-time errors.
///
/// g++ 12 cannot format numbers into a `static_assert` message, but it prints the template it is
/// instantiating first. Each shape rule therefore has a carrier template whose *name* states the rule
/// in words and whose arguments carry the position and both sizes; its static assertion repeats the
/// rule as a sentence. The first lines of the diagnostic then read, for example:
///
///     In instantiation of 'struct latent::diag::layer_input_size_does_not_match_previous_output<
///         latent::diag::layer_index<1>, latent::Dense<6, 1, latent::Relu>,
///         latent::diag::expects_inputs<6>, latent::diag::receives_outputs<5> >'
///     error: static assertion failed: latent: a layer's input size must equal the previous layer's output size
///
/// Carriers take the sizes and check them themselves; the plain predicates they use live beside the
/// entity they describe (`latent::seq_is_wired_v`, ...) so that tests can probe them.
/// Positions count from 0.

#include <cstddef>  // std::size_t

namespace latent::diag {

template <std::size_t I>
struct layer_index {};
template <std::size_t N>
struct expects_inputs {};
template <std::size_t N>
struct receives_outputs {};
template <std::size_t N>
struct gives_outputs {};
template <std::size_t N>
struct inputs {};
template <std::size_t N>
struct outputs {};

template <class T>
inline constexpr bool dependent_false = false;

/// Rule (a): inside a `Seq`, layer I's input size must equal layer I−1's output size.
template <class At, class Layer, class Expects, class Receives>
struct layer_input_size_does_not_match_previous_output;
template <std::size_t I, class Layer, std::size_t Want, std::size_t Got>
struct layer_input_size_does_not_match_previous_output<layer_index<I>, Layer, expects_inputs<Want>,
                                                       receives_outputs<Got>> {
  static_assert(Want == Got, "latent: a layer's input size must equal the previous layer's output size");
  static constexpr bool value = true;
};

/// Rule (b): the decoder's input size must equal the encoder's output (code) size.
template <class DecoderExpects, class EncoderGives, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_encoder_output;
template <std::size_t Want, std::size_t Got, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_encoder_output<expects_inputs<Want>, gives_outputs<Got>, Decoder,
                                                        Encoder> {
  static_assert(Want == Got, "latent: the decoder's input size must equal the encoder's output (code) size");
  static constexpr bool value = true;
};

/// Rule (c): the decoder's output size must equal the encoder's input size (a reconstruction has the
/// shape of the input).
template <class DecoderGives, class EncoderExpects, class Decoder, class Encoder>
struct decoder_output_size_does_not_match_encoder_input;
template <std::size_t Got, std::size_t Want, class Decoder, class Encoder>
struct decoder_output_size_does_not_match_encoder_input<gives_outputs<Got>, expects_inputs<Want>, Decoder,
                                                        Encoder> {
  static_assert(Want == Got,
                "latent: the decoder's output size must equal the encoder's input size (a reconstruction has "
                "the input's shape)");
  static constexpr bool value = true;
};

/// Rule (d): every element of a `Seq` must be a layer (a type with in_size, out_size, param_count and
/// forward/backward passes, or a head such as `Gaussian<Z>` whose input size the `Seq` infers).
template <class At, class NotALayer, bool IsLayer>
struct seq_element_is_not_a_layer {
  static_assert(IsLayer,
                "latent: every element of a Seq must be a layer such as Dense<In, Out, Act> or a nested Seq");
  static constexpr bool value = true;
};

/// Rule (e): a `Dense` layer needs at least one input and one output.
template <class In, class Out>
struct dense_layer_has_a_zero_size;
template <std::size_t In, std::size_t Out>
struct dense_layer_has_a_zero_size<inputs<In>, outputs<Out>> {
  static_assert(In > 0 && Out > 0, "latent: a Dense layer needs at least one input and one output");
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

/// The activation of a `Dense` layer must be an activation (Identity, Relu, Sigmoid, ...).
template <class NotAnActivation, bool IsActivation>
struct dense_activation_is_not_an_activation {
  static_assert(IsActivation,
                "latent: the third argument of Dense must be an activation such as Identity, Relu or Sigmoid");
  static constexpr bool value = true;
};

/// A loss on logits needs a decoder whose last layer is linear (Identity activation).
template <class Loss, class LastActivation, bool IsIdentity>
struct logit_loss_needs_an_identity_output_layer {
  static_assert(IsIdentity,
                "latent: this loss takes logits: the decoder's last layer must have the Identity activation");
  static constexpr bool value = true;
};

/// A VAE's encoder must end in a `Gaussian<Z>` head (and have no other).
template <class Encoder, bool EndsInGaussian>
struct vae_encoder_does_not_end_in_a_gaussian_head {
  static_assert(EndsInGaussian,
                "latent: a VAE's encoder must end in a Gaussian<Z> head, e.g. Seq<Dense<784, 400, Relu>, Gaussian<20>>");
  static constexpr bool value = true;
};

/// `Gaussian<Z>` may only be the last layer of an encoder: not inside it, not in a decoder.
template <class Where, class Layer, std::size_t Count>
struct gaussian_head_is_not_at_the_end_of_the_encoder {
  static_assert(Count == 0,
                "latent: Gaussian<Z> may only be the last layer of a VAE's encoder (not before it, not in the decoder)");
  static constexpr bool value = true;
};
struct in_decoder {};
struct before_the_end_of_the_encoder {};

/// A conditional model's decoder takes the code and the condition: its input size must be Z + C.
template <class DecoderExpects, class CodeSize, class ConditionSize, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_code_plus_condition;
template <std::size_t Want, std::size_t Z, std::size_t C, class Decoder, class Encoder>
struct decoder_input_size_does_not_match_code_plus_condition<expects_inputs<Want>, gives_outputs<Z>, inputs<C>, Decoder,
                                                             Encoder> {
  static_assert(Want == Z + C,
                "latent: a conditional model's decoder input size must equal the code size plus the number of classes");
  static constexpr bool value = true;
};

/// The contractive penalty is computed exactly for encoders made of Dense layers.
template <class Encoder, bool AllDense>
struct contractive_encoder_is_not_made_of_dense_layers {
  static_assert(AllDense, "latent: a ContractiveAutoencoder's encoder must be made of Dense layers (nested Seqs allowed)");
  static constexpr bool value = true;
};

}  // namespace latent::diag
