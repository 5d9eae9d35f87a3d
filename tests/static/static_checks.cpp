// Static tier: compile-time facts about latent's predicates, concepts and sizes, positive and negative.
// If this file compiles, every assertion holds; the executable itself does nothing.
//
// Only predicates that can be probed are probed here: naming a miswired Seq or a zero-sized Dense in a
// concept check instantiates it and fires its rule as a hard error (by design: the rule's readable
// diagnostic). Those are covered by tests/compile_fail; the plain predicates below are what tests and
// users can ask without an error.
#include "latent/latent.hpp"

#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <type_traits>  // std::is_same_v, std::is_assignable_v, ...

namespace {

using namespace latent;  // a test TU, not a header

// ---- Activation -------------------------------------------------------------------------------------
static_assert(Activation<Identity>);
static_assert(Activation<Relu>);
static_assert(Activation<Sigmoid>);
static_assert(Activation<Tanh>);
static_assert(Activation<Elu>);
static_assert(Activation<LeakyRelu>);
// LeakyReluWith: a slope Num / Den that every compiler takes, and g++'s double spelling.
static_assert(Activation<LeakyReluWith<1, 100>>);
static_assert(LeakyReluWith<1, 100>::slope == 0.01);
static_assert(LeakyRelu::slope == 0.3);  // 3.0 / 10.0 rounds to the same double as 0.3
static_assert(LeakyReluWith<0>::slope == 0.0);
#if defined(__cpp_nontype_template_args) && __cpp_nontype_template_args >= 201911L  // g++; not clang 14
static_assert(Activation<LeakyReluWith<0.01>>);
static_assert(LeakyReluWith<0.01>::slope == 0.01);
static_assert(LeakyReluWith<0.3>::slope == LeakyRelu::slope);
#endif
static_assert(Activation<Softplus>);
static_assert(!Activation<int>);
static_assert(!Activation<float>);
static_assert(!Activation<Dense<4, 2>>);
static_assert(!Activation<MSE>);

// ---- Layer, Head, LayerSpec -------------------------------------------------------------------------
static_assert(Layer<Dense<4, 2>>);
static_assert(Layer<Dense<4, 2, Relu>>);
static_assert(Layer<Seq<Dense<4, 3, Relu>, Dense<3, 2>>>);
static_assert(Layer<Seq<Seq<Dense<4, 3, Relu>, Dense<3, 2>>, Dense<2, 1>>>);
static_assert(Layer<Seq<Dense<8, 4, Relu>, Gaussian<2>>>);
static_assert(!Layer<int>);
static_assert(!Layer<Relu>);
static_assert(!Layer<MSE>);
static_assert(!Layer<Gaussian<2>>);  // a head learns its input size from a Seq
static_assert(Head<Gaussian<2>>);
static_assert(!Head<Dense<4, 2>>);
static_assert(!Head<int>);
static_assert(LayerSpec<Dense<4, 2>>);
static_assert(LayerSpec<Gaussian<2>>);
static_assert(LayerSpec<Seq<Dense<4, 2>>>);
static_assert(!LayerSpec<int>);
static_assert(!LayerSpec<Relu>);
static_assert(!LayerSpec<void>);

// ---- Loss -------------------------------------------------------------------------------------------
static_assert(Loss<MSE>);
static_assert(Loss<BCE>);
static_assert(Loss<BCEWithLogits>);
static_assert(!Loss<int>);
static_assert(!Loss<Relu>);
static_assert(!Loss<Dense<4, 2>>);

// ---- Dense: sizes and parameters ------------------------------------------------------------------------
static_assert(Dense<100, 20, Relu>::in_size == 100);
static_assert(Dense<100, 20, Relu>::out_size == 20);
static_assert(Dense<100, 20, Relu>::param_count == 100 * 20 + 20);
static_assert(Dense<1, 1>::param_count == 2);
static_assert(std::is_same_v<Dense<3, 2>, Dense<3, 2, Identity>>);  // Identity is the default
static_assert(std::is_same_v<Dense<3, 2, Tanh>::activation, Tanh>);

// ---- Seq: wiring predicate (rule (a)) -------------------------------------------------------------------
static_assert(seq_is_wired_v<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>>);
static_assert(seq_is_wired_v<Dense<100, 20, Relu>>);
static_assert(!seq_is_wired_v<Dense<100, 20, Relu>, Dense<21, 5, Sigmoid>>);
static_assert(!seq_is_wired_v<Dense<100, 20>, Dense<20, 10>, Dense<11, 5>>);  // the last pair
// Nested Seqs: the inner Seq's outer sizes are what count.
static_assert(seq_is_wired_v<Seq<Dense<100, 20, Relu>, Dense<20, 7>>, Dense<7, 5>>);
static_assert(!seq_is_wired_v<Seq<Dense<100, 20, Relu>, Dense<20, 7>>, Dense<8, 5>>);
static_assert(seq_is_wired_v<Dense<3, 100>, Seq<Dense<100, 20, Relu>, Dense<20, 7>>>);
static_assert(!seq_is_wired_v<Dense<3, 99>, Seq<Dense<100, 20, Relu>, Dense<20, 7>>>);
// A head takes its input size from the layer before, so it is always wired to it.
static_assert(seq_is_wired_v<Dense<100, 20, Relu>, Gaussian<5>>);
static_assert(seq_is_wired_v<Dense<100, 20, Relu>, Gaussian<5>, Dense<5, 3>>);
static_assert(!seq_is_wired_v<Dense<100, 20, Relu>, Gaussian<5>, Dense<6, 3>>);
// Not layers, or no layers at all: false, not an error.
static_assert(!seq_is_wired_v<>);
static_assert(!seq_is_wired_v<int>);
static_assert(!seq_is_wired_v<Dense<100, 20, Relu>, float>);
// An activation stands alone in a Seq as a layer of its own (issue #23), keeping its input's width.
static_assert(seq_is_wired_v<Dense<100, 20>, Relu, Dense<20, 5>>);
static_assert(!seq_is_wired_v<Dense<100, 20, Relu>, int, Dense<20, 5>>);

// ---- Seq: sizes and parameters ----------------------------------------------------------------------
using Enc = Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>>;
static_assert(Enc::in_size == 100 && Enc::out_size == 5);
static_assert(Enc::layer_count == 2);
static_assert(Enc::param_count == 100 * 20 + 20 + 20 * 5 + 5);
// Nesting regroups layers and changes no size or count.
using Flat = Seq<Dense<100, 20, Relu>, Dense<20, 7>, Dense<7, 5>>;
using Nested = Seq<Seq<Dense<100, 20, Relu>, Dense<20, 7>>, Dense<7, 5>>;
static_assert(Nested::layer_count == 2 && Flat::layer_count == 3);
static_assert(Nested::in_size == Flat::in_size && Nested::out_size == Flat::out_size);
static_assert(Nested::param_count == Flat::param_count);
static_assert(Flat::param_count == 100 * 20 + 20 + 20 * 7 + 7 + 7 * 5 + 5);
// The Seq's cache keeps each inner layer's output for the backward pass (Dense keeps nothing else).
static_assert(Enc::cache_size == 20);
static_assert(Flat::cache_size == 20 + 7);
// A Gaussian head is one linear map In -> 2Z (mean and log-variance) and outputs Z values.
using VaeEnc = Seq<Dense<100, 20, Relu>, Gaussian<5>>;
static_assert(VaeEnc::in_size == 100 && VaeEnc::out_size == 5);
static_assert(VaeEnc::param_count == 100 * 20 + 20 + 20 * 2 * 5 + 2 * 5);

// ---- Autoencoder: wiring predicate (rules (b) and (c)) --------------------------------------------------
struct Encoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct Decoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
struct LogitDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 100>> {};
struct WideCodeDecoder : Seq<Dense<6, 20, Relu>, Dense<20, 100, Sigmoid>> {};  // rule (b)
struct ShortDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 99, Sigmoid>> {};      // rule (c)
static_assert(autoencoder_is_wired_v<Encoder, Decoder>);
static_assert(autoencoder_is_wired_v<Enc, Decoder>);  // strong names and aliases alike
static_assert(autoencoder_is_wired_v<Dense<100, 5>, Dense<5, 100>>);
static_assert(!autoencoder_is_wired_v<Encoder, WideCodeDecoder>);
static_assert(!autoencoder_is_wired_v<Encoder, ShortDecoder>);
static_assert(autoencoder_is_wired_v<Decoder, Encoder>);  // swapped: 5 -> 100 -> 5, an overcomplete code
static_assert(!autoencoder_is_wired_v<int, Decoder>);
static_assert(!autoencoder_is_wired_v<Encoder, Relu>);

// ---- The logit rule's facts: the decoder's last activation, through nested Seqs --------------------------
static_assert(std::is_same_v<last_activation_t<Decoder>, Sigmoid>);
static_assert(std::is_same_v<last_activation_t<LogitDecoder>, Identity>);
static_assert(std::is_same_v<last_activation_t<Seq<Dense<4, 3>, Seq<Dense<3, 2>, Dense<2, 1, Tanh>>>>, Tanh>);
static_assert(std::is_same_v<last_activation_t<Dense<4, 2, Relu>>, Relu>);
static_assert(std::is_void_v<last_activation_t<VaeEnc>>);  // a head has no activation
static_assert(BCEWithLogits::takes_logits && !BCE::takes_logits && !MSE::takes_logits);

// ---- VAE encoder facts ------------------------------------------------------------------------------
static_assert(ends_in_gaussian_v<VaeEnc>);
static_assert(ends_in_gaussian_v<Seq<Seq<Dense<100, 20, Relu>, Dense<20, 8>>, Gaussian<5>>>);
static_assert(!ends_in_gaussian_v<Encoder>);
static_assert(!ends_in_gaussian_v<Seq<Dense<100, 20, Relu>, Gaussian<5>, Dense<5, 5>>>);
static_assert(!ends_in_gaussian_v<Seq<Dense<100, 20, Relu>, Gaussian<8>, Dense<8, 8>, Gaussian<5>>>);
static_assert(gaussian_head_count_v<Seq<Dense<100, 20, Relu>, Gaussian<8>, Dense<8, 8>, Gaussian<5>>> == 2);
static_assert(gaussian_head_count_v<Decoder> == 0);

// ---- Autoencoder: sizes, parameters and value semantics ------------------------------------------------
using Model = Autoencoder<Encoder, Decoder>;
static_assert(Model::input_size == 100 && Model::code_size == 5);
static_assert(Model::param_count == Encoder::param_count + Decoder::param_count);
static_assert(Model::param_count == (100 * 20 + 20 + 20 * 5 + 5) + (5 * 20 + 20 + 20 * 100 + 100));
static_assert(std::is_same_v<Model, Autoencoder<Encoder, Decoder, MSE, float>>);  // the defaults
static_assert(std::is_same_v<Model::scalar_type, float>);
static_assert(std::is_same_v<Model::encoder_type, Encoder> && std::is_same_v<Model::decoder_type, Decoder>);
// A model is a value: copyable and movable within its own type...
static_assert(std::is_copy_constructible_v<Model> && std::is_copy_assignable_v<Model>);
static_assert(std::is_nothrow_move_constructible_v<Model> && std::is_nothrow_move_assignable_v<Model>);
// ... but never across architectures, losses or scalars, even when the parameter counts agree.
using OtherArchitecture = Autoencoder<Seq<Dense<100, 10, Relu>, Dense<10, 5>>, Decoder>;
using OtherLoss = Autoencoder<Encoder, Decoder, BCE>;  // same parameter count as Model
using OtherScalar = Autoencoder<Encoder, Decoder, MSE, double>;
static_assert(OtherLoss::param_count == Model::param_count);
static_assert(!std::is_assignable_v<Model&, const OtherArchitecture&>);
static_assert(!std::is_assignable_v<Model&, const OtherLoss&>);
static_assert(!std::is_assignable_v<Model&, const OtherScalar&>);
static_assert(!std::is_constructible_v<Model, const OtherArchitecture&>);
static_assert(!std::is_constructible_v<Model, const OtherLoss&>);
static_assert(!std::is_convertible_v<OtherScalar, Model>);
// The seed constructor is explicit: an integer is not a model.
static_assert(std::is_constructible_v<Model, std::uint64_t> && !std::is_convertible_v<std::uint64_t, Model>);

// ---- The contract: every member the library calls, probed member by member -----------------------------
// A user layer written to the documented protocol.
struct Affine {
  [[maybe_unused]] static constexpr const char* name = "Affine";  // clang: unused in this TU
  static constexpr std::size_t in_size = 3, out_size = 3, param_count = 6, cache_size = 0, scratch_size = 0;
  template <class T>
  static void init(T*, Rng&) {}
  template <class T>
  static void forward(const T*, const T*, T*, T*, std::size_t, Context<T>&) {}
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T*, T*, T*, T*, std::size_t, Context<T>&) {}
};
struct NoBackward {
  static constexpr std::size_t in_size = 3, out_size = 3, param_count = 0, cache_size = 0, scratch_size = 0;
  template <class T>
  static void init(T*, Rng&) {}
  template <class T>
  static void forward(const T*, const T*, T*, T*, std::size_t, Context<T>&) {}
};
struct FloatOnly {  // passes written for float alone: a layer for float models, not for double ones
  static constexpr std::size_t in_size = 3, out_size = 3, param_count = 0, cache_size = 0, scratch_size = 0;
  static void init(float*, Rng&) {}
  static void forward(const float*, const float*, float*, float*, std::size_t, Context<float>&) {}
  static void backward(const float*, const float*, const float*, const float*, float*, float*, float*, float*,
                       std::size_t, Context<float>&) {}
};
static_assert(Layer<Affine> && Layer<Affine, double>);
static_assert(!Layer<NoBackward> && LayerSpec<NoBackward>);  // it has sizes: a Seq names what is missing
static_assert(Layer<FloatOnly, float> && !Layer<FloatOnly, double>);
static_assert(Layer<Dense<4, 2>, double> && Layer<Seq<Dense<4, 2>, Gaussian<1>>, double>);
static_assert(detail::defers_weight_gradients_v<Dense<4, 2>> && detail::defers_weight_gradients_v<Seq<Dense<4, 2>>>);
static_assert(!detail::defers_weight_gradients_v<Affine>);  // deferral is opt-in
static_assert(!detail::defers_weight_gradients_v<GaussianHead<4, 2>>);
// Dense is recognised by its template, not by members a user layer may also have.
static_assert(detail::is_dense_v<Dense<4, 2, Relu>> && !detail::is_dense_v<Affine>);
static_assert(all_dense_v<Seq<Dense<4, 3>, Seq<Dense<3, 2>>>> && !all_dense_v<Seq<Dense<3, 3>, Affine>>);

