#pragma once
/// \file
/// `latent::SparseDictionary<In, Latents, Activation>`: the sparse autoencoder that interpretability
/// research trains on a network's activations, with the field's activations (`TopK<K>` as OpenAI,
/// `BatchTopK<K>`, `JumpRelu` as DeepMind, `ReluL1` as Anthropic), sparse kernels generated for its
/// sizes, unit-norm dictionary atoms, dead-latent counters kept as model state and the AuxK loss that
/// revives dead latents. docs/sparse-dictionaries.md has the definitions and their sources.

#include "latent/core/checks.hpp"
#include "latent/core/convert.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/gemm.hpp"
#include "latent/kernels/sparse.hpp"
#include "latent/models/detail/model_base.hpp"  // check_optimizer, not_a_batch
#include "latent/models/detail/model_storage.hpp"

#include <xtensor/xbuilder.hpp>  // xt::zeros: dense codes
#include <xtensor/xtensor.hpp>   // xt::xtensor: data at the public API

#include <algorithm>  // std::fill_n, std::copy_n, std::min, std::max
#include <bit>        // std::bit_cast: BatchTopK's radix selection on the values' bits
#include <limits>     // std::numeric_limits: the cut when every positive value is kept
#include <cmath>      // std::sqrt, std::isfinite, std::abs
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint32_t, std::uint64_t
#include <type_traits>  // std::integral_constant: the scratch arrays' slots
#include <span>       // std::span
#include <string>     // std::string, std::to_string
#include <utility>    // std::pair
#include <vector>     // std::vector: the dead latents' list (sized once)

namespace latent {

/// The TopK activation of a sparse dictionary (OpenAI, "Scaling and evaluating sparse autoencoders",
/// 2024): each row keeps its `K` largest pre-activations, through a ReLU; every other latent is 0.
/// Unit-norm atoms; AuxK revives dead latents.
template <std::size_t K>
struct TopK {
  static constexpr std::size_t k = K;  ///< active latents per row (at most)
  static constexpr bool unit_norm_atoms = true, aux_k = true, learned_threshold = false, batch_threshold = false;
  static std::string signature() { return "TopK<" + std::to_string(K) + ">"; }
};

/// The BatchTopK activation (Bussmann, Leask & Nanda, 2024; dictionary_learning): in training, the
/// K·B largest pre-activations of the whole step's batch of B rows (every thread's slice together:
/// the same selection on one thread as on two) through a ReLU, so a row may keep more or fewer than K;
/// the smallest kept value of each step feeds a threshold θ kept as state (θ ← 0.999·θ + 0.001·value,
/// the first step's value as it is), and inference is a JumpReLU at θ: z_j = pre_j·1[pre_j > θ] (per-row
/// TopK until a first training step has set θ). Unit-norm atoms; AuxK.
template <std::size_t K>
struct BatchTopK {
  static constexpr std::size_t k = K;  ///< active latents per row on average over a training batch
  static constexpr bool unit_norm_atoms = true, aux_k = true, learned_threshold = false, batch_threshold = true;
  static std::string signature() { return "BatchTopK<" + std::to_string(K) + ">"; }
};

/// The JumpReLU activation (Rajamanoharan et al., "Jumping ahead", DeepMind 2024; Gemma Scope):
/// z_j = pre_j · H(pre_j − θ_j) with a learned threshold θ_j = exp(t_j) per latent, and an L0 penalty
/// λ·Σ_j H(pre_j − θ_j) (`DictionaryOptions::l0_coefficient`). H has no useful derivative: θ is trained
/// through the straight-through rectangle pseudo-derivatives of bandwidth ε
/// (`DictionaryOptions::jump_bandwidth`): ∂z_j/∂θ_j = −(θ_j/ε)·1[|pre_j − θ_j| < ε/2] and
/// ∂H/∂θ_j = −(1/ε)·1[|pre_j − θ_j| < ε/2]; ∂z_j/∂pre_j = H. Unit-norm atoms.
struct JumpRelu {
  static constexpr std::size_t k = 0;  ///< no fixed count: as many as pass their threshold
  static constexpr bool unit_norm_atoms = true, aux_k = false, learned_threshold = true, batch_threshold = false;
  static std::string signature() { return "JumpRelu"; }
};

/// ReLU with an L1 penalty weighted by the atoms' norms (Anthropic, "Towards monosemanticity" and its
/// April 2024 update): z = ReLU(pre), penalty λ·Σ_j z_j·‖W_dec,j‖ (`DictionaryOptions::l1_coefficient`);
/// the atoms' norms are free (the penalty holds them), so they are not renormalised.
struct ReluL1 {
  static constexpr std::size_t k = 0;
  static constexpr bool unit_norm_atoms = false, aux_k = false, learned_threshold = false, batch_threshold = false;
  static std::string signature() { return "ReluL1"; }
};

/// The training settings of a `SparseDictionary` (defaults and sources in docs/sparse-dictionaries.md).
struct DictionaryOptions {
  /// Weight of the AuxK loss (OpenAI: 1/32); 0 turns it off.
  double aux_weight = 1.0 / 32;
  /// Dead latents the AuxK loss reconstructs the residual with (OpenAI, SAELens: half the input
  /// width); 0 chooses In / 2.
  std::size_t aux_k = 0;
  /// A latent is dead when it has not fired for this many training rows (tokens) (OpenAI: 10 M).
  double dead_after_tokens = 10'000'000;
  /// ReluL1: λ of the penalty λ·Σ_j z_j·‖W_dec,j‖ (per row, as the reconstruction error).
  double l1_coefficient = 5.0;
  /// JumpRelu: λ of the L0 penalty λ·Σ_j H(pre_j − θ_j) (per row).
  double l0_coefficient = 1.0;
  /// JumpRelu: ε, the width of the rectangle of the thresholds' pseudo-derivatives (DeepMind, SAELens: 0.001).
  double jump_bandwidth = 0.001;
  /// JumpRelu: θ at initialisation, for every latent (DeepMind, SAELens: 0.001).
  double initial_threshold = 0.001;
  /// Rows of a training step's encoder product at a time (its pre-activations, rows × Latents, stay
  /// this large; the encoder's weights are packed once per block).
  std::size_t block_rows = 1024;

