#pragma once
/// \file
/// `latent::Autoencoder<Encoder, Decoder, Loss, T>`: the plain autoencoder.

#include "latent/activations/identity.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/error.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/layers/signature.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/detail/model_storage.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <span>         // std::span
#include <string>       // std::to_string
#include <type_traits>  // std::is_floating_point_v, std::is_same_v

namespace latent {

namespace detail {
// Rules (b) and (c) and the logits rule, one carrier each; true when the model is well formed.
template <class Enc, class Dec, class L>
constexpr bool check_autoencoder() {
  static_assert(Layer<Enc>, "latent: the encoder must be a layer such as Seq<...> or Dense<In, Out, Act>");
  static_assert(Layer<Dec>, "latent: the decoder must be a layer such as Seq<...> or Dense<In, Out, Act>");
  static_assert(Loss<L>, "latent: the loss must be a loss such as MSE, BCE or BCEWithLogits");
  if constexpr (Layer<Enc> && Layer<Dec>) {
    static_assert(diag::decoder_input_size_does_not_match_encoder_output<
                  diag::expects_inputs<Dec::in_size>, diag::gives_outputs<Enc::out_size>, Dec, Enc>::value);
    static_assert(diag::decoder_output_size_does_not_match_encoder_input<
                  diag::gives_outputs<Dec::out_size>, diag::expects_inputs<Enc::in_size>, Dec, Enc>::value);
    if constexpr (requires { L::takes_logits; }) {
      if constexpr (L::takes_logits)
        static_assert(diag::logit_loss_needs_an_identity_output_layer<
                      L, last_activation_t<Dec>, std::is_same_v<last_activation_t<Dec>, Identity>>::value);
    }
  }
  return true;
}
}  // namespace detail

/// True when `Autoencoder<Enc, Dec, ...>` is well wired: decoder input = encoder output and decoder
/// output = encoder input (the predicate behind rules (b) and (c)).
template <class Enc, class Dec>
inline constexpr bool autoencoder_is_wired_v = [] {
  if constexpr (Layer<Enc> && Layer<Dec>)
    return Dec::in_size == Enc::out_size && Dec::out_size == Enc::in_size;
  else
    return false;
}();

namespace detail {

/// No regulariser: the plain autoencoder.
struct no_regulariser {
  static constexpr const char* model_name = "Autoencoder";
  static constexpr bool corrupts_input = false;
  static constexpr bool penalises_code = false;
  static constexpr bool penalises_encoder = false;
};

/// The plain autoencoder's machinery with a regulariser policy `Reg`: input corruption (denoising), a
/// penalty on the code (sparse) or on the encoder's Jacobian (contractive).
template <class Enc, class Dec, class L, class T, class Reg>
class autoencoder_model : public model_storage<T, param_count_or_zero<Enc>() + param_count_or_zero<Dec>()> {
  static_assert(std::is_floating_point_v<T>, "latent: the scalar type must be float or double");
  static_assert(check_autoencoder<Enc, Dec, L>());
  using storage = model_storage<T, param_count_or_zero<Enc>() + param_count_or_zero<Dec>()>;

 public:
  using scalar_type = T;
  using encoder_type = Enc;
  using decoder_type = Dec;
  using loss_type = L;
  static constexpr std::size_t input_size = Enc::in_size;
  static constexpr std::size_t code_size = Enc::out_size;
  static constexpr std::size_t param_count = Enc::param_count + Dec::param_count;

  /// Weights initialised from `seed` (Glorot uniform, zero biases): the same seed gives the same weights.
  explicit autoencoder_model(std::uint64_t seed = 0, Reg reg = {}) : storage(seed), reg_(reg) { initialize(seed); }

  /// Re-draws all weights from `seed`.
  void initialize(std::uint64_t seed) {
    Rng rng(seed);
    Enc::init(this->params(), rng);
    Dec::init(this->params() + Enc::param_count, rng);
    this->reseed_noise(seed);
  }

  /// The codes of the rows of `x` (n × input_size → n × code_size).
  xt::xtensor<T, 2> encode(const xt::xtensor<T, 2>& x) const {
    check_samples(x, input_size, "encode");
    return run<Enc, false>(x.data(), x.shape()[0], this->params());
  }
  /// The code of one sample.
  xt::xtensor<T, 1> encode(const xt::xtensor<T, 1>& x) const {
    check_sample(x, input_size, "encode");
    return row(run<Enc, false>(x.data(), 1, this->params()));
  }
  /// The reconstructions decoded from codes (n × code_size → n × input_size).
  xt::xtensor<T, 2> decode(const xt::xtensor<T, 2>& z) const {
    check_samples(z, code_size, "decode", "the model's code size");
    return run<Dec, true>(z.data(), z.shape()[0], this->params() + Enc::param_count);
  }
  xt::xtensor<T, 1> decode(const xt::xtensor<T, 1>& z) const {
    check_sample(z, code_size, "decode", "the model's code size");
    return row(run<Dec, true>(z.data(), 1, this->params() + Enc::param_count));
  }
  /// decode(encode(x)).
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<T, 2>& x) const {
    check_samples(x, input_size, "reconstruct");
    return reconstruct_rows(x.data(), x.shape()[0]);
  }
  xt::xtensor<T, 1> reconstruct(const xt::xtensor<T, 1>& x) const {
    check_sample(x, input_size, "reconstruct");
    return row(reconstruct_rows(x.data(), 1));
  }