// An activation must take SIMD registers as well as scalars, and have a name.
struct ScalarSoftsign {
  static constexpr const char* name = "ScalarSoftsign";
  static float apply(float z) { return z / (1 + (z < 0 ? -z : z)); }
  static double apply(double z) { return z / (1 + (z < 0 ? -z : z)); }
  static float derivative(float y) { return (1 - (y < 0 ? -y : y)) * (1 - (y < 0 ? -y : y)); }
  static double derivative(double y) { return (1 - (y < 0 ? -y : y)) * (1 - (y < 0 ? -y : y)); }
};
struct Unnamed {
  template <class V>
  static V apply(const V& z) {
    return z;
  }
  template <class V>
  static V derivative(const V&) {
    return V(1);
  }
};
static_assert(!Activation<ScalarSoftsign> && detail::activation_like<ScalarSoftsign>);
static_assert(!Activation<Unnamed> && detail::activation_apply_all<Unnamed>);

// A loss needs name, value, value_and_gradient and to_mean; a likelihood its six members.
struct NoToMean {
  static constexpr const char* name = "NoToMean";
  template <class T>
  static double value(const T*, const T*, std::size_t, std::size_t) {
    return 0;
  }
  template <class T>
  static double value_and_gradient(const T*, const T*, T*, std::size_t, std::size_t, T) {
    return 0;
  }
};
static_assert(Loss<MSE> && Loss<MSE, double> && Loss<BCEWithLogits, double>);
static_assert(!Loss<NoToMean> && !Loss<Bernoulli>);  // a likelihood is not a reconstruction loss
static_assert(Likelihood<Bernoulli> && Likelihood<UnitGaussian, double> && Likelihood<LearnedGaussian>);
static_assert(!Likelihood<MSE>);
static_assert(takes_logits_v<BCEWithLogits> && !takes_logits_v<MSE> && !takes_logits_v<NoToMean>);

// Regularisers: a name and a hook; the built-in ones are regularisers too.
struct Nothing {
  static constexpr const char* name = "Nothing";
};
static_assert(Regulariser<Noise> && Regulariser<Sparsity> && Regulariser<Contraction, double>);
static_assert(!Regulariser<Nothing>);
static_assert(!detail::splittable_with(Nothing{}) && detail::splittable_with(Noise{}));
static_assert(Optimizer<Adam> && Optimizer<SGD, double> && !Optimizer<int> && !Optimizer<MSE>);

// Model facts every model has.
static_assert(Model::condition_size == 0 &&
              ConditionalVAE<Seq<Dense<12, 4, Relu>, Gaussian<2>>, Seq<Dense<4, 10>>, 2>::condition_size == 2);
static_assert(detail::not_a_batch<xt::xtensor<float, 1>> && !detail::not_a_batch<xt::xtensor<float, 2>>);

}  // namespace

int main() { return 0; }
