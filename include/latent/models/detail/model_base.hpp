#pragma once
/// \file
/// `latent::detail::model_base`: the skeleton every model shares — the boundary rules on its encoder
/// and decoder, `architecture()`, the training entry points and the public data API — written once
/// over a few row-level hooks of the model family (the autoencoders, the VAEs).

#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/convert.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/error.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/layers/signature.hpp"
#include "latent/models/detail/model_rules.hpp"
#include "latent/models/detail/model_storage.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <span>         // std::span
#include <string>       // std::string
#include <type_traits>  // std::remove_cvref_t, std::is_floating_point_v
#include <utility>      // std::pair
#include <vector>       // std::vector

namespace latent::detail {

/// An xtensor of another rank than 2 (e.g. one sample, `xt::xtensor<T, 1>`), which would otherwise
/// convert silently to a batch of a garbage shape where a batch is expected.
template <class E>
concept not_a_batch = requires { std::remove_cvref_t<E>::rank; } && (std::remove_cvref_t<E>::rank != 2);

/// Refuses, at compile time, an xtensor of another rank where a batch (rows are samples) is expected.
template <class E>
constexpr bool refuse_non_batch() {
  return diag::call_expects_a_batch_of_rows<std::remove_cvref_t<E>>::value;
}

/// The optimiser rule at a training entry point: `opt.step(params, grads)` for the model's scalar.
template <class Opt, class T>
constexpr bool check_optimizer() {
  static_assert(diag::optimizer_has_no_step<Opt, T, Optimizer<Opt, T>>::value);
  return Optimizer<Opt, T>;
}

/// The rules every model applies to its encoder and decoder for scalar type `T`: each is a layer with
/// every member the library calls, and (`Gaussian<Z>` apart, which the VAE rules handle) nothing else
/// is checked here. True when both are complete.
template <class Enc, class Dec, class T>
constexpr bool check_parts() {
  static_assert(std::is_floating_point_v<T>, "latent: the scalar type must be float or double");
  static_assert(diag::model_part_is_not_a_layer<diag::in_encoder, Enc, layer_sizes<Enc>>::value);
  static_assert(diag::model_part_is_not_a_layer<diag::in_decoder, Dec, layer_sizes<Dec>>::value);
  if constexpr (layer_sizes<Enc> && layer_sizes<Dec>)
    return check_layer_members<diag::in_encoder, Enc, T>() && check_layer_members<diag::in_decoder, Dec, T>();
  else
    return false;
}

/// How many values one label takes in the encoder's input: 1 for a flat encoder, a plane of H × W for
/// a shaped one (Input<C, H, W>: the labels are constant planes after the data's channels).
template <class Enc>
constexpr std::size_t condition_plane() {
  if constexpr (shaped_input<Enc>)
    return Enc::in_shape::height * Enc::in_shape::width;
  else
    return 1;
}

/// Rule (c) and its shaped form: a reconstruction has the input's shape. When the encoder's input and
/// the decoder's output are both shaped, their shapes must be equal
/// (`decoder_output_shape_does_not_match_encoder_input_shape`); otherwise their sizes, the decoder's
/// plus `Extra` (a conditional model's classes) (`decoder_output_size_does_not_match_encoder_input`).
/// A conditional model's encoder also takes `Extra` label values (`ExtraChannels` label planes when
/// it is shaped).
template <class Enc, class Dec, std::size_t Extra = 0, std::size_t ExtraChannels = 0>
constexpr bool check_reconstruction() {
  if constexpr (ExtraChannels > 0 && shaped_input<Enc> && shaped_output<Dec>) {
    using i = typename Enc::in_shape;
    using o = typename Dec::out_shape;
    static_assert(diag::conditional_encoder_shape_is_not_image_plus_class_planes<
                  diag::image_shape<o::channels, o::height, o::width>, diag::plus_classes<ExtraChannels>,
                  diag::expects_shape<i::channels, i::height, i::width>, Dec, Enc>::value);
  } else if constexpr (shaped_input<Enc> && shaped_output<Dec>) {
    using i = typename Enc::in_shape;
    using o = typename Dec::out_shape;
    static_assert(diag::decoder_output_shape_does_not_match_encoder_input_shape<
                  diag::gives_shape<o::channels + ExtraChannels, o::height, o::width>,
                  diag::expects_shape<i::channels, i::height, i::width>, Dec, Enc>::value);
  } else {
    static_assert(
        diag::decoder_output_size_does_not_match_encoder_input<diag::gives_outputs<Dec::out_size + Extra>,
                                                               diag::expects_inputs<Enc::in_size>, Dec, Enc>::value);
  }
  return true;
}

/// The skeleton of a model with encoder `Enc`, decoder `Dec`, scalar `T`, `P` parameters, `D` inputs,
/// a code of `Z` values and `C` condition inputs (one-hot classes; 0 when unconditional). The
/// family `Derived` provides the row-level hooks, each on n row-major rows (conditions `c`, n × C
/// one-hot rows, or null for an unconditional model):
///
///     static std::string kind();             // "Autoencoder", "VAE", "IWAE<5>", ...
///     static std::string objective_name();   // the loss's or likelihood's name
///     static constexpr double flops_per_row;  // of one training step, to choose the threads
///     bool splittable() const;                // may a step be split over threads by rows?
///     double slice_loss(const slice<T>&, const T* x, const T* c, T scale);  // summed; gradient into the slice
///     void encode_rows(const T* x, const T* c, std::size_t n, T* z) const;
///     void decode_rows(const T* z, const T* c, std::size_t n, T* out) const;   // the reconstruction's mean
///     void reconstruct_rows(const T* x, const T* c, std::size_t n, T* out) const;
///     double loss_rows(const T* x, const T* c, std::size_t n) const;          // mean over the rows
///
/// and gets the public API of an unconditional model. (The conditional VAE declares its own forms,
/// with labels, which hide these.) A family with state of its own beyond its layers' (`OwnState`
/// values, `OwnStats` values of statistics per step; a VAE's stateful code prior) keeps it after the
/// layers' and provides
///
///     void update_own_state(T* state, const T* stats);  // once per training step, after the layers'
template <class Derived, class Enc, class Dec, class T, std::size_t P, std::size_t D, std::size_t Z, std::size_t C,
          std::size_t OwnState = 0, std::size_t OwnStats = 0>
class model_base : public model_storage<T, P> {
 public:
  using scalar_type = T;
  using encoder_type = Enc;
  using decoder_type = Dec;
  static constexpr std::size_t input_size = D;      ///< the data's width
  static constexpr std::size_t code_size = Z;       ///< the code's width
  static constexpr std::size_t condition_size = C;  ///< classes of a conditional model, else 0
  static constexpr std::size_t param_count = P;
  /// Values of the layers' state (BatchNorm's running statistics; 0 for a model without stateful layers),
  /// then the model's own (a FactorVAE's discriminator).
  static constexpr std::size_t state_size = state_size_of<Enc>() + state_size_of<Dec>() + OwnState;
  /// Values of the statistics a training step gathers for the state (summed over processes).
  static constexpr std::size_t step_stats_size = step_stats_size_of<Enc>() + step_stats_size_of<Dec>() + OwnStats;

