#pragma once
/// \file
/// `latent::Predictor<Model>`: inference with the weights packed once, into memory the caller owns,
/// with no allocation per call: the fast path for deployment.
///
/// A model's own `encode`, `decode` and `reconstruct` return new tensors, size their workspaces for
/// the call, and let the product pack its weights panel by panel on every call (which for one sample
/// costs as much as the product). A `Predictor` does that work once: at construction it packs every
/// Dense layer's weights (and a Gaussian head's μ columns) into the product's panel layout and sizes
/// its buffers for `max_rows` rows. A call then runs the layers straight over the packed weights; one
/// row takes a single-row kernel with the sum over the inputs split into interleaved parts, so that
/// enough multiply-adds are in flight. Layers other than Dense and Gaussian heads (convolutions,
/// pooling, a user's layer) run their own inference `forward`, in eval mode with the model's state; a
/// BatchNorm after a convolution without activation is folded into the convolution's weights and bias
/// (eval mode makes it an affine map per channel) and runs no pass of its own.
///
/// The packed weights follow the model: every call compares the model's `parameter_version()` (it
/// changes with every training step, `load`, and non-const `parameters()` call) with the version it
/// packed, and re-packs first when they differ, into the same memory.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/context.hpp"
#include "latent/core/error.hpp"
#include "latent/kernels/gemm.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/layer_traits.hpp"

#include <boost/hana/at.hpp>     // hana::at_c: the I-th layer type
#include <boost/hana/tuple.hpp>  // hana::tuple_t
#include <xtensor/xtensor.hpp>   // xt::xtensor: the convenience overloads

#include <algorithm>    // std::max, std::min
#include <array>        // std::array
#include <cmath>        // std::sqrt: BatchNorm folded into a convolution
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <span>         // std::span
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v
#include <utility>      // std::index_sequence

