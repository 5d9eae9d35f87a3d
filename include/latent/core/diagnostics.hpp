#pragma once
/// \file
/// Readable compile-time errors: the vocabulary every rule's carrier speaks.
///
/// g++ 12 cannot format numbers into a `static_assert` message, but it prints the template it is
/// instantiating first. Each rule therefore has a carrier template whose *name* states the rule in
/// words and whose arguments carry the position and both sizes; its static assertion repeats the rule
/// as a sentence. The first lines of the diagnostic then read, for example:
///
///     In instantiation of 'struct latent::diag::layer_input_size_does_not_match_previous_output<
///         latent::diag::layer_index<1>, latent::Dense<6, 1, latent::Relu>,
///         latent::diag::expects_inputs<6>, latent::diag::receives_outputs<5> >'
///     error: static assertion failed: latent: a layer's input size must equal the previous layer's output size
///
/// This header holds what the rules share: the argument carriers (positions, sizes, shapes, where in a
/// model), `dependent_false`, and the carriers of the roles defined in core/ (the layer contract of
/// core/concepts.hpp with its state hooks, the optimiser's `step`). Every other carrier lives beside the rule it checks, in
/// namespace `latent::diag` all the same:
///   layers/seq_rules.hpp         a Seq's wiring: adjacent sizes, after Flatten, Reshape's count, the
///                                first layer, every element a layer, at least one
///   layers/dense.hpp             a Dense layer's sizes (a Gaussian head's too)
///   layers/conv_rules.hpp        convolutions and pooling: sizes, a shape before them, kernel, stride,
///                                padding, output_padding
///   layers/shape_layers.hpp      Input's and Reshape's sizes
///   layers/norm_rules.hpp        normalisation, standalone activations and dropout: something before
///                                them; GroupNorm's groups dividing the channels
///   layers/dropout.hpp           Dropout's rate
///   layers/residual.hpp          a residual branch that changes its input's shape, a projection that
///                                does not give the branch's
///   activations/activation.hpp   the activation contract, Dense's activation argument, and a fused
///                                activation whose derivative needs its input (SiLU, GELU)
///   losses/loss.hpp              the loss contract
///   losses/likelihood.hpp        the likelihood contract
///   models/regulariser.hpp       the regulariser contract
///   models/detail/model_rules.hpp  encoder and decoder wiring and shapes, VAE heads, losses on logits,
///                                conditional models, a batch where one is expected
///   models/contractive_autoencoder.hpp  a contractive encoder made of Dense layers
///   interchange/onnx.hpp         what ONNX export can write
///
/// Carriers take the sizes and check them themselves; the plain predicates they use live beside the
/// entity they describe (`latent::seq_is_wired_v`, ...) so that tests can probe them.
/// Positions count from 0.

#include <cstddef>  // std::size_t

namespace latent::diag {

// ---- positions and sizes ----------------------------------------------------------------------------
// layer_index<1> is the second element of a Seq; the others carry one size each.
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

/// False, but only once `T` is known: the condition of a carrier that fires whenever it is instantiated.
template <class T>
inline constexpr bool dependent_false = false;

/// Where a model applies a rule or a contract: to its encoder or its decoder (inside a `Seq`, the place
/// is a `layer_index<I>`).
struct in_decoder {};
struct in_encoder {};

// ---- shapes (core/shape.hpp; the rules of layers/, and of models with shaped parts) --------------------
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

/// A layer that declares `state_size` or `step_stats_size` needs both state hooks.
template <class Where, class Layer, class Scalar, bool Has>
struct layer_has_state_but_no_state_hooks {
  static_assert(Has, "latent: a layer with state (state_size or step_stats_size) needs `template <class T> static void "
                     "init_state(T* state)` and `template <class T> static void update_state(T* state, const T* "
                     "stats)`");
  static constexpr bool value = true;
};

/// An optimiser needs `step(std::span<T> params, std::span<const T> grads)`.
template <class Optimizer, class Scalar, bool Has>
struct optimizer_has_no_step {
  static_assert(Has, "latent: an optimiser needs `void step(std::span<T> params, std::span<const T> grads)` for the "
                     "model's scalar type T");
  static constexpr bool value = true;
};

}  // namespace latent::diag