  /// The architecture as text, e.g. "Autoencoder<Seq<Dense<100,20,Relu>,...>,Seq<...>,MSE,float>":
  /// saved files carry it, and `load` refuses a file of another architecture by it.
  static std::string architecture() {
    std::string s = Derived::kind();
    s.append("<").append(signature<Enc>()).append(",").append(signature<Dec>()).append(",");
    s.append(Derived::objective_name()).append(",").append(sizeof(T) == 4 ? "float" : "double").append(">");
    return s;
  }

  // ---- training -----------------------------------------------------------------------------------

  /// One training step on the n rows at `x` (row-major, n × input_size; not checked for speed): the
  /// gradient of the batch's mean loss, then one update by `opt`. Returns the mean loss. Allocates
  /// nothing once the workspaces have grown to the batch. Throws `option_error` for n = 0 and
  /// `numerical_error` for a non-finite loss or update (see `model_storage::train_step`).
  template <class Opt>
  double train_batch(const T* x, std::size_t n, Opt& opt) {
    return train_impl("train_batch", x, nullptr, nullptr, n, opt);
  }
  /// The same step on rows rows[0], …, rows[n−1] of the row-major matrix at `data`, a shuffled batch
  /// without a gathered copy: each thread of the step copies its own slice's rows, so they land in its
  /// own cache (what `fit` does; the indices are not checked).
  template <class Opt>
  double train_rows(const T* data, const std::size_t* rows, std::size_t n, Opt& opt) {
    return train_impl("train_rows", data, nullptr, rows, n, opt);
  }
  /// One data-parallel step (what `fit` does with a communicator): this process's rows rows[0..n) of
  /// `data` (and their conditions at `c`, or null), of a global batch of `global_n` rows; `reduce`
  /// sums the gradient and loss over the processes (see `model_storage::train_step_reduced`).
  template <class Opt, class Reduce>
  double train_rows_reduced(const T* data, const T* c, const std::size_t* rows, std::size_t n, std::size_t global_n,
                            Opt& opt, Reduce&& reduce) {
    static_assert(check_optimizer<Opt, T>());
    if constexpr (requires { opt.set_bias_ranges(bias_ranges()); }) opt.set_bias_ranges(bias_ranges());
    const auto fn = slices(data, c, rows, global_n);
    const auto update_fn = [this](T* state, const T* stats) { update_model_state(state, stats); };
    const typename base_storage::state_update update = update_fn;
    return this->train_step_reduced("fit", n, global_n, Derived::flops_per_row, self().splittable(), fn,
                                    optimizer_ref<T>(opt), reduce, stateful_model ? &update : nullptr);
  }