namespace latent {

namespace detail {

// The instruction set of a packed product in inference: the widest registers (one row has few
// instructions to spare for narrow ones), where training's products choose by padding (`arch_for`).
template <class T, std::size_t N>
using inference_arch = kernels::default_arch;

// How one leaf layer runs in a Predictor. In general: its own inference forward, nothing packed.
template <class L, class T>
struct inference_op {
  static constexpr std::size_t packed_size = 0;
  static constexpr std::size_t cache_size = L::cache_size;
  static void pack(const T*, T*) noexcept {}
  static void forward(const T* params, const T*, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    L::forward(params, x, y, cache, n, ctx);
  }
};

// A Dense layer: W packed into the product's panels, bias and activation in the epilogue.
template <std::size_t In, std::size_t Out, class Act, class T>
struct inference_op<Dense<In, Out, Act>, T> {
  using arch = inference_arch<T, Out>;
  static constexpr std::size_t packed_size = kernels::packed_size<Out, T, arch>(In);
  static constexpr std::size_t cache_size = 0;
  static void pack(const T* params, T* packed) noexcept { kernels::pack_b<Out, T, arch>(In, params, Out, 1, packed); }
  static void forward(const T* params, const T* packed, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    kernels::gemm_packed<Out, T, arch>(n, In, x, In, 1, packed, kernels::bias_init<T>{params + In * Out},
                                       dense_epilogue<Act, T>{y});
  }
};

// A Gaussian head gives μ in inference: only W's first Z columns and the first Z biases are needed.
template <std::size_t In, std::size_t Z, class T>
struct inference_op<GaussianHead<In, Z>, T> {
  using arch = inference_arch<T, Z>;
  static constexpr std::size_t packed_size = kernels::packed_size<Z, T, arch>(In);
  static constexpr std::size_t cache_size = 0;
  static void pack(const T* params, T* packed) noexcept { kernels::pack_b<Z, T, arch>(In, params, 2 * Z, 1, packed); }
  static void forward(const T* params, const T* packed, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    kernels::gemm_packed<Z, T, arch>(n, In, x, In, 1, packed,
                                     kernels::bias_init<T>{params + GaussianHead<In, Z>::weight_count},
                                     kernels::store_to<T>{y});
  }
};

// A convolution with no activation of its own followed by BatchNorm: in eval mode the normalisation is
// an affine map per output channel, folded into the convolution's weights and bias when they are
// packed (W'_f = W_f·s_f, b'_f = (b_f − mean_f)·s_f + β_f, s_f = γ_f/√(var_f + ε)); the BatchNorm then
// runs no pass of its own.
template <class L>
struct foldable_conv : std::false_type {};
template <class In, std::size_t F, std::size_t K, std::size_t S, class Padding>
struct foldable_conv<conv2d_layer<In, F, K, S, Padding, Identity>> : std::true_type {
  // Output channel f's weights: W[f][c][k][k], contiguous.
  static constexpr std::size_t weight_of(std::size_t f, std::size_t i) noexcept {
    return f * conv2d_layer<In, F, K, S, Padding, Identity>::KK + i;
  }
  static constexpr std::size_t per_channel = conv2d_layer<In, F, K, S, Padding, Identity>::KK;
};
template <class In, std::size_t F, std::size_t K, std::size_t S, class Padding>
struct foldable_conv<conv_transpose2d_layer<In, F, K, S, Padding, Identity>> : std::true_type {
  // Output channel f's weights: W[c][f][k][k] for every input channel c.
  static constexpr std::size_t weight_of(std::size_t f, std::size_t i) noexcept {
    return (i / (K * K)) * F * K * K + f * K * K + i % (K * K);
  }
  static constexpr std::size_t per_channel = In::channels * K * K;
};
template <class L>
struct is_batch_norm : std::false_type {};
template <class In, class M, class E>
struct is_batch_norm<batch_norm_layer<In, M, E>> : std::true_type {};

template <class Conv, class BN, class T>
struct folded_conv_op {
  static constexpr std::size_t packed_size = Conv::param_count;
  static constexpr std::size_t cache_size = Conv::cache_size;
  static constexpr std::size_t F = Conv::out_shape::channels;
  static void pack(const T* p, const T* bn, const T* state, T* out) noexcept {
    for (std::size_t f = 0; f < F; ++f) {
      const double mean = state != nullptr ? static_cast<double>(state[f]) : 0.0;
      const double var = state != nullptr ? static_cast<double>(state[F + f]) : 1.0;
      const double scale = static_cast<double>(bn[f]) / std::sqrt(var + BN::epsilon);
      for (std::size_t i = 0; i < foldable_conv<Conv>::per_channel; ++i) {
        const std::size_t w = foldable_conv<Conv>::weight_of(f, i);
        out[w] = static_cast<T>(static_cast<double>(p[w]) * scale);
      }
      out[Conv::weight_count + f] = static_cast<T>(
          (static_cast<double>(p[Conv::weight_count + f]) - mean) * scale + static_cast<double>(bn[F + f]));
    }
  }
  static void forward(const T*, const T* pk, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    Conv::forward(pk, x, y, cache, n, ctx);
  }
};

// The leaf layers of one part (encoder or decoder) as a chain over packed weights.
template <class List, class T>
struct inference_chain;
template <class... Ls, class T>
struct inference_chain<type_list<Ls...>, T> {
  static constexpr std::size_t count = sizeof...(Ls);
  static constexpr std::size_t align = 64 / sizeof(T);  // each layer's packed weights start on a cache line
  template <std::size_t I>
  using layer = typename decltype(+boost::hana::at_c<I>(boost::hana::tuple_t<Ls...>))::type;
  // Layer I folds layer I + 1 (a BatchNorm after a convolution without activation); a folded layer
  // runs no pass of its own.
  static constexpr std::array<bool, count> folds = [] {
    std::array<bool, count> f{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((f[I] = [] {
         if constexpr (I + 1 < count)
           return foldable_conv<layer<I>>::value && is_batch_norm<layer<I + 1>>::value;
         else
           return false;
       }()),
       ...);
    }(std::index_sequence_for<Ls...>{});
    return f;
  }();
  static constexpr std::array<bool, count> folded = [] {
    std::array<bool, count> f{};
    for (std::size_t i = 1; i < count; ++i) f[i] = folds[i - 1];
    return f;
  }();
  template <std::size_t I>
  struct op_of {
    using type = inference_op<layer<I>, T>;
  };
  template <std::size_t I>
    requires(folds[I])
  struct op_of<I> {
    using type = folded_conv_op<layer<I>, layer<I + 1>, T>;
  };
  template <std::size_t I>
  using op = typename op_of<I>::type;
  static constexpr std::array<std::size_t, count> params{Ls::param_count...};
  static constexpr std::array<std::size_t, count> states{state_size_of<Ls>()...};
  static constexpr std::array<std::size_t, count> packed = [] {
    std::array<std::size_t, count> a{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((a[I] = (op<I>::packed_size + align - 1) / align * align), ...);
    }(std::index_sequence_for<Ls...>{});
    return a;
  }();
  // Where each running layer writes: the caller's memory for the last, else the two boundary buffers
  // in turn.
  static constexpr std::size_t last_running = [] {
    std::size_t last = 0;
    for (std::size_t i = 0; i < count; ++i)
      if (!folded[i]) last = i;
    return last;
  }();
  static constexpr std::array<std::size_t, count> running_index = [] {
    std::array<std::size_t, count> r{};
    std::size_t k = 0;
    for (std::size_t i = 0; i < count; ++i) {
      r[i] = k;
      if (!folded[i]) ++k;
    }
    return r;
  }();
  template <const std::array<std::size_t, count>& sizes>
  static constexpr std::array<std::size_t, count> offsets = [] {
    std::array<std::size_t, count> o{};
    for (std::size_t i = 1; i < count; ++i) o[i] = o[i - 1] + sizes[i - 1];
    return o;
  }();
  static constexpr std::size_t packed_total = [] {
    std::size_t t = 0;
    for (std::size_t s : packed) t += s;
    return t;
  }();
  // Widest boundary between two layers (the last layer writes to the caller's memory), largest cache.
  static constexpr std::size_t widest = [] {
    std::array<std::size_t, count> outs{Ls::out_size...};
    std::size_t w = 1;
    for (std::size_t i = 0; i + 1 < count; ++i) w = std::max(w, outs[i]);
    return w;
  }();
  static constexpr std::size_t cache = std::max({std::size_t{1}, inference_op<Ls, T>::cache_size...});