  /// The options, checked: `option_error` naming the field, what was expected and what was found.
  DictionaryOptions validated() const {
    if (!(aux_weight >= 0) || !std::isfinite(aux_weight))
      throw option_error("DictionaryOptions: expected aux_weight >= 0, found " + std::to_string(aux_weight));
    if (!(dead_after_tokens > 0) || !std::isfinite(dead_after_tokens))
      throw option_error("DictionaryOptions: expected dead_after_tokens > 0, found " +
                         std::to_string(dead_after_tokens));
    if (block_rows == 0) throw option_error("DictionaryOptions: expected block_rows >= 1, found 0");
    for (const auto& [name, v] : {std::pair{"l1_coefficient", l1_coefficient}, std::pair{"l0_coefficient", l0_coefficient}})
      if (!(v >= 0) || !std::isfinite(v))
        throw option_error(std::string("DictionaryOptions: expected ") + name + " >= 0, found " + std::to_string(v));
    for (const auto& [name, v] :
         {std::pair{"jump_bandwidth", jump_bandwidth}, std::pair{"initial_threshold", initial_threshold}})
      if (!(v > 0) || !std::isfinite(v))
        throw option_error(std::string("DictionaryOptions: expected ") + name + " > 0, found " + std::to_string(v));
    return *this;
  }
};

namespace diag {
/// TopK<K> keeps K of the dictionary's latents: K must be at least 1 and at most Latents.
template <class Activation, std::size_t Latents, bool Fits>
struct topk_keeps_more_latents_than_the_dictionary_has {
  static_assert(Fits, "latent: TopK<K> in a SparseDictionary must keep between 1 and Latents latents");
  static constexpr bool value = true;
};
/// A dictionary needs inputs and latents.
template <std::size_t In, std::size_t Latents, bool Sized>
struct sparse_dictionary_has_a_zero_size {
  static_assert(Sized, "latent: a SparseDictionary needs In >= 1 inputs and Latents >= 1 latents");
  static constexpr bool value = true;
};
}  // namespace diag

/// A sparse dictionary (a sparse autoencoder on activations) of `In` inputs and `Latents` latents with
/// activation `Act` (`TopK<K>`, `BatchTopK<K>`, `JumpRelu`, `ReluL1`), in scalar type `T`:
///
///     pre = W_enc (x − b_dec) + b_enc,  z = Act(pre),  x̂ = W_decᵀ z + b_dec,
///     loss = Σ_i (x̂_i − x_i)²  (per row, mean over the batch; SAELens's MSE)  + the activation's
///            penalty (JumpRelu: λ·L0; ReluL1: λ·Σ z_j‖W_dec,j‖)  + AuxK (TopK, BatchTopK)
///
/// Parameters, packed: W_enc [Latents][In] (row j: latent j's encoder direction), b_enc [Latents],
/// W_dec [Latents][In] (row j: dictionary atom j), b_dec [In], then for JumpRelu log θ [Latents].
/// State: for each latent the training rows since it last fired (its dead-latent counter), then for
/// BatchTopK the inference threshold θ. With unit-norm atoms (all but ReluL1) the decoder's rows are
/// renormalised after every step, and before it the gradient's component along each row is removed
/// (OpenAI's rule). The encoder product is a dense packed product; the decoder, both weight gradients
/// and the code's gradient touch only the active latents of each row. docs/sparse-dictionaries.md;
/// example: examples/sae_superposition.cpp.
template <std::size_t In, std::size_t Latents, class Act = TopK<32>, class T = float>
class SparseDictionary
    : public detail::model_storage<T, 2 * In * Latents + Latents + In + (Act::learned_threshold ? Latents : 0)> {
  static_assert(diag::sparse_dictionary_has_a_zero_size<In, Latents, (In > 0 && Latents > 0)>::value);
  static_assert(diag::topk_keeps_more_latents_than_the_dictionary_has<
                Act, Latents, (!Act::aux_k || (Act::k >= 1 && Act::k <= Latents))>::value);
  using storage =
      detail::model_storage<T, 2 * In * Latents + Latents + In + (Act::learned_threshold ? Latents : 0)>;
  static constexpr bool top_k = Act::aux_k && !Act::batch_threshold;  // a fixed number per row (TopK)
  static constexpr bool batch_k = Act::batch_threshold;                  // K·B over the batch (BatchTopK)
  static constexpr std::size_t radix_bins = 256;                         // BatchTopK's selection, a byte a pass

 public:
  using scalar_type = T;
  using activation_type = Act;
  static constexpr std::size_t input_size = In;       ///< the activations' width (d_in)
  static constexpr std::size_t latents = Latents;     ///< the dictionary's size (d_sae)
  static constexpr std::size_t code_size = Latents;   ///< codes as dense rows of `latents` values
  static constexpr std::size_t condition_size = 0;
  static constexpr std::size_t k = Act::k;            ///< active latents per row (TopK; 0: not fixed)
  static constexpr std::size_t param_count = storage::param_count;
  /// Where each tensor starts in `parameters()` (JumpRelu: then log θ, one per latent).
  static constexpr std::size_t encoder_weights_at = 0, encoder_bias_at = In * Latents,
                               decoder_weights_at = In * Latents + Latents, decoder_bias_at = 2 * In * Latents + Latents,
                               log_threshold_at = 2 * In * Latents + Latents + In;
  /// State: the rows since each latent last fired. Statistics of a step: how many rows each latent
  /// fired in, then the step's rows (summed over threads and processes).
  static constexpr std::size_t state_size = Latents + (batch_k ? 1 : 0);  // BatchTopK: then θ
  static constexpr std::size_t step_stats_size = Latents + 1 + (batch_k ? 2 : 0);  // BatchTopK: Σθ, count
  /// Of a training step per row: the encoder product, and the sparse parts (decoder, three gradients).
  static constexpr double flops_per_row = 2.0 * In * Latents + 8.0 * (top_k ? Act::k : 32) * In;

  /// "SparseDictionary<768,16384,TopK<32>,float>": saved files carry it.
  static std::string architecture() {
    return "SparseDictionary<" + std::to_string(In) + "," + std::to_string(Latents) + "," + Act::signature() + "," +
           (sizeof(T) == 4 ? "float" : "double") + ">";
  }

  /// A dictionary initialised from `seed`: atoms (W_dec's rows) Gaussian directions of unit norm, the
  /// encoder their copy (W_enc = W_dec, OpenAI's "encoder as the decoder's transpose"), both biases 0;
  /// every latent alive. `option_error` for invalid options.
  explicit SparseDictionary(std::uint64_t seed = 0, DictionaryOptions options = {})
      : storage(seed, state_size, step_stats_size, batch_k ? 2 * radix_bins : 0), options_(options.validated()) {
    dead_.reserve(Latents);
    initialize(seed);
  }

  /// Re-initialises the parameters from `seed` and every dead-latent counter to 0.
  void initialize(std::uint64_t seed) {
    // A stream of its own (not Rng(seed)'s): a dictionary seeded like a data generator that draws
    // Gaussian directions from Rng(seed) must not start as a copy of its features.
    Rng rng(seed * 0x9E3779B97F4A7C15ULL + 0x5AE0D1C7ULL);
    T* p = this->params();
    T* wd = p + decoder_weights_at;
    for (std::size_t j = 0; j < Latents; ++j) {
      double norm = 0;
      for (std::size_t i = 0; i < In; ++i) {
        const double v = rng.normal();
        wd[j * In + i] = static_cast<T>(v);
        norm += v * v;
      }
      const T inv = static_cast<T>(1.0 / std::sqrt(norm > 0 ? norm : 1.0));
      for (std::size_t i = 0; i < In; ++i) wd[j * In + i] *= inv;
    }
    std::copy_n(wd, In * Latents, p + encoder_weights_at);
    std::fill_n(p + encoder_bias_at, Latents, T(0));
    std::fill_n(p + decoder_bias_at, In, T(0));
    if constexpr (Act::learned_threshold)
      std::fill_n(p + log_threshold_at, Latents, static_cast<T>(std::log(options_.initial_threshold)));
    std::fill_n(this->state_data(), state_size, T(0));
    this->forget_backup();
  }

  const DictionaryOptions& options() const noexcept { return options_; }
  void set_options(const DictionaryOptions& o) { options_ = o.validated(); }

  /// b_dec from the geometric median of `sample`'s rows (Weiszfeld's iteration; OpenAI initialises
  /// b_dec so): the point that minimises the sum of distances to the rows. `shape_error` for a sample of
  /// another width, `data_error` for an empty one or one with NaN/Inf.
  void initialize_decoder_bias(const xt::xtensor<T, 2>& sample, std::size_t iterations = 100) {
    detail::check_samples(sample, In, "initialize_decoder_bias");
    const std::size_t n = sample.shape()[0];
    if (n == 0) throw data_error("initialize_decoder_bias: expected at least 1 row, found 0");
    std::vector<double> m(In, 0.0), next(In);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t i = 0; i < In; ++i) m[i] += static_cast<double>(sample(r, i)) / static_cast<double>(n);
    for (std::size_t it = 0; it < iterations; ++it) {
      std::fill(next.begin(), next.end(), 0.0);
      double weights = 0, moved = 0;
      for (std::size_t r = 0; r < n; ++r) {
        double d2 = 0;
        for (std::size_t i = 0; i < In; ++i) {
          const double d = static_cast<double>(sample(r, i)) - m[i];
          d2 += d * d;
        }
        const double w = 1.0 / std::max(std::sqrt(d2), 1e-12);
        weights += w;
        for (std::size_t i = 0; i < In; ++i) next[i] += w * static_cast<double>(sample(r, i));
      }
      for (std::size_t i = 0; i < In; ++i) {
        const double v = next[i] / weights;
        moved = std::max(moved, std::abs(v - m[i]));
        m[i] = v;
      }
      if (moved < 1e-9) break;
    }
    T* b = this->parameters().data() + decoder_bias_at;
    for (std::size_t i = 0; i < In; ++i) b[i] = static_cast<T>(m[i]);
    this->forget_backup();
  }