  /// The gradient of the mean training loss over the n rows at `x` into `gradients()` (with training
  /// noise, if the model has any); returns the mean loss. `option_error` for n = 0.
  double gradient(const T* x, std::size_t n) { return gradient_impl("gradient", x, nullptr, nullptr, n); }

  // ---- inference (rows are samples; one sample as a vector) ----------------------------------------

  /// The codes of the rows of `x` (n × input_size → n × code_size); for a VAE, the means μ(x).
  xt::xtensor<T, 2> encode(const xt::xtensor<T, 2>& x) const {
    check_samples(x, input_size, "encode");
    return rows_through(x, code_size,
                        [&](const T* in, std::size_t n, T* out) { self().encode_rows(in, nullptr, n, out); });
  }
  xt::xtensor<T, 1> encode(const xt::xtensor<T, 1>& x) const {
    check_sample(x, input_size, "encode");
    return one_through(x, code_size, [&](const T* in, T* out) { self().encode_rows(in, nullptr, 1, out); });
  }
  /// The reconstructions' means decoded from codes (n × code_size → n × input_size).
  xt::xtensor<T, 2> decode(const xt::xtensor<T, 2>& z) const {
    check_samples(z, code_size, "decode", "the model's code size");
    return rows_through(z, input_size,
                        [&](const T* in, std::size_t n, T* out) { self().decode_rows(in, nullptr, n, out); });
  }
  xt::xtensor<T, 1> decode(const xt::xtensor<T, 1>& z) const {
    check_sample(z, code_size, "decode", "the model's code size");
    return one_through(z, input_size, [&](const T* in, T* out) { self().decode_rows(in, nullptr, 1, out); });
  }
  /// decode(encode(x)).
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<T, 2>& x) const {
    check_samples(x, input_size, "reconstruct");
    return rows_through(x, input_size,
                        [&](const T* in, std::size_t n, T* out) { self().reconstruct_rows(in, nullptr, n, out); });
  }
  xt::xtensor<T, 1> reconstruct(const xt::xtensor<T, 1>& x) const {
    check_sample(x, input_size, "reconstruct");
    return one_through(x, input_size, [&](const T* in, T* out) { self().reconstruct_rows(in, nullptr, 1, out); });
  }