  // The packed weights from the parameters `p` and the layers' state (BatchNorm's running statistics,
  // folded into the convolution before it).
  static void pack(const T* p, const T* state, T* out) noexcept {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (folds[I])
              op<I>::pack(p + offsets<params>[I], p + offsets<params>[I + 1],
                          state != nullptr ? state + offsets<states>[I + 1] : nullptr, out + offsets<packed>[I]);
            else
              op<I>::pack(p + offsets<params>[I], out + offsets<packed>[I]);
          }(),
          ...);
    }(std::index_sequence_for<Ls...>{});
  }

  // n rows from x to y through every running layer (eval mode, with the layers' state), alternating
  // between two boundary buffers.
  static void run(const T* p, const T* state, const T* pk, const T* x, T* y, std::size_t n, T* b0, T* b1,
                  T* cache_buffer) {
    Context<T> ctx;
    const T* in = x;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (!folded[I]) {
              T* out = I == last_running ? y : (running_index[I] % 2 == 0 ? b0 : b1);
              ctx.state = state != nullptr ? state + offsets<states>[I] : nullptr;
              op<I>::forward(p + offsets<params>[I], pk + offsets<packed>[I], in, out, cache_buffer, n, ctx);
              in = out;
            }
          }(),
          ...);
    }(std::index_sequence_for<Ls...>{});
  }
};

template <class Model>
concept has_likelihood = requires { typename Model::likelihood_type; };

}  // namespace detail

/// The fast inference path of a trained `Model` (any model of the family but the conditional VAE,
/// whose calls take labels): `encode`, `decode` and `reconstruct` of n rows at a pointer into memory
/// the caller owns, with the same results as the model's own calls (to the last bits: one row is
/// summed in another order), and no heap allocation per call.
///
///     Predictor<Model> fast(model);          // packs the weights, sizes buffers for 256 rows
///     fast.encode(x.data(), n, z.data());    // x: n × input_size, z: n × code_size, row-major
///
/// - It refers to `model`, which must outlive it. Each call first checks the model's
///   `parameter_version()`; after a training step, a `load` or a write through `parameters()` it
///   re-packs (into the same memory) before computing. `refresh()` re-packs at once.
/// - Rows beyond `max_rows()` are processed in chunks of that many.
/// - Not for concurrent use: one `Predictor` per thread (they are cheap: the packed weights and
///   buffers of `max_rows` rows). Layers that are neither Dense nor Gaussian heads (convolutions)
///   use per-thread workspaces that the first call on a thread allocates.
/// - The span forms check sizes (`shape_error`); the pointer forms do not.
template <class Model>
class Predictor {
 public:
  using model_type = Model;
  using scalar_type = typename Model::scalar_type;
  using T = scalar_type;
  static constexpr std::size_t input_size = Model::input_size;
  static constexpr std::size_t code_size = Model::code_size;
  static_assert(Model::condition_size == 0,
                "latent: Predictor serves unconditional models; a ConditionalVAE's calls take labels "
                "(use its encode(x, labels), decode(z, labels))");