  // ---- state ---------------------------------------------------------------------------------------

  /// Training rows since latent j last fired (`state()[j]`).
  std::span<const T> rows_since_fired() const noexcept { return this->state().first(Latents); }
  /// Latents that have not fired for `options().dead_after_tokens` training rows.
  std::size_t dead_latents() const noexcept {
    std::size_t d = 0;
    for (const T v : rows_since_fired()) d += static_cast<double>(v) >= options_.dead_after_tokens ? 1 : 0;
    return d;
  }
  /// BatchTopK: the inference threshold θ (state; 0 until a first training step).
  T batch_threshold() const noexcept {
    if constexpr (batch_k)
      return this->state()[Latents];
    else
      return T(0);
  }

  // ---- training ------------------------------------------------------------------------------------

  /// One training step on the n rows at `x` (n × In): the gradient of the batch's mean loss, the
  /// atoms' gradients made orthogonal to the atoms, one update by `opt`, the atoms renormalised, the
  /// dead-latent counters advanced. Returns the mean loss (with AuxK). `option_error` for n = 0,
  /// `numerical_error` for a non-finite loss or update (the last good weights and state are kept).
  template <class Opt>
  double train_batch(const T* x, std::size_t n, Opt& opt) {
    return train_impl("train_batch", x, nullptr, n, opt);
  }
  /// The same step on rows rows[0..n) of the row-major matrix at `data` (what `fit` does).
  template <class Opt>
  double train_rows(const T* data, const std::size_t* rows, std::size_t n, Opt& opt) {
    return train_impl("train_rows", data, rows, n, opt);
  }
  /// One data-parallel step (`fit` with a communicator): this process's rows of a global batch of
  /// `global_n`; the exchange sums the gradient and the latents' firing counts, so every process
  /// advances the same counters.
  template <class Opt, class Reduce>
  double train_rows_reduced(const T* data, const T*, const std::size_t* rows, std::size_t n, std::size_t global_n,
                            Opt& opt, Reduce&& reduce) {
    static_assert(detail::check_optimizer<Opt, T>());
    prepare(opt);
    const auto fn = slices(data, rows, global_n);
    return with_update_rules([&](const update_fn* update, const typename storage::update_hooks* hooks) {
      return this->train_step_reduced("fit", n, global_n, flops_per_row, true, fn, detail::optimizer_ref<T>(opt),
                                      reduce, update, hooks);
    });
  }
  /// The gradient of the mean training loss (with AuxK) over the n rows at `x` into `gradients()`,
  /// without an update; returns the mean loss. The raw gradient: the projection along the atoms is
  /// part of the update.
  double gradient(const T* x, std::size_t n) {
    refresh_dead();
    const auto fn = slices(x, nullptr, n);
    return this->gradient_step("gradient", n, flops_per_row, true, fn);
  }