  /// The mean loss over the rows of `x` (no training noise).
  double loss(const xt::xtensor<T, 2>& x) const {
    check_samples(x, input_size, "loss");
    const std::size_t n = x.shape()[0];
    double total = 0;
    aligned_buffer<T> out(storage::inference_chunk * input_size);
    storage::in_chunks(n, [&](std::size_t r, std::size_t m) {
      forward_rows(x.data() + r * input_size, m, out.data());
      total += L::value(out.data(), x.data() + r * input_size, m, input_size);
    });
    return total / static_cast<double>(n);
  }

  /// One training step on the n rows at `x` (row-major, n × input_size, already checked): computes the
  /// gradient of the batch's mean loss, then lets `opt` update the parameters. Returns the batch's mean
  /// loss. Allocates nothing once the workspace has grown to the batch size. If the loss is not finite
  /// it throws `numerical_error` and leaves the parameters unchanged.
  template <class Opt>
  double train_batch(const T* x, std::size_t n, Opt& opt) {
    return train_step(x, nullptr, n, opt);
  }

  /// The same step on rows rows[0], …, rows[n−1] of the row-major matrix at `data`, a shuffled batch
  /// without a gathered copy: each thread of the step copies its own slice's rows, so they land in its
  /// own cache (what `fit` does; the indices are not checked).
  template <class Opt>
  double train_rows(const T* data, const std::size_t* rows, std::size_t n, Opt& opt) {
    return train_step(data, rows, n, opt);
  }

  /// Computes the gradient of the mean loss over the n rows at `x` into `gradients()`, with training
  /// noise if the model has any; returns the mean loss.
  double gradient(const T* x, std::size_t n) { return gradient_impl(x, nullptr, n); }

  /// The architecture as text, e.g. "Autoencoder<Seq<Dense<100,20,Relu>,...>,Seq<...>,MSE,float>":
  /// saved files carry it.
  static std::string architecture() {
    return std::string(Reg::model_name) + "<" + signature<Enc>() + "," + signature<Dec>() + "," + L::name + "," +
           (sizeof(T) == 4 ? "float" : "double") + ">";
  }

  /// The regulariser's settings.
  const Reg& regulariser() const noexcept { return reg_; }
  void set_regulariser(const Reg& reg) { reg_ = reg.validated(); }

 protected:
  Reg reg_;

 private:
  template <class Opt>
  double train_step(const T* x, const std::size_t* index, std::size_t n, Opt& opt) {
    bool updated = false;
    const double loss = gradient_impl(x, index, n, &opt, &updated);
    if (!std::isfinite(loss)) throw numerical_error("the training loss is " + describe_non_finite(loss));
    if (!updated) this->optimizer_step(opt);
    ++this->steps_;
    return loss;
  }

  // The batch is the n rows at x, or with `index` rows index[0..n) of x, gathered slice by slice.
  // With `opt`, a multi-threaded step may also update the parameters (then *updated is true; see
  // parallel_gradient).
  template <class Opt = detail::no_optimizer>
  double gradient_impl(const T* x, const std::size_t* index, std::size_t n, Opt* opt = nullptr,
                       bool* updated = nullptr) {
    const T scale = T(1) / static_cast<T>(n);
    bool splittable = true;
    if constexpr (requires { reg_.splittable(); }) splittable = reg_.splittable();
    const double sum = this->parallel_gradient(
        n, 6.0 * param_count, splittable,
        [&](const slice<T>& s) { return slice_gradient(s.rows_of(x, index, input_size, 0), s, scale); }, opt,
        updated);
    return sum / static_cast<double>(n);
  }