  /// Packs `model`'s weights and sizes the buffers for `max_rows` rows (`option_error` for 0).
  explicit Predictor(const Model& model, std::size_t max_rows = 256)
      : model_(&model),
        rows_(checked_rows(max_rows)),
        packed_(encoder::packed_total + decoder::packed_total),
        boundary_(2 * rows_ * std::max(encoder::widest, decoder::widest)),
        cache_(rows_ * std::max(encoder::cache, decoder::cache)),
        code_(rows_ * code_size) {
    refresh();
  }

  /// The codes of n rows (n × input_size at x → n × code_size at z); for a VAE, the means μ(x).
  void encode(const T* x, std::size_t n, T* z) {
    sync();
    for (std::size_t r = 0; r < n; r += rows_)
      encode_chunk(x + r * input_size, std::min(rows_, n - r), z + r * code_size);
  }
  /// What the decoder makes of n codes (n × code_size at z → n × input_size at y): the reconstruction,
  /// or the likelihood's mean (probabilities for `Bernoulli`, `BCEWithLogits`).
  void decode(const T* z, std::size_t n, T* y) {
    sync();
    for (std::size_t r = 0; r < n; r += rows_)
      decode_chunk(z + r * code_size, std::min(rows_, n - r), y + r * input_size);
  }
  /// decode(encode(x)) of n rows (n × input_size at x → n × input_size at y).
  void reconstruct(const T* x, std::size_t n, T* y) {
    sync();
    for (std::size_t r = 0; r < n; r += rows_) {
      const std::size_t m = std::min(rows_, n - r);
      encode_chunk(x + r * input_size, m, code_.data());
      decode_chunk(code_.data(), m, y + r * input_size);
    }
  }

  /// The same on spans: x holds whole rows, and the output exactly as many rows (else `shape_error`).
  void encode(std::span<const T> x, std::span<T> z) {
    encode(x.data(), rows_of("encode", x, input_size, z, code_size), z.data());
  }
  void decode(std::span<const T> z, std::span<T> y) {
    decode(z.data(), rows_of("decode", z, code_size, y, input_size), y.data());
  }
  void reconstruct(std::span<const T> x, std::span<T> y) {
    reconstruct(x.data(), rows_of("reconstruct", x, input_size, y, input_size), y.data());
  }

  /// Conveniences that return new tensors (they allocate the result, as the model's own calls do).
  xt::xtensor<T, 2> encode(const xt::xtensor<T, 2>& x) {
    return through("encode", x, input_size, code_size, &Predictor::encode_ptr);
  }
  xt::xtensor<T, 2> decode(const xt::xtensor<T, 2>& z) {
    return through("decode", z, code_size, input_size, &Predictor::decode_ptr);
  }
  xt::xtensor<T, 2> reconstruct(const xt::xtensor<T, 2>& x) {
    return through("reconstruct", x, input_size, input_size, &Predictor::reconstruct_ptr);
  }

  /// One sample as a vector (a new tensor; the pointer forms allocate nothing).
  xt::xtensor<T, 1> encode(const xt::xtensor<T, 1>& x) {
    return one("encode", x, input_size, code_size, &Predictor::encode_ptr);
  }
  xt::xtensor<T, 1> decode(const xt::xtensor<T, 1>& z) {
    return one("decode", z, code_size, input_size, &Predictor::decode_ptr);
  }
  xt::xtensor<T, 1> reconstruct(const xt::xtensor<T, 1>& x) {
    return one("reconstruct", x, input_size, input_size, &Predictor::reconstruct_ptr);
  }