  /// Parameter ranges that are biases (b_enc, b_dec), which weight decay spares with `decay_biases = false`.
  static std::span<const std::pair<std::size_t, std::size_t>> bias_ranges() {
    static const std::pair<std::size_t, std::size_t> ranges[2] = {{encoder_bias_at, encoder_bias_at + Latents},
                                                                  {decoder_bias_at, decoder_bias_at + In}};
    return ranges;
  }

  // ---- inference -----------------------------------------------------------------------------------

  /// The codes of the rows of `x` (n × In → n × Latents; TopK: K nonzeros a row at most).
  xt::xtensor<T, 2> encode(const xt::xtensor<T, 2>& x) const {
    detail::check_samples(x, In, "encode");
    const std::size_t n = x.shape()[0];
    xt::xtensor<T, 2> z = xt::zeros<T>({n, Latents});
    for_each_code(x.data(), n, [&](std::size_t r, const std::uint32_t* idx, const T* val, std::size_t count) {
      for (std::size_t q = 0; q < count; ++q) z(r, idx[q]) = val[q];
    });
    return z;
  }
  /// The reconstructions from codes (n × Latents → n × In): W_decᵀ z + b_dec, over the nonzero codes.
  xt::xtensor<T, 2> decode(const xt::xtensor<T, 2>& z) const {
    detail::check_samples(z, Latents, "decode", "the dictionary's latents");
    const std::size_t n = z.shape()[0];
    xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({n, In});
    const T* wd = this->params() + decoder_weights_at;
    for (std::size_t r = 0; r < n; ++r) {
      T* o = out.data() + r * In;
      std::copy_n(this->params() + decoder_bias_at, In, o);
      for (std::size_t j = 0; j < Latents; ++j)
        if (z(r, j) != T(0)) kernels::axpy(In, z(r, j), wd + j * In, o);
    }
    return out;
  }
  /// decode(encode(x)).
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<T, 2>& x) const {
    detail::check_samples(x, In, "reconstruct");
    const std::size_t n = x.shape()[0];
    xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({n, In});
    for_each_code(x.data(), n, [&](std::size_t r, const std::uint32_t* idx, const T* val, std::size_t count) {
      decode_code(idx, val, count, out.data() + r * In);
    });
    return out;
  }
  /// The mean over the rows of `x` of Σ_i (x̂_i − x_i)² (the reconstruction loss, without AuxK or a
  /// sparsity penalty).
  double loss(const xt::xtensor<T, 2>& x) const {
    detail::check_samples(x, In, "loss");
    const std::size_t n = x.shape()[0];
    if (n == 0) throw data_error("loss: expected at least 1 row, found 0");
    std::vector<T> row(In);
    double total = 0;
    for_each_code(x.data(), n, [&](std::size_t r, const std::uint32_t* idx, const T* val, std::size_t count) {
      decode_code(idx, val, count, row.data());
      kernels::subtract(In, row.data(), x.data() + r * In, row.data());
      total += static_cast<double>(kernels::sum_of_squares(In, row.data()));
    });
    return total / static_cast<double>(n);
  }
  /// x̂ = b_dec + Σ_q val[q]·W_dec[idx[q]] for one row's `count` active latents into `out` (In values).
  void decode_code(const std::uint32_t* idx, const T* val, std::size_t count, T* out) const {
    const T* wd = this->params() + decoder_weights_at;
    std::copy_n(this->params() + decoder_bias_at, In, out);
    for (std::size_t q = 0; q < count; ++q)
      if (val[q] != T(0)) kernels::axpy(In, val[q], wd + idx[q] * In, out);
  }

  /// The activation's thresholds θ_j = exp(t_j) (JumpRelu), for inference and the SAELens files.
  std::vector<T> thresholds() const {
    std::vector<T> t(Latents, T(0));
    if constexpr (Act::learned_threshold)
      for (std::size_t j = 0; j < Latents; ++j) t[j] = std::exp(this->params()[log_threshold_at + j]);
    return t;
  }

  /// Calls f(row, indices, values, count) with each of the n rows at `x`'s active latents (indices
  /// ascending, values > 0), in chunks of 256 rows (inference: no state change). What `encode`,
  /// `reconstruct`, `loss` and `evaluate_sae` are made of.
  template <class F>
  void for_each_code(const T* x, std::size_t n, const F& f) const {
    const std::size_t chunk = std::min<std::size_t>(n == 0 ? 1 : n, 256);
    std::vector<T> xb(chunk * In), pre(chunk * Latents), val(Latents);
    std::vector<std::uint32_t> idx(Latents);
    std::vector<T> theta = thresholds();
    if constexpr (batch_k) std::fill(theta.begin(), theta.end(), batch_threshold());
    const T* p = this->params();
    for (std::size_t r0 = 0; r0 < n; r0 += chunk) {
      const std::size_t rows = std::min(chunk, n - r0);
      for (std::size_t r = 0; r < rows; ++r)
        kernels::subtract(In, x + (r0 + r) * In, p + decoder_bias_at, xb.data() + r * In);
      kernels::gemm<Latents, T>(rows, In, xb.data(), In, 1, p + encoder_weights_at, 1, In,
                                kernels::bias_init<T>{p + encoder_bias_at}, kernels::store_to<T>{pre.data()});
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t count = select(pre.data() + r * Latents, theta.data(), idx.data(), val.data());
        f(r0 + r, idx.data(), val.data(), count);
      }
    }
  }

  template <detail::not_a_batch E>
  double loss(const E&) const {
    return detail::refuse_non_batch<E>();
  }
  template <detail::other_scalar<T> U>
  xt::xtensor<T, 2> encode(const xt::xtensor<U, 2>& x) const {
    return encode(as_scalar<T>(x));
  }
  template <detail::other_scalar<T> U>
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<U, 2>& x) const {
    return reconstruct(as_scalar<T>(x));
  }
  template <detail::other_scalar<T> U>
  double loss(const xt::xtensor<U, 2>& x) const {
    return loss(as_scalar<T>(x));
  }

 private:
  using update_fn = typename storage::state_update;
  using hook_fn = detail::function_ref<void(T*)>;

  // g_j ← g_j − (g_j·w_j / w_j·w_j) w_j for every atom w_j: the update keeps the atoms' norms to
  // first order (OpenAI's rule).
  static void project_atom_gradients(const T* params, T* grads) {
    for (std::size_t j = 0; j < Latents; ++j) {
      const T* a = params + decoder_weights_at + j * In;
      T* g = grads + decoder_weights_at + j * In;
      const T norm2 = kernels::sum_of_squares(In, a);
      if (!(norm2 > T(0))) continue;
      kernels::axpy(In, -kernels::dot(In, g, a) / norm2, a, g);
    }
  }
  // Every atom back to unit norm after the update.
  static void renormalise_atoms(T* params) {
    for (std::size_t j = 0; j < Latents; ++j) {
      T* a = params + decoder_weights_at + j * In;
      const T norm = std::sqrt(kernels::sum_of_squares(In, a));
      if (norm > T(0) && std::isfinite(norm)) kernels::scale(In, T(1) / norm, a);
    }
  }

  static void update_state_fn(T* state, const T* stats) {
    const T rows = stats[Latents];
    for (std::size_t j = 0; j < Latents; ++j) state[j] = stats[j] > T(0) ? T(0) : state[j] + rows;
    if constexpr (batch_k) {
      // θ from the step's smallest kept value (the mean over processes in a data-parallel step).
      const double count = static_cast<double>(stats[Latents + 2]);
      if (count > 0) {
        const double value = static_cast<double>(stats[Latents + 1]) / count, theta = static_cast<double>(state[Latents]);
        state[Latents] = static_cast<T>(theta > 0 ? 0.999 * theta + 0.001 * value : value);
      }
    }
  }

  template <class Opt>
  void prepare(Opt& opt) {
    if constexpr (requires { opt.set_bias_ranges(bias_ranges()); }) opt.set_bias_ranges(bias_ranges());
    refresh_dead();
  }

  template <class Opt>
  double train_impl(const char* where, const T* x, const std::size_t* index, std::size_t n, Opt& opt) {
    static_assert(detail::check_optimizer<Opt, T>());
    prepare(opt);
    const auto fn = slices(x, index, n);
    return with_update_rules([&](const update_fn* update, const typename storage::update_hooks* hooks) {
      return this->train_step(where, n, flops_per_row, true, fn, detail::optimizer_ref<T>(opt), update, hooks);
    });
  }

  // Calls step(state update, update hooks) with the dictionary's rules around the optimiser's update: the
  // counters' update, and for unit-norm atoms the gradient projection before and the renormalisation after.
  template <class Step>
  double with_update_rules(const Step& step) {
    const auto update_lambda = [](T* state, const T* stats) { update_state_fn(state, stats); };
    const update_fn update = update_lambda;
    const auto before_fn = [this](T* g) { project_atom_gradients(this->params(), g); };
    const auto after_fn = [](T* p) { renormalise_atoms(p); };
    const hook_fn before = before_fn, after = after_fn;
    const typename storage::update_hooks h{&before, &after};
    return step(&update, Act::unit_norm_atoms ? &h : nullptr);
  }

  // The dead latents before a step (the same for every slice of it), and the AuxK sizes.
  void refresh_dead() {
    dead_.clear();
    const T* s = this->state_data();
    for (std::size_t j = 0; j < Latents; ++j)
      if (static_cast<double>(s[j]) >= options_.dead_after_tokens) dead_.push_back(static_cast<std::uint32_t>(j));
  }
  std::size_t aux_k() const noexcept { return options_.aux_k == 0 ? std::max<std::size_t>(1, In / 2) : options_.aux_k; }

  auto slices(const T* x, const std::size_t* index, std::size_t n) {
    const T scale = T(1) / static_cast<T>(n == 0 ? 1 : n);
    return [this, x, index, scale](const detail::slice<T>& s) { return slice_loss(s, s.rows_of(x, index, In, 0), scale); };
  }

  // One row's active latents from its pre-activations, indices ascending, values > 0; returns how
  // many. TopK: the K largest through a ReLU; JumpRelu: pre_j > θ_j; ReluL1: pre_j > 0.
  static std::size_t select(const T* pre, const T* theta, std::uint32_t* idx, T* val) noexcept {
    if constexpr (batch_k) {
      // Inference: a JumpReLU at θ, or per-row TopK before training has set θ.
      if (!(theta[0] > T(0))) {
        kernels::top_k<Act::k, T>(pre, Latents, idx, val);
        std::size_t c = 0;
        for (std::size_t q = 0; q < Act::k; ++q)
          if (val[q] > T(0)) idx[c] = idx[q], val[c] = val[q], ++c;
        return c;
      }
      std::size_t c = 0;
      for (std::size_t j = 0; j < Latents; ++j)
        if (pre[j] > theta[0]) idx[c] = static_cast<std::uint32_t>(j), val[c] = pre[j], ++c;
      return c;
    } else if constexpr (top_k) {
      kernels::top_k<Act::k, T>(pre, Latents, idx, val);
      std::size_t c = 0;
      for (std::size_t q = 0; q < Act::k; ++q)
        if (val[q] > T(0)) idx[c] = idx[q], val[c] = val[q], ++c;
      return c;
    } else {
      std::size_t c = 0;
      for (std::size_t j = 0; j < Latents; ++j) {
        const T bar = Act::learned_threshold ? theta[j] : T(0);
        if (pre[j] > bar && pre[j] > T(0)) idx[c] = static_cast<std::uint32_t>(j), val[c] = pre[j], ++c;
      }
      return c;
    }
  }

  // BatchTopK's cut of a step: the kept values are those above `value`, and of those equal to it the
  // first `ties_taken` in the batch's row-major order (`ties_before`: how many come before this slice's
  // rows, then a running count). `any`: some value is kept.
  struct batch_cut {
    T value = T(0);
    std::size_t ties_taken = 0, ties_before = 0;
    bool any = false;
  };

  // The need-th largest positive pre-activation of the whole step's batch, found by every slice alike:
  // a radix selection on the values' bits (positive floats order as their bit patterns), a byte a pass,
  // each slice writing its rows' histograms into the step's shared rows (two halves in turn) and then
  // summing all the batch's rows in order — the same sums, so the same cut, on one thread or several.
  static batch_cut batch_select(const T* pre, std::size_t n, const detail::batch_link& link, std::size_t need) {
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    constexpr std::size_t bytes = sizeof(T), stride = 2 * radix_bins;
    const auto sync = [&] {
      if (!link.sync()) throw error("latent: another slice of the training step failed");
    };
    const auto bits = [](T v) { return std::bit_cast<U>(v); };
    batch_cut cut;
    U prefix = 0;
    std::size_t remaining = need;
    double hist[radix_bins];
    for (std::size_t pass = 0; pass < bytes; ++pass) {
      const unsigned shift = static_cast<unsigned>(8 * (bytes - 1 - pass));
      const U high_mask = pass == 0 ? U(0) : static_cast<U>(~U(0) << (shift + 8));
      const std::size_t half = (pass % 2) * radix_bins;
      for (std::size_t r = 0; r < n; ++r) {
        double* h = link.rows + (link.first + r) * stride + half;
        std::fill_n(h, radix_bins, 0.0);
        const T* row = pre + r * Latents;
        for (std::size_t j = 0; j < Latents; ++j) {
          if (!(row[j] > T(0))) continue;
          const U u = bits(row[j]);
          if ((u & high_mask) == prefix) h[(u >> shift) & 0xFF] += 1;
        }
      }
      sync();
      std::fill_n(hist, radix_bins, 0.0);
      for (std::size_t r = 0; r < link.count; ++r) {
        const double* h = link.rows + r * stride + half;
        for (std::size_t b = 0; b < radix_bins; ++b) hist[b] += h[b];
      }
      if (pass == 0) {
        double total = 0;
        for (const double c : hist) total += c;
        if (total == 0) return cut;  // nothing positive: nothing kept
        if (total <= static_cast<double>(need)) {
          // Every positive value is kept: the cut is just above 0.
          cut.value = std::numeric_limits<T>::denorm_min();
          cut.ties_taken = link.count * Latents;
          cut.any = true;
          return finish_ties(pre, n, link, cut, 1);  // half 0 may still be read
        }
      }
      double above = 0;
      std::size_t chosen = 0;
      for (std::size_t b = radix_bins; b-- > 0;) {
        if (above + hist[b] >= static_cast<double>(remaining)) {
          chosen = b;
          break;
        }
        above += hist[b];
      }
      remaining -= static_cast<std::size_t>(above);
      prefix |= static_cast<U>(static_cast<U>(chosen) << shift);
    }
    cut.value = std::bit_cast<T>(prefix);
    cut.ties_taken = remaining;
    cut.any = true;
    return finish_ties(pre, n, link, cut, bytes % 2);  // the half the last pass did not use
  }

  // How many values equal to the cut come before this slice's rows (each row's count in the shared
  // rows, summed in order).
  static batch_cut finish_ties(const T* pre, std::size_t n, const detail::batch_link& link, batch_cut cut,
                               std::size_t half_index) {
    constexpr std::size_t stride = 2 * radix_bins;
    const std::size_t half = half_index * radix_bins;
    for (std::size_t r = 0; r < n; ++r) {
      double count = 0;
      const T* row = pre + r * Latents;
      for (std::size_t j = 0; j < Latents; ++j) count += row[j] == cut.value ? 1 : 0;
      link.rows[(link.first + r) * stride + half] = count;
    }
    if (!link.sync()) throw error("latent: another slice of the training step failed");
    double before = 0;
    for (std::size_t r = 0; r < link.first; ++r) before += link.rows[r * stride + half];
    cut.ties_before = static_cast<std::size_t>(before);
    return cut;
  }

  // A per-thread array that only grows (the step's variable-length code lists; no allocation once it
  // has grown to the largest step).
  template <class U, int Slot>
  static U* grown(std::size_t count) {
    thread_local std::vector<U> v;
    if (v.size() < count) v.resize(count + count / 2);
    return v.data();
  }

  // The entries of a slice's codes: (row, latent, value), by row then latent.
  struct entries {
    std::uint32_t* row = nullptr;
    std::uint32_t* idx = nullptr;
    T* val = nullptr;
    std::size_t size = 0;
  };

  // A slice's summed loss and its gradient (the slice's buffer, all of it written) and statistics.
  double slice_loss(const detail::slice<T>& s, const T* x, T scale) const {
    const std::size_t n = s.rows;
    const std::size_t block = batch_k ? n : std::min(n, options_.block_rows);
    const std::size_t nd = dead_.size();
    const bool aux = Act::aux_k && options_.aux_weight > 0 && nd > 0;
    const std::size_t ka = aux ? std::min(aux_k(), nd) : 0;
    const T aux_factor =
        aux ? static_cast<T>(options_.aux_weight * std::min(1.0, static_cast<double>(nd) / static_cast<double>(aux_k())))
            : T(0);
    const T* p = this->params();
    const T* we = p + encoder_weights_at;
    const T* be = p + encoder_bias_at;
    const T* wd = p + decoder_weights_at;
    const T* bd = p + decoder_bias_at;
    T* g = s.grads;
    std::fill_n(g, param_count, T(0));
    T* gwe = g + encoder_weights_at;
    T* gbe = g + encoder_bias_at;
    T* gwd = g + decoder_weights_at;
    T* gbd = g + decoder_bias_at;

    // Workspace: x − b_dec (n × In), a block's pre-activations (block × Latents), the rows' x̂ then
    // d loss / d x̂ (n × In), the AuxK errors then their gradients (n × In with AuxK), per latent θ_j
    // (JumpRelu) or ‖W_dec,j‖ (ReluL1), a row's codes (Latents), the dead latents' pre-activations (nd).
    const std::size_t na = aux ? n : 0;
    T* xb = s.work(n * In + block * Latents + n * In + na * In + 2 * Latents + Latents + nd);
    T* pre = xb + n * In;
    T* d = pre + block * Latents;
    T* e = d + n * In;
    T* per_latent = e + na * In;  // θ_j or ‖W_dec,j‖
    T* row_val = per_latent + Latents;
    T* dead_pre = row_val + 2 * Latents;
    std::uint32_t* row_idx = grown<std::uint32_t, 0>(Latents);
    if constexpr (Act::learned_threshold)
      for (std::size_t j = 0; j < Latents; ++j) per_latent[j] = std::exp(p[log_threshold_at + j]);
    if constexpr (!Act::unit_norm_atoms)
      for (std::size_t j = 0; j < Latents; ++j) per_latent[j] = std::sqrt(kernels::sum_of_squares(In, wd + j * In));
    const T half_band = static_cast<T>(options_.jump_bandwidth / 2);

    // The codes (and AuxK's, and JumpRelu's rows near a threshold), as entries by row then latent.
    entries main, extra;  // extra: AuxK's codes, or JumpRelu's (row, latent, pre) within ε/2 of θ
    std::size_t cap_main = Act::aux_k ? n * Act::k : 0, cap_extra = aux ? n * ka : 0;
    const auto reserve = [&](entries& en, std::size_t& cap, std::size_t need, auto slot) {
      constexpr int base = decltype(slot)::value;
      if (need > cap || en.row == nullptr) {
        cap = std::max(need, cap);
        std::uint32_t* rows = grown<std::uint32_t, base + 1>(cap);
        std::uint32_t* idx = grown<std::uint32_t, base + 2>(cap);
        T* val = grown<T, base + 3>(cap);
        // The arrays moved if they grew: copy what they held (grown keeps it: resize preserves).
        en.row = rows, en.idx = idx, en.val = val;
      }
    };
    reserve(main, cap_main, std::max<std::size_t>(cap_main, 1), std::integral_constant<int, 10>{});
    reserve(extra, cap_extra, std::max<std::size_t>(cap_extra, 1), std::integral_constant<int, 20>{});
    kernels::ranked<T>* heap = kernels::detail::workspace<kernels::ranked<T>, 3>(ka + 1);

    for (std::size_t r = 0; r < n; ++r) kernels::subtract(In, x + r * In, bd, xb + r * In);
    batch_cut cut;
    for (std::size_t b0 = 0; b0 < n; b0 += block) {
      const std::size_t rows = std::min(block, n - b0);
      kernels::gemm<Latents, T>(rows, In, xb + b0 * In, In, 1, we, 1, In, kernels::bias_init<T>{be},
                                kernels::store_to<T>{pre});
      if constexpr (batch_k) {
        // The whole slice's pre-activations are in `pre` (block = n): the batch's cut, with the others.
        cut = batch_select(pre, n, s.batch, Act::k * s.batch.count);
        if (s.batch.first == 0 && cut.any) s.stats[Latents + 1] += cut.value, s.stats[Latents + 2] += T(1);
      }
      for (std::size_t r = b0; r < b0 + rows; ++r) {
        const T* row = pre + (r - b0) * Latents;
        std::size_t c = 0;
        if constexpr (batch_k) {
          for (std::size_t j = 0; j < Latents; ++j) {
            const T v = row[j];
            if (!(v > T(0)) || v < cut.value) continue;
            if (v == cut.value && cut.any) {
              if (cut.ties_before >= cut.ties_taken) continue;
              ++cut.ties_before;
            }
            row_idx[c] = static_cast<std::uint32_t>(j), row_val[c] = v, ++c;
          }
        } else {
          c = select(row, per_latent, row_idx, row_val);
        }
        reserve(main, cap_main, main.size + c, std::integral_constant<int, 10>{});
        for (std::size_t q = 0; q < c; ++q, ++main.size)
          main.row[main.size] = static_cast<std::uint32_t>(r), main.idx[main.size] = row_idx[q],
          main.val[main.size] = row_val[q];
        if constexpr (Act::learned_threshold) {
          for (std::size_t j = 0; j < Latents; ++j)
            if (std::abs(row[j] - per_latent[j]) < half_band) {
              reserve(extra, cap_extra, extra.size + 1, std::integral_constant<int, 20>{});
              extra.row[extra.size] = static_cast<std::uint32_t>(r), extra.idx[extra.size] = static_cast<std::uint32_t>(j);
              extra.val[extra.size++] = row[j];
            }
        }
        if (aux) {
          for (std::size_t q = 0; q < nd; ++q) dead_pre[q] = row[dead_[q]];
          kernels::top_k<T>(dead_pre, nd, ka, row_idx, row_val, heap);
          for (std::size_t q = 0; q < ka; ++q)
            if (row_val[q] > T(0)) {
              extra.row[extra.size] = static_cast<std::uint32_t>(r), extra.idx[extra.size] = dead_[row_idx[q]];
              extra.val[extra.size++] = row_val[q];
            }
        }
      }
    }

    // The sparse half works latent by latent (each latent's weight rows and gradient rows are read and
    // written once per step, in cache, while the rows' vectors that use it come from the slice's
    // buffers), in ascending latent order; within a latent, ascending rows. A row's reconstruction then
    // adds its latents in ascending order, as `decode_code` does.
    std::uint32_t* start_main = grown<std::uint32_t, 30>(Latents + 1);
    std::uint32_t* start_extra = grown<std::uint32_t, 31>(Latents + 1);
    std::uint32_t* order_main = grown<std::uint32_t, 32>(main.size + 1);
    std::uint32_t* order_extra = grown<std::uint32_t, 33>(extra.size + 1);
    by_latent(main, start_main, order_main);
    by_latent(extra, start_extra, order_extra);

    for (std::size_t r = 0; r < n; ++r) std::copy_n(bd, In, d + r * In);
    for (std::size_t j = 0; j < Latents; ++j)
      for (std::uint32_t q = start_main[j]; q < start_main[j + 1]; ++q) {
        const std::uint32_t at = order_main[q];
        kernels::axpy(In, main.val[at], wd + j * In, d + main.row[at] * In);
      }
    double total = 0;
    for (std::size_t r = 0; r < n; ++r) {
      T* dr = d + r * In;
      kernels::subtract(In, dr, x + r * In, dr);  // x̂ − x
      total += static_cast<double>(kernels::sum_of_squares(In, dr));
    }
    // The sparsity penalties: ReluL1 λ·Σ z_j·‖W_dec,j‖, JumpRelu λ·(active latents).
    if constexpr (!Act::unit_norm_atoms) {
      double l1 = 0;
      for (std::size_t q = 0; q < main.size; ++q) l1 += static_cast<double>(main.val[q] * per_latent[main.idx[q]]);
      total += options_.l1_coefficient * l1;
    }
    if constexpr (Act::learned_threshold) total += options_.l0_coefficient * static_cast<double>(main.size);
    if (aux) {
      // AuxK: the dead latents' reconstruction of the residual e = x − x̂ (held fixed), without b_dec
      // (it is in x̂ already): error ê − e = Σ z_aux·w_j + (x̂ − x).
      std::copy_n(d, n * In, e);
      for (std::size_t j = 0; j < Latents; ++j)
        for (std::uint32_t q = start_extra[j]; q < start_extra[j + 1]; ++q) {
          const std::uint32_t at = order_extra[q];
          kernels::axpy(In, extra.val[at], wd + j * In, e + extra.row[at] * In);
        }
      for (std::size_t r = 0; r < n; ++r) total += static_cast<double>(aux_factor * kernels::sum_of_squares(In, e + r * In));
      kernels::scale(n * In, T(2) * aux_factor * scale, e);
    }
    kernels::scale(n * In, T(2) * scale, d);  // d loss / d x̂
    kernels::add_column_sums<In, T>(n, d, gbd);
    const T l1 = static_cast<T>(options_.l1_coefficient) * scale;
    const T l0 = static_cast<T>(options_.l0_coefficient) * scale;
    const T inv_band = static_cast<T>(1.0 / options_.jump_bandwidth);
    // Latent j's part: x̂ gained z·w_j, so dW_dec[j] = Σ z·d; dz = w_j·d (ReluL1: + λ‖w_j‖); through the
    // activation to pre_j (1 where active): dW_enc[j] = Σ dz·x̄, db_enc[j] = Σ dz; and through
    // x̄ = x − b_dec: db_dec −= (Σ dz)·W_enc[j]. ReluL1 adds λ·(Σ z)·w_j/‖w_j‖ to dW_dec[j]; JumpRelu's
    // rows near θ_j give d t_j (t = log θ) by the pseudo-derivatives.
    for (std::size_t j = 0; j < Latents; ++j) {
      const std::uint32_t m0 = start_main[j], m1 = start_main[j + 1];
      const std::uint32_t a0 = start_extra[j], a1 = start_extra[j + 1];
      if (m0 == m1 && a0 == a1) continue;
      const T* wdj = wd + j * In;
      T* gwdj = gwd + j * In;
      T* gwej = gwe + j * In;
      T dz_sum = T(0), z_sum = T(0);
      const auto entry = [&](std::uint32_t r, T z, const T* grad_rows, T dz_extra) {
        const T* gr = grad_rows + r * In;
        kernels::axpy(In, z, gr, gwdj);
        const T dz = kernels::dot(In, wdj, gr) + dz_extra;
        kernels::axpy(In, dz, xb + r * In, gwej);
        dz_sum += dz;
      };
      const T penalty = Act::unit_norm_atoms ? T(0) : l1 * per_latent[j];
      for (std::uint32_t q = m0; q < m1; ++q) {
        const std::uint32_t at = order_main[q];
        entry(main.row[at], main.val[at], d, penalty);
        z_sum += main.val[at];
        s.stats[j] += T(1);
      }
      if constexpr (Act::aux_k) {
        for (std::uint32_t q = a0; q < a1; ++q) {
          const std::uint32_t at = order_extra[q];
          entry(extra.row[at], extra.val[at], e, T(0));
        }
      }
      if constexpr (Act::learned_threshold) {
        const T theta = per_latent[j];
        T dtheta = T(0);
        for (std::uint32_t q = a0; q < a1; ++q) {
          const std::uint32_t at = order_extra[q];
          const T dz = kernels::dot(In, wdj, d + extra.row[at] * In);
          dtheta += -(theta * inv_band) * dz - l0 * inv_band;
        }
        g[log_threshold_at + j] = dtheta * theta;
      }
      if constexpr (!Act::unit_norm_atoms)
        if (per_latent[j] > T(0)) kernels::axpy(In, l1 * z_sum / per_latent[j], wdj, gwdj);
      gbe[j] += dz_sum;
      kernels::axpy(In, -dz_sum, we + j * In, gbd);
    }
    s.stats[Latents] += static_cast<T>(n);
    return total;
  }

  // Groups entries by latent: the entries of latent j are order[start[j] .. start[j + 1]), ascending
  // (a counting sort, stable over the entries, which are by row).
  static void by_latent(const entries& en, std::uint32_t* start, std::uint32_t* order) noexcept {
    std::fill_n(start, Latents + 1, 0u);
    for (std::size_t i = 0; i < en.size; ++i) ++start[en.idx[i] + 1];
    for (std::size_t j = 0; j < Latents; ++j) start[j + 1] += start[j];
    for (std::size_t i = 0; i < en.size; ++i) order[start[en.idx[i]]++] = static_cast<std::uint32_t>(i);
    for (std::size_t j = Latents; j > 0; --j) start[j] = start[j - 1];
    start[0] = 0;
  }

  DictionaryOptions options_;
  std::vector<std::uint32_t> dead_;  // the dead latents of the current step (capacity Latents)
};

}  // namespace latent