  /// Which packed parameters are biases: sorted, disjoint, half-open [first, last) index ranges into
  /// `parameters()` (and `gradients()`) — the last `bias_count` parameters of every layer that declares
  /// `bias_count` (a `Seq` contributes its layers'; a user layer without it contributes none), then
  /// [encoder + decoder parameters, param_count) when a likelihood has parameters of its own (a learned
  /// variance). The span views a function-local static, valid for the whole program. Optimisers read it
  /// (`set_bias_ranges`) to spare biases from weight decay.
  static std::span<const std::pair<std::size_t, std::size_t>> bias_ranges() {
    static const std::vector<std::pair<std::size_t, std::size_t>> ranges = [] {
      std::vector<std::pair<std::size_t, std::size_t>> r;
      constexpr std::size_t enc = param_count_or_zero<Enc>(), dec = param_count_or_zero<Dec>();
      append_bias_ranges<Enc>(r, 0);
      append_bias_ranges<Dec>(r, enc);
      if constexpr (P > enc + dec) r.emplace_back(enc + dec, P);
      return r;
    }();
    return ranges;
  }

  /// The mean loss over the rows of `x`, without training noise (for a VAE: −ELBO, reproducibly).
  double loss(const xt::xtensor<T, 2>& x) const {
    check_samples(x, input_size, "loss");
    return self().loss_rows(x.data(), nullptr, x.shape()[0]);
  }
  /// Anything but a batch (e.g. one sample) is refused at compile time rather than converted.
  template <not_a_batch E>
  double loss(const E&) const {
    return refuse_non_batch<E>();
  }

  /// The loss of each row of `x` on its own (n values, without training noise; their mean is
  /// `loss(x)` for a model without sampling): rank rows by it to find anomalies. Each row is evaluated
  /// as a batch of one, so this costs more per row than `loss`.
  xt::xtensor<double, 1> loss_per_sample(const xt::xtensor<T, 2>& x) const {
    check_samples(x, input_size, "loss_per_sample");
    return per_row(x.shape()[0], [&](std::size_t r) { return self().loss_rows(x.data() + r * D, nullptr, 1); });
  }

  // ---- data of the other scalar type ---------------------------------------------------------------
  /// Each call above also takes data of the other floating-point type (float rows for a double
  /// model): it is converted once with `as_scalar<T>` (a copy), and results are in the model's type.
  template <other_scalar<T> U, std::size_t N>
  xt::xtensor<T, N> encode(const xt::xtensor<U, N>& x) const {
    return encode(as_scalar<T>(x));
  }
  template <other_scalar<T> U, std::size_t N>
  xt::xtensor<T, N> decode(const xt::xtensor<U, N>& z) const {
    return decode(as_scalar<T>(z));
  }
  template <other_scalar<T> U, std::size_t N>
  xt::xtensor<T, N> reconstruct(const xt::xtensor<U, N>& x) const {
    return reconstruct(as_scalar<T>(x));
  }
  template <other_scalar<T> U>
  double loss(const xt::xtensor<U, 2>& x) const {
    return loss(as_scalar<T>(x));
  }
  template <other_scalar<T> U>
  xt::xtensor<double, 1> loss_per_sample(const xt::xtensor<U, 2>& x) const {
    return loss_per_sample(as_scalar<T>(x));
  }

 protected:
  using base_storage = model_storage<T, P>;
  explicit model_base(std::uint64_t seed)
      : model_storage<T, P>(seed, state_size, step_stats_size, shared_per_row_of<Enc>() + shared_per_row_of<Dec>()) {}