  /// Re-packs the weights from the model now.
  void refresh() noexcept {
    const T* p = model_->parameters().data();
    const T* state = model_->state().data();
    encoder::pack(p, state, packed_.data());
    decoder::pack(p + Model::encoder_type::param_count, state + detail::state_size_of<typename Model::encoder_type>(),
                  packed_.data() + encoder::packed_total);
    version_ = model_->parameter_version();
  }
  /// Rows per chunk (the constructor's `max_rows`).
  std::size_t max_rows() const noexcept { return rows_; }
  /// Values held for the packed weights.
  static constexpr std::size_t packed_values() noexcept { return encoder::packed_total + decoder::packed_total; }

 private:
  using encoder = detail::inference_chain<flat_layers_t<typename Model::encoder_type>, T>;
  using decoder = detail::inference_chain<flat_layers_t<typename Model::decoder_type>, T>;

  void sync() noexcept {
    if (model_->parameter_version() != version_) refresh();
  }
  void encode_chunk(const T* x, std::size_t m, T* z) {
    T* b = boundary_.data();
    encoder::run(model_->parameters().data(), model_->state().data(), packed_.data(), x, z, m, b,
                 b + rows_ * encoder::widest, cache_.data());
  }
  void decode_chunk(const T* z, std::size_t m, T* y) {
    T* b = boundary_.data();
    const T* p = model_->parameters().data();
    decoder::run(p + Model::encoder_type::param_count,
                 model_->state().data() + detail::state_size_of<typename Model::encoder_type>(),
                 packed_.data() + encoder::packed_total, z, y, m, b, b + rows_ * decoder::widest, cache_.data());
    if constexpr (detail::has_likelihood<Model>)
      Model::likelihood_type::to_mean(y, p + Model::encoder_type::param_count + Model::decoder_type::param_count, m,
                                      input_size);
    else
      Model::loss_type::to_mean(y, m * input_size);
  }

  void encode_ptr(const T* x, std::size_t n, T* z) { encode(x, n, z); }
  void decode_ptr(const T* z, std::size_t n, T* y) { decode(z, n, y); }
  void reconstruct_ptr(const T* x, std::size_t n, T* y) { reconstruct(x, n, y); }

  static std::size_t rows_of(const char* what, std::span<const T> in, std::size_t in_width, std::span<T> out,
                             std::size_t out_width) {
    const std::size_t n = in.size() / in_width;
    if (in.size() % in_width != 0)
      throw shape_error(std::string("Predictor::") + what + ": expected whole rows of " + std::to_string(in_width) +
                        " values, found " + std::to_string(in.size()) + " values");
    if (out.size() != n * out_width)
      throw shape_error(std::string("Predictor::") + what + ": expected an output of " + std::to_string(n) + " x " +
                        std::to_string(out_width) + " = " + std::to_string(n * out_width) + " values for " +
                        std::to_string(n) + " rows, found " + std::to_string(out.size()));
    return n;
  }
  xt::xtensor<T, 2> through(const char* what, const xt::xtensor<T, 2>& in, std::size_t in_width, std::size_t out_width,
                            void (Predictor::*fn)(const T*, std::size_t, T*)) {
    if (in.shape()[1] != in_width)
      throw shape_error(std::string("Predictor::") + what + ": expected rows of " + std::to_string(in_width) +
                        " values, found " + std::to_string(in.shape()[1]));
    xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({in.shape()[0], out_width});
    (this->*fn)(in.data(), in.shape()[0], out.data());
    return out;
  }

  xt::xtensor<T, 1> one(const char* what, const xt::xtensor<T, 1>& in, std::size_t in_width, std::size_t out_width,
                        void (Predictor::*fn)(const T*, std::size_t, T*)) {
    if (in.shape()[0] != in_width)
      throw shape_error(std::string("Predictor::") + what + ": expected a sample of " + std::to_string(in_width) +
                        " values, found " + std::to_string(in.shape()[0]));
    xt::xtensor<T, 1> out = xt::xtensor<T, 1>::from_shape({out_width});
    (this->*fn)(in.data(), 1, out.data());
    return out;
  }
  static std::size_t checked_rows(std::size_t rows) {
    if (rows == 0) throw option_error("Predictor: max_rows must be at least 1, found 0");
    return rows;
  }

  const Model* model_;
  std::size_t rows_;
  aligned_buffer<T> packed_, boundary_, cache_, code_;
  std::uint64_t version_ = 0;
};

}  // namespace latent
