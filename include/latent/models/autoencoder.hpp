#pragma once
/// \file
/// `latent::Autoencoder<Encoder, Decoder, Loss, T>`: the plain autoencoder, and
/// `latent::RegularisedAutoencoder<Encoder, Decoder, Regulariser, Loss, T>` with a user's regulariser.

#include "latent/activations/identity.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/error.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/layers/signature.hpp"
#include "latent/losses/loss.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/detail/model_base.hpp"
#include "latent/models/detail/model_rules.hpp"
#include "latent/models/detail/workspace.hpp"
#include "latent/models/regulariser.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <string>       // std::string: kind()
#include <type_traits>  // std::is_floating_point_v, std::is_same_v

namespace latent {

namespace detail {
// The autoencoder rules, one carrier each; true when the model is well formed.
template <class Enc, class Dec, class L, class T>
constexpr bool check_autoencoder() {
  static_assert(check_loss<L, T>());
  if constexpr (check_parts<Enc, Dec, T>()) {
    static_assert(
        diag::decoder_input_size_does_not_match_encoder_output<diag::expects_inputs<Dec::in_size>,
                                                               diag::gives_outputs<Enc::out_size>, Dec, Enc>::value);
    static_assert(check_reconstruction<Enc, Dec>());
    static_assert(
        diag::gaussian_head_is_only_for_a_vae_encoder<diag::in_encoder, Enc, gaussian_head_count_v<Enc>>::value);
    static_assert(
        diag::gaussian_head_is_only_for_a_vae_encoder<diag::in_decoder, Dec, gaussian_head_count_v<Dec>>::value);
    if constexpr (takes_logits_v<L>)
      static_assert(
          diag::logit_loss_needs_an_identity_output_layer<L, last_activation_t<Dec>,
                                                          std::is_same_v<last_activation_t<Dec>, Identity>>::value);
  }
  return true;
}
}  // namespace detail

/// True when `Autoencoder<Enc, Dec, ...>` is well wired: decoder input = encoder output and decoder
/// output = encoder input (the predicate behind rules (b) and (c)).
template <class Enc, class Dec>
inline constexpr bool autoencoder_is_wired_v = [] {
  if constexpr (detail::layer_sizes<Enc> && detail::layer_sizes<Dec>)
    return Dec::in_size == Enc::out_size && Dec::out_size == Enc::in_size;
  else
    return false;
}();

namespace detail {

/// No regulariser: the plain autoencoder.
struct no_regulariser {
  static constexpr const char* model_name = "Autoencoder";
  static constexpr bool splittable = true;
};

/// The autoencoder family's machinery with regulariser `Reg` (see models/regulariser.hpp): input
/// corruption (denoising), a penalty on the code (sparse, or a user's), on the decoder's parameters
/// (RAE-L2), on the encoder's Jacobian (contractive) or on the decoder's (RAE-GP). Everything else — the
/// API, training entry points, architecture — is `model_base`'s.
template <class Enc, class Dec, class L, class T, class Reg>
class autoencoder_model : public model_base<autoencoder_model<Enc, Dec, L, T, Reg>, Enc, Dec, T,
                                            param_count_or_zero<Enc>() + param_count_or_zero<Dec>(),
                                            out_size_or_zero<Dec>(), out_size_or_zero<Enc>(), 0> {
  static_assert(check_autoencoder<Enc, Dec, L, T>());
  static_assert([] {
    if constexpr (std::is_same_v<Reg, no_regulariser>)
      return true;
    else
      return check_regulariser<Reg, T>();
  }());
  using base = model_base<autoencoder_model, Enc, Dec, T, param_count_or_zero<Enc>() + param_count_or_zero<Dec>(),
                          out_size_or_zero<Dec>(), out_size_or_zero<Enc>(), 0>;
  friend base;

 public:
  using loss_type = L;
  using regulariser_type = Reg;
  using base::code_size;
  using base::input_size;
  using base::param_count;

  /// Weights initialised from `seed` (Glorot uniform, zero biases): the same seed gives the same weights.
  explicit autoencoder_model(std::uint64_t seed = 0, Reg reg = {}) : base(seed), reg_(reg) { initialize(seed); }

  /// Re-draws all weights from `seed`.
  void initialize(std::uint64_t seed) {
    Rng rng(seed);
    Enc::init(this->params(), rng);
    Dec::init(this->params() + Enc::param_count, rng);
    this->init_layer_state();
    this->reseed_noise(seed);
    this->forget_backup();
  }

  /// The regulariser's settings.
  const Reg& regulariser() const noexcept { return reg_; }
  void set_regulariser(const Reg& reg) {
    if constexpr (requires { reg.validated(); })
      reg_ = reg.validated();
    else
      reg_ = reg;
  }

 protected:
  Reg reg_;

  // ---- the hooks of model_base ----------------------------------------------------------------------
  static std::string kind() {
    if constexpr (requires { Reg::model_name; }) {
      return Reg::model_name;
    } else {
      std::string k = "RegularisedAutoencoder<";
      k.append(Reg::name).append(">");
      return k;
    }
  }
  static std::string objective_name() { return L::name; }
  static constexpr double flops_per_row = 3.0 * (forward_flops<Enc>() + forward_flops<Dec>());
  bool splittable() const { return splittable_with(reg_); }

  static constexpr bool corrupts = regulariser_corrupts<Reg, T>;
  static constexpr bool penalises_code = regulariser_penalises_code<Reg, T>;
  static constexpr bool penalises_encoder = regulariser_penalises_encoder<Reg>;
  static constexpr bool penalises_decoder = regulariser_penalises_decoder<Reg, T>;
  static constexpr bool penalises_decoder_jacobian = regulariser_penalises_decoder_jacobian<Reg>;
  // Penalties that add to the layers' weight gradients themselves: a deferred weight gradient would
  // be formed over what they add (see Context::deferred), so their steps defer none.
  static constexpr bool adds_to_weight_gradients = penalises_encoder || penalises_decoder || penalises_decoder_jacobian;

  // The training workspace of one slice, per sample.
  enum part : std::size_t { enc_cache, code, dec_cache, out, dout, dcode, enc_scratch, dec_scratch, corrupted, parts };
  static constexpr workspace_layout<parts> train_layout{{Enc::cache_size, code_size, Dec::cache_size, input_size,
                                                         input_size, code_size, Enc::scratch_size, Dec::scratch_size,
                                                         corrupts ? input_size : 0}};

  // The loss summed over the slice's rows, with its gradient (scaled by `scale` = 1/batch) in s.grads.
  double slice_loss(const slice<T>& s, const T* x, const T*, T scale) {
    const std::size_t n = s.rows;
    // On several threads the layers' weight gradients may be deferred to the end of the step (see
    // Context::deferred), except where a penalty adds to the layers' weight gradients itself.
    Context<T> ctx{.training = true,
                   .rng = s.rng,
                   .grad_scale = scale,
                   .deferred = adds_to_weight_gradients ? nullptr : s.deferred};
    this->enter_training(ctx, s);
    const auto b = train_layout.carve(s.work(n * train_layout.per_sample()), n);
    const T* p = this->params();
    // A denoising model encodes a corrupted copy and is scored against the clean input.
    const T* input = x;
    if constexpr (corrupts) {
      reg_.corrupt(x, b[corrupted], n * input_size, *s.rng);
      input = b[corrupted];
    }
    Enc::forward(p, input, b[code], b[enc_cache], n, ctx);
    base::in_decoder(ctx, [&] { Dec::forward(p + Enc::param_count, b[code], b[out], b[dec_cache], n, ctx); });
    const double sum = L::value_and_gradient(b[out], x, b[dout], n, input_size, ctx.grad_scale);
    base::in_decoder(ctx, [&] {
      layer_backward_call<Dec>(p + Enc::param_count, b[code], b[out], b[dec_cache], b[dout], b[dcode],
                               s.grads + Enc::param_count, b[dec_scratch], n, ctx);
    });
    double penalty = 0;
    if constexpr (regulariser_penalises_code_with_rng<Reg, T>)
      penalty += reg_.code_penalty(b[code], b[dcode], n, code_size, ctx.grad_scale, *s.rng);
    else if constexpr (penalises_code)
      penalty += reg_.code_penalty(b[code], b[dcode], n, code_size, ctx.grad_scale);
    // A penalty on the decoder's parameters: this slice's share of the batch's term.
    if constexpr (penalises_decoder)
      penalty += static_cast<double>(n) * reg_.decoder_penalty(p + Enc::param_count, s.grads + Enc::param_count,
                                                               Dec::param_count, ctx.grad_scale * static_cast<T>(n));
    // RAE-GP: the decoder's Jacobian at the codes (its gradient to the codes joins dcode); the directions
    // are keyed by the step and the row's place in the batch, not by the slice (models/rae.hpp).
    if constexpr (penalises_decoder_jacobian)
      penalty += reg_.template decoder_jacobian_penalty<Dec>(p + Enc::param_count, b[code], b[dcode],
                                                             s.grads + Enc::param_count, n, s.first,
                                                             this->training_steps(), ctx.grad_scale);
    layer_backward_call<Enc>(p, input, b[code], b[enc_cache], b[dcode], static_cast<T*>(nullptr), s.grads,
                             b[enc_scratch], n, ctx);
    if constexpr (penalises_encoder)
      penalty += reg_.template encoder_penalty<Enc>(p, input, n, s.grads, ctx.grad_scale);
    return sum + ctx.penalty + penalty;
  }

  // Inference runs in chunks of `inference_chunk` rows, without training noise.
  void encode_rows(const T* x, const T*, std::size_t n, T* z) const {
    aligned_buffer<T> cache(base::chunk_rows(n) * Enc::cache_size);
    Context<T> ctx;
    this->enter_eval(ctx);
    base::in_chunks(n, [&](std::size_t r, std::size_t m) {
      Enc::forward(this->params(), x + r * input_size, z + r * code_size, cache.data(), m, ctx);
    });
  }
  void decode_rows(const T* z, const T*, std::size_t n, T* y) const {
    aligned_buffer<T> cache(base::chunk_rows(n) * Dec::cache_size);
    Context<T> ctx;
    this->enter_eval(ctx);
    base::in_chunks(n, [&](std::size_t r, std::size_t m) {
      base::in_decoder(ctx, [&] {
        Dec::forward(this->params() + Enc::param_count, z + r * code_size, y + r * input_size, cache.data(), m, ctx);
      });
    });
    L::to_mean(y, n * input_size);
  }
  void reconstruct_rows(const T* x, const T*, std::size_t n, T* y) const {
    aligned_buffer<T> w(base::chunk_rows(n) * forward_per_sample);
    base::in_chunks(
        n, [&](std::size_t r, std::size_t m) { forward_rows(x + r * input_size, m, y + r * input_size, w.data()); });
    L::to_mean(y, n * input_size);
  }
  double loss_rows(const T* x, const T*, std::size_t n) const {
    double total = 0;
    aligned_buffer<T> out(base::chunk_rows(n) * input_size);
    aligned_buffer<T> w(base::chunk_rows(n) * forward_per_sample);
    base::in_chunks(n, [&](std::size_t r, std::size_t m) {
      forward_rows(x + r * input_size, m, out.data(), w.data());
      total += L::value(out.data(), x + r * input_size, m, input_size);
    });
    return total / static_cast<double>(n);
  }

 private:
  static constexpr std::size_t forward_per_sample = Enc::cache_size + code_size + Dec::cache_size;
  // Encoder then decoder on m ≤ inference_chunk rows, raw decoder output (logits for a logit loss).
  void forward_rows(const T* x, std::size_t m, T* out, T* w) const {
    T* code = w + m * Enc::cache_size;
    Context<T> ctx;
    this->enter_eval(ctx);
    Enc::forward(this->params(), x, code, w, m, ctx);
    base::in_decoder(ctx,
                     [&] { Dec::forward(this->params() + Enc::param_count, code, out, code + m * code_size, m, ctx); });
  }
};

}  // namespace detail

/// An autoencoder: code = Encoder(x), reconstruction = Decoder(code), trained to minimise
/// Loss(reconstruction, x) averaged over samples.
///
/// - `Enc`, `Dec`: layers (usually `Seq<...>`, ideally with strong names: `struct Encoder : Seq<...> {};`).
/// - `L`: `MSE` (default), `BCE` (probabilities) or `BCEWithLogits` (the decoder outputs logits;
///   `decode` and `reconstruct` then return probabilities), or a user's `Loss`.
/// - `T`: the scalar, `float` (default, for training) or `double` (for gradient checks):
///   `Autoencoder<Encoder, Decoder, MSE, double>`.
///
/// Shape rules, at compile time: decoder input = encoder output
/// (`decoder_input_size_does_not_match_encoder_output`), decoder output = encoder input
/// (`decoder_output_size_does_not_match_encoder_input`), an Identity last layer for a loss on logits,
/// no `Gaussian<Z>` head (`gaussian_head_is_only_for_a_vae_encoder`). At run time, data with the wrong
/// width throws `shape_error`; empty data or NaN/Inf throws `data_error` naming the row. Rows are
/// samples. Example: examples/keras_seed.cpp.
template <class Enc, class Dec, class L = MSE, class T = float>
class Autoencoder : public detail::autoencoder_model<Enc, Dec, L, T, detail::no_regulariser> {
 public:
  /// Weights initialised from `seed` (Glorot uniform, zero biases): the same seed gives the same weights.
  explicit Autoencoder(std::uint64_t seed = 0)
      : detail::autoencoder_model<Enc, Dec, L, T, detail::no_regulariser>(seed) {}
};

/// An autoencoder trained with a user's regulariser `Reg` (see models/regulariser.hpp: a penalty on
/// the code, which may draw from the step's generator, and/or a corruption of the input): e.g. the
/// MMD penalty of a Wasserstein autoencoder. `loss` reports the reconstruction loss alone; training
/// minimises loss + penalty. Same rules and API as `Autoencoder`, plus `regulariser()` /
/// `set_regulariser`. Example: examples/custom_layer.cpp.
template <class Enc, class Dec, class Reg, class L = MSE, class T = float>
class RegularisedAutoencoder : public detail::autoencoder_model<Enc, Dec, L, T, Reg> {
 public:
  explicit RegularisedAutoencoder(std::uint64_t seed = 0, Reg reg = {})
      : detail::autoencoder_model<Enc, Dec, L, T, Reg>(seed, reg) {}
};

}  // namespace latent