  // ---- layers with state (see the layer contract in core/concepts.hpp) ------------------------------
  static constexpr bool stateful_model = (state_size + step_stats_size) > 0;
  /// The layers' initial state: the encoder's at 0, the decoder's after it.
  void init_layer_state() {
    if constexpr (stateful<Enc>) Enc::init_state(this->state_data());
    if constexpr (stateful<Dec>) Dec::init_state(this->state_data() + state_size_of<Enc>());
  }
  static void update_layer_state(T* state, const T* stats) {
    if constexpr (stateful<Enc>) Enc::update_state(state, stats);
    if constexpr (stateful<Dec>) Dec::update_state(state + state_size_of<Enc>(), stats + step_stats_size_of<Enc>());
  }
  /// Where the model's own state and statistics start (after the layers').
  static constexpr std::size_t own_state_offset = state_size - OwnState, own_stats_offset = step_stats_size - OwnStats;
  void update_model_state(T* state, const T* stats) {
    update_layer_state(state, stats);
    if constexpr (OwnState + OwnStats > 0) self().update_own_state(state + own_state_offset, stats + own_stats_offset);
  }
  /// Runs `f` (a pass of the decoder) with the context pointed at the decoder's part of the state,
  /// statistics and shared rows (the encoder's part starts at 0).
  template <class F>
  static void in_decoder(Context<T>& ctx, F&& f) {
    in_layer_context<Dec>(ctx, state_size_of<Enc>(), step_stats_size_of<Enc>(), shared_per_row_of<Enc>(), f);
  }
  /// A training slice's context: train mode, the layers' state, the slice's statistics and shared rows.
  void enter_training(Context<T>& ctx, const slice<T>& s) const noexcept {
    ctx.mode = Mode::train;
    ctx.state = this->state_data();
    ctx.stats = s.stats;
    ctx.batch = s.batch;
  }
  /// An evaluation's context: eval mode (the default), the layers' state.
  void enter_eval(Context<T>& ctx) const noexcept { ctx.state = this->state_data(); }

  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
  Derived& self() noexcept { return static_cast<Derived&>(*this); }

  // The batch is the n rows at x (and c), or with `index` rows index[0..n) of them, gathered slice by slice.
  template <class Opt>
  double train_impl(const char* where, const T* x, const T* c, const std::size_t* index, std::size_t n, Opt& opt) {
    static_assert(check_optimizer<Opt, T>());
    if constexpr (requires { opt.set_bias_ranges(bias_ranges()); }) opt.set_bias_ranges(bias_ranges());
    const auto fn = slices(x, c, index, n);
    const auto update_fn = [this](T* state, const T* stats) { update_model_state(state, stats); };
    const typename base_storage::state_update update = update_fn;
    return this->train_step(where, n, Derived::flops_per_row, self().splittable(), fn, optimizer_ref<T>(opt),
                            stateful_model ? &update : nullptr);
  }
  double gradient_impl(const char* where, const T* x, const T* c, const std::size_t* index, std::size_t n) {
    const auto fn = slices(x, c, index, n);
    return this->gradient_step(where, n, Derived::flops_per_row, self().splittable(), fn);
  }

  // fn(r) for each row r, into n values.
  template <class F>
  static xt::xtensor<double, 1> per_row(std::size_t n, const F& fn) {
    xt::xtensor<double, 1> out = xt::xtensor<double, 1>::from_shape({n});
    for (std::size_t r = 0; r < n; ++r) out(r) = fn(r);
    return out;
  }

  // Runs fn(in, m, out) over the rows of `in` into a new n × width matrix.
  template <class F>
  static xt::xtensor<T, 2> rows_through(const xt::xtensor<T, 2>& in, std::size_t width, const F& fn) {
    xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({in.shape()[0], width});
    fn(in.data(), in.shape()[0], out.data());
    return out;
  }
  template <class F>
  static xt::xtensor<T, 1> one_through(const xt::xtensor<T, 1>& in, std::size_t width, const F& fn) {
    xt::xtensor<T, 1> out = xt::xtensor<T, 1>::from_shape({width});
    fn(in.data(), out.data());
    return out;
  }

 private:
  auto slices(const T* x, const T* c, const std::size_t* index, std::size_t n) {
    const T scale = T(1) / static_cast<T>(n == 0 ? 1 : n);
    return [this, x, c, index, scale](const slice<T>& s) {
      return self().slice_loss(s, s.rows_of(x, index, input_size, 0), s.rows_of(c, index, condition_size, 1), scale);
    };
  }
};

}  // namespace latent::detail