  // The loss summed over the slice's rows, with its gradient (scaled by `scale` = 1/batch) in s.grads.
  double slice_gradient(const T* x, const slice<T>& s, T scale) {
    const std::size_t n = s.rows;
    // On several threads the layers' weight gradients are deferred to the end of the step (see
    // Context::deferred), except where a penalty adds to the encoder's weight gradients itself.
    Context<T> ctx{.training = true, .rng = s.rng, .grad_scale = scale,
                   .deferred = Reg::penalises_encoder ? nullptr : s.deferred};
    T* w = s.work(n * workspace_per_sample);
    T* enc_cache = w;
    T* code = enc_cache + n * Enc::cache_size;
    T* dec_cache = code + n * code_size;
    T* out = dec_cache + n * Dec::cache_size;
    T* dout = out + n * input_size;
    T* dcode = dout + n * input_size;
    // The encoder and the decoder have scratch of their own: a deferred dz must outlive both passes.
    T* enc_scratch = dcode + n * code_size;
    T* dec_scratch = enc_scratch + n * Enc::scratch_size;
    T* corrupted = dec_scratch + n * Dec::scratch_size;
    const T* p = this->params();
    // A denoising model encodes a corrupted copy and is scored against the clean input.
    const T* input = x;
    if constexpr (Reg::corrupts_input) {
      reg_.corrupt(x, corrupted, n * input_size, *s.rng);
      input = corrupted;
    }
    Enc::forward(p, input, code, enc_cache, n, ctx);
    Dec::forward(p + Enc::param_count, code, out, dec_cache, n, ctx);
    const double sum = L::value_and_gradient(out, x, dout, n, input_size, ctx.grad_scale);
    Dec::backward(p + Enc::param_count, code, out, dec_cache, dout, dcode, s.grads + Enc::param_count, dec_scratch,
                  n, ctx);
    double penalty = 0;
    if constexpr (Reg::penalises_code) penalty += reg_.code_penalty(code, dcode, n, code_size, ctx.grad_scale);
    Enc::backward(p, input, code, enc_cache, dcode, static_cast<T*>(nullptr), s.grads, enc_scratch, n, ctx);
    if constexpr (Reg::penalises_encoder)
      penalty += reg_.template encoder_penalty<Enc>(p, input, n, s.grads, ctx.grad_scale);
    return sum + ctx.penalty + penalty;
  }

  static constexpr std::size_t workspace_per_sample = Enc::cache_size + 2 * code_size + Dec::cache_size +
                                                      2 * input_size + Enc::scratch_size + Dec::scratch_size +
                                                      (Reg::corrupts_input ? input_size : 0);

  static xt::xtensor<T, 1> row(const xt::xtensor<T, 2>& m) {
    xt::xtensor<T, 1> r = xt::xtensor<T, 1>::from_shape({m.shape()[1]});
    std::copy(m.data(), m.data() + m.shape()[1], r.data());
    return r;
  }

  // Runs one network (Net = Enc or Dec) over n rows in inference mode.
  template <class Net, bool ToMean>
  xt::xtensor<T, 2> run(const T* x, std::size_t n, const T* p) const {
    xt::xtensor<T, 2> y = xt::xtensor<T, 2>::from_shape({n, Net::out_size});
    aligned_buffer<T> cache(storage::inference_chunk * Net::cache_size);
    Context<T> ctx;
    storage::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Net::forward(p, x + r * Net::in_size, y.data() + r * Net::out_size, cache.data(), m, ctx);
    });
    if constexpr (ToMean) L::to_mean(y.data(), y.size());
    return y;
  }

  // Encoder then decoder on m ≤ inference_chunk rows, raw decoder output (logits for a logit loss).
  void forward_rows(const T* x, std::size_t m, T* out) const {
    aligned_buffer<T> w(storage::inference_chunk * (Enc::cache_size + code_size + Dec::cache_size));
    T* code = w.data() + m * Enc::cache_size;
    Context<T> ctx;
    Enc::forward(this->params(), x, code, w.data(), m, ctx);
    Dec::forward(this->params() + Enc::param_count, code, out, code + m * code_size, m, ctx);
  }

  xt::xtensor<T, 2> reconstruct_rows(const T* x, std::size_t n) const {
    xt::xtensor<T, 2> y = xt::xtensor<T, 2>::from_shape({n, input_size});
    storage::in_chunks(n, [&](std::size_t r, std::size_t m) {
      forward_rows(x + r * input_size, m, y.data() + r * input_size);
    });
    L::to_mean(y.data(), y.size());
    return y;
  }
};

}  // namespace detail

/// An autoencoder: code = Encoder(x), reconstruction = Decoder(code), trained to minimise
/// Loss(reconstruction, x) averaged over samples.
///
/// - `Enc`, `Dec`: layers (usually `Seq<...>`, ideally with strong names: `struct Encoder : Seq<...> {};`).
/// - `L`: `MSE` (default), `BCE` (probabilities) or `BCEWithLogits` (the decoder outputs logits;
///   `decode` and `reconstruct` then return probabilities).
/// - `T`: the scalar, `float` (default, for training) or `double` (for gradient checks):
///   `Autoencoder<Encoder, Decoder, MSE, double>`.
///
/// Shape rules, at compile time: decoder input = encoder output
/// (`decoder_input_size_does_not_match_encoder_output`), decoder output = encoder input
/// (`decoder_output_size_does_not_match_encoder_input`), an Identity last layer for a loss on logits.
/// At run time, data with the wrong width throws `shape_error`; empty data or NaN/Inf throws
/// `data_error` naming the row. Rows are samples. Example: examples/keras_seed.cpp.
template <class Enc, class Dec, class L = MSE, class T = float>
class Autoencoder : public detail::autoencoder_model<Enc, Dec, L, T, detail::no_regulariser> {
 public:
  /// Weights initialised from `seed` (Glorot uniform, zero biases): the same seed gives the same weights.
  explicit Autoencoder(std::uint64_t seed = 0)
      : detail::autoencoder_model<Enc, Dec, L, T, detail::no_regulariser>(seed) {}
};

}  // namespace latent
