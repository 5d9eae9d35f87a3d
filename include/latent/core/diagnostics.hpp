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

/// Rule (d): every element of a `Seq` must be a layer (a type with in_size, out_size, param_count and
/// forward/backward passes, or a head such as `Gaussian<Z>` whose input size the `Seq` infers).
template <class At, class NotALayer, bool IsLayer>
struct seq_element_is_not_a_layer {
  static_assert(IsLayer, "latent: every element of a Seq must be a layer such as Dense<In, Out, Act> or a nested Seq");
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
struct in_decoder {};
struct in_encoder {};
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

/// A call that takes a batch (a 2-D `xt::xtensor<T, 2>`, rows are samples) was given something else,
/// e.g. one sample as an `xt::xtensor<T, 1>`, which would otherwise convert to a batch of a garbage shape.
template <class Given>
struct call_expects_a_batch_of_rows {
  static_assert(dependent_false<Given>,
                "latent: this call takes a batch, a 2-D xt::xtensor<T, 2> with one sample per row; reshape one "
                "sample to a 1 x D batch (encode, decode and reconstruct also take one sample as xt::xtensor<T, 1>)");
  static constexpr bool value = false;
};

// ---- Contracts: one carrier per member the library calls ----------------------------------------------
// `Where` is a layer_index<I> (inside a Seq) or in_encoder / in_decoder (at a model); `Scalar` is the
// scalar type the member is needed for.

/// A layer needs `template <class T> static void init(T* params, Rng&)`.
template <class Where, class Layer, class Scalar, bool Has>
struct layer_has_no_init {
  static_assert(Has, "latent: a layer needs `template <class T> static void init(T* params, latent::Rng& rng)`");
  static constexpr bool value = true;
};
/// A layer needs `forward`.
template <class Where, class Layer, class Scalar, bool Has>
struct layer_has_no_forward {
  static_assert(Has, "latent: a layer needs `template <class T> static void forward(const T* params, const T* x, "
                     "T* y, T* cache, std::size_t n, latent::Context<T>& ctx)`");
  static constexpr bool value = true;
};
/// A layer needs `backward`.
template <class Where, class Layer, class Scalar, bool Has>
struct layer_has_no_backward {
  static_assert(Has, "latent: a layer needs `template <class T> static void backward(const T* params, const T* x, "
                     "const T* y, const T* cache, T* dy, T* dx, T* dparams, T* scratch, std::size_t n, "
                     "latent::Context<T>& ctx)`");
  static constexpr bool value = true;
};
/// An encoder or decoder must be a layer (sizes and passes), e.g. a `Seq<...>`.
template <class Where, class NotALayer, bool IsLayer>
struct model_part_is_not_a_layer {
  static_assert(IsLayer, "latent: an encoder or decoder must be a layer such as Seq<Dense<...>, ...> or "
                         "Dense<In, Out, Act> (static in_size, out_size, param_count, cache_size, scratch_size)");
  static constexpr bool value = true;
};

/// An activation needs `static constexpr const char* name`.
template <class Activation, bool Has>
struct activation_has_no_name {
  static_assert(Has, "latent: an activation needs `static constexpr const char* name = \"...\";`");
  static constexpr bool value = true;
};
/// An activation's `apply` must take SIMD registers as well as scalars (float and double).
template <class Activation, bool Has>
struct activation_has_no_apply_for_simd_registers {
  static_assert(Has, "latent: an activation needs `template <class V> static V apply(const V& z)`, callable on "
                     "float, double and their SIMD registers (write it with latent::kernels::math)");
  static constexpr bool value = true;
};
/// An activation's `derivative` (in terms of the output) must take SIMD registers as well as scalars.
template <class Activation, bool Has>
struct activation_has_no_derivative_for_simd_registers {
  static_assert(Has, "latent: an activation needs `template <class V> static V derivative(const V& y)` (f' in "
                     "terms of the output y), callable on float, double and their SIMD registers");
  static constexpr bool value = true;
};

/// A reconstruction loss (plain autoencoders) needs each of these members.
template <class Loss, class Scalar, bool Has>
struct loss_has_no_value {
  static_assert(Has, "latent: a loss needs `template <class T> static double value(const T* prediction, const T* "
                     "target, std::size_t n, std::size_t d)` (the sum over n samples of their losses)");
  static constexpr bool value = true;
};
template <class Loss, class Scalar, bool Has>
struct loss_has_no_value_and_gradient {
  static_assert(Has, "latent: a loss needs `template <class T> static double value_and_gradient(const T* "
                     "prediction, const T* target, T* gradient, std::size_t n, std::size_t d, T scale)`");
  static constexpr bool value = true;
};
template <class Loss, class Scalar, bool Has>
struct loss_has_no_to_mean {
  static_assert(Has, "latent: a loss needs `template <class T> static void to_mean(T* output, std::size_t count)` "
                     "(the decoder's output to the reconstruction; empty for most losses)");
  static constexpr bool value = true;
};
template <class Loss, bool Has>
struct loss_has_no_name {
  static_assert(Has, "latent: a loss needs `static constexpr const char* name = \"...\";`");
  static constexpr bool value = true;
};

/// A VAE likelihood p(x|z) needs each of these members.
template <class Likelihood, bool Has>
struct likelihood_has_no_name {
  static_assert(Has, "latent: a likelihood needs `static constexpr const char* name = \"...\";` and `static "
                     "constexpr bool takes_logits`");
  static constexpr bool value = true;
};
template <class Likelihood, bool Has>
struct likelihood_has_no_params_for {
  static_assert(Has, "latent: a likelihood needs `template <std::size_t D> static constexpr std::size_t "
                     "params_for` (its own parameters for D outputs, often 0)");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_init {
  static_assert(Has, "latent: a likelihood needs `template <class T> static void init(T* params, std::size_t d)`");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_nll {
  static_assert(Has, "latent: a likelihood needs `template <class T> static double nll(const T* out, const T* x, "
                     "const T* params, std::size_t n, std::size_t d)` (the sum over n samples of -log p(x|z))");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_nll_and_gradient {
  static_assert(Has, "latent: a likelihood needs `template <class T> static double nll_and_gradient(const T* out, "
                     "const T* x, const T* params, T* d_out, T* d_params, std::size_t n, std::size_t d, T scale)`");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_to_mean {
  static_assert(Has, "latent: a likelihood needs `template <class T> static void to_mean(T* out, const T* params, "
                     "std::size_t n, std::size_t d)` (the decoder's output to the mean of p(x|z))");
  static constexpr bool value = true;
};

/// An autoencoder regulariser needs a name and at least one hook.
template <class Regulariser, bool Has>
struct regulariser_has_no_name {
  static_assert(Has, "latent: a regulariser needs `static constexpr const char* name = \"...\";`");
  static constexpr bool value = true;
};
template <class Regulariser, class Scalar, bool Has>
struct regulariser_has_no_hook {
  static_assert(Has, "latent: a regulariser needs at least one of `double code_penalty(const T* code, T* dcode, "
                     "std::size_t n, std::size_t z, T grad_scale, latent::Rng& rng) const` and `void corrupt(const "
                     "T* x, T* out, std::size_t count, latent::Rng& rng) const`");
  static constexpr bool value = true;
};

/// An optimiser needs `step(std::span<T> params, std::span<const T> grads)`.
template <class Optimizer, class Scalar, bool Has>
struct optimizer_has_no_step {
  static_assert(Has, "latent: an optimiser needs `void step(std::span<T> params, std::span<const T> grads)` for the "
                     "model's scalar type T");
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

/// The contractive penalty is computed exactly for encoders made of Dense layers.
template <class Encoder, bool AllDense>
struct contractive_encoder_is_not_made_of_dense_layers {
  static_assert(AllDense,
                "latent: a ContractiveAutoencoder's encoder must be made of Dense layers (nested Seqs allowed)");
  static constexpr bool value = true;
};

// ---- shapes (core/shape.hpp, layers/shape_layers.hpp, layers/conv.hpp) -------------------------------
// The arguments spell the shapes out: input_shape<64, 7, 7> is 64 channels of 7 × 7.
template <std::size_t C, std::size_t H, std::size_t W>
struct input_shape {};
template <std::size_t C, std::size_t H, std::size_t W>
struct gives_shape {};
template <std::size_t C, std::size_t H, std::size_t W>
struct expects_shape {};
template <std::size_t C, std::size_t H, std::size_t W>
struct flattened_shape {};
template <std::size_t N>
struct flattened_size {};
template <std::size_t C, std::size_t H, std::size_t W>
struct reshape_to {};
template <std::size_t N>
struct reshape_size {};
template <std::size_t H, std::size_t W>
struct padded_input {};
template <std::size_t N>
struct filters {};
template <std::size_t N>
struct kernel {};
template <std::size_t N>
struct stride {};
template <std::size_t N>
struct output_padding {};
template <std::size_t N>
struct receives_flat {};
/// What a layer at the start of a chain receives: nothing it could take a shape from.
struct receives_nothing {};

/// A convolution needs at least one filter, a kernel of at least 1 and a stride of at least 1.
template <class At, class Layer, class Filters, class Kernel, class Stride>
struct conv_layer_has_a_zero_size;
template <class At, class Layer, std::size_t F, std::size_t K, std::size_t S>
struct conv_layer_has_a_zero_size<At, Layer, filters<F>, kernel<K>, stride<S>> {
  static_assert(F > 0 && K > 0 && S > 0,
                "latent: a convolution needs at least one filter, a kernel of at least 1 and a stride of at least 1");
  static constexpr bool value = true;
};

/// A convolution takes a shaped input (C × H × W): the layer before it must give one.
template <class At, class Layer, class Receives>
struct conv_layer_has_no_shape_before_it {
  static_assert(dependent_false<Receives>,
                "latent: a convolution needs a shaped input (channels x height x width): start the Seq with "
                "Input<C, H, W>, or put Reshape<C, H, W> before it");
  static constexpr bool value = true;
};

/// A convolution's kernel must fit inside its padded input (height and width).
template <class At, class Layer, class Kernel, class Padded, class Input, bool Fits>
struct conv_kernel_is_larger_than_its_padded_input {
  static_assert(Fits, "latent: a convolution's kernel must fit inside its padded input (height and width)");
  static constexpr bool value = true;
};

/// With `Exact<Padding>`, the stride must divide (padded input − kernel): no row or column is dropped.
template <class At, class Layer, class Padded, class Kernel, class Stride, bool Divides>
struct conv_stride_drops_input_rows_or_columns {
  static_assert(Divides, "latent: Exact padding: (padded input - kernel) must be a multiple of the stride, or the last "
                         "rows or columns of the input are silently dropped");
  static constexpr bool value = true;
};

/// A transposed convolution's output_padding must be smaller than its stride (PyTorch's rule), and
/// Conv2D has none.
template <class At, class Layer, class OutputPadding, class Stride, bool Ok>
struct output_padding_is_not_smaller_than_the_stride {
  static_assert(Ok, "latent: output_padding (the second argument of Pad<P, OP>) must be smaller than the stride, and "
                    "only ConvTranspose2D has one");
  static constexpr bool value = true;
};

/// A transposed convolution whose padding crops its whole output.
template <class At, class Layer, class Input, bool NonEmpty>
struct transposed_conv_output_is_empty {
  static_assert(NonEmpty, "latent: a transposed convolution's padding must leave at least one output row and column");
  static constexpr bool value = true;
};

/// The padding argument of a convolution must be Valid, Same, Pad<P> / Pad<P, OP>, or Exact<one of those>.
template <class Layer, class Given, bool IsPadding>
struct conv_padding_is_not_a_padding {
  static_assert(IsPadding, "latent: a convolution's padding must be Valid, Same, Pad<P>, Pad<P, OP> or Exact<...>");
  static constexpr bool value = true;
};

/// Input<C, H, W> and Reshape<C, H, W> need C, H and W of at least 1.
template <class Layer, class Shape, bool NonZero>
struct shape_has_a_zero_size {
  static_assert(NonZero, "latent: a shape needs at least one channel, one row and one column");
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

}  // namespace latent::diag
