#pragma once
/// \file
/// `latent::Dense<In, Out, Act>`: a fully connected layer, y = Act(x·W + b).

#include "latent/activations/activation.hpp"
#include "latent/activations/identity.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/gemm.hpp"

#include <cmath>        // std::sqrt
#include <cstddef>      // std::size_t
#include <string>       // std::string: the signature
#include <type_traits>  // std::conditional_t, std::is_same_v

namespace latent {

namespace detail {
// Forward epilogue: the accumulators already hold x·W + b; apply the activation and store y.
template <class Act, class T>
struct dense_epilogue {
  T* y;
  template <class V>
  void operator()(std::size_t offset, const V& z) const noexcept {
    Act::apply(z).store_unaligned(y + offset);
  }
  template <class V>
  void partial(std::size_t offset, const V& z, std::size_t count) const noexcept {
    kernels::store_partial(y + offset, Act::apply(z), count);
  }
};
}  // namespace detail

namespace diag {
/// Rule (e): a `Dense` layer needs at least one input and one output.
template <class In, class Out>
struct dense_layer_has_a_zero_size;
template <std::size_t In, std::size_t Out>
struct dense_layer_has_a_zero_size<inputs<In>, outputs<Out>> {
  static_assert(In > 0 && Out > 0, "latent: a Dense layer needs at least one input and one output");
  static constexpr bool value = true;
};
}  // namespace diag

/// A fully connected layer with `In` inputs, `Out` outputs and activation `Act`: y = Act(x·W + b).
///
/// Parameters, packed: W as an In×Out row-major matrix (Keras's layout), then b (Out values).
/// Initialisation as Keras: W ~ Glorot uniform, U(−√(6/(In+Out)), +√(6/(In+Out))); b = 0.
/// Forward is one register-blocked product whose epilogue adds the bias and applies the activation.
/// Backward: dz = dy ⊙ Act'(y); dW = xᵀ·dz; db = Σ dz; dx = dz·Wᵀ.
/// Shape rule: In > 0 and Out > 0, checked at compile time (`dense_layer_has_a_zero_size`).
/// Example: examples/keras_seed.cpp.
template <std::size_t In, std::size_t Out, class Act = Identity>
struct Dense {
  static_assert(diag::dense_layer_has_a_zero_size<diag::inputs<In>, diag::outputs<Out>>::value);
  static_assert(detail::check_activation<Act>());
  static_assert(detail::check_fused_activation<Dense, Act>());

  using activation = Act;
  static constexpr const char* name = "Dense";
  /// Dense's weight gradient may be formed at the end of a multi-threaded step (see `Context::deferred`):
  /// it reads x and dz then, and neither is touched before.
  static constexpr bool defers_weight_gradients = true;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = Out;
  static constexpr std::size_t weight_count = In * Out;
  static constexpr std::size_t param_count = In * Out + Out;
  /// The last `bias_count` parameters are biases (weight decay may spare them).
  static constexpr std::size_t bias_count = Out;
  static constexpr std::size_t cache_size = 0;  // the derivative needs only the output y
  static constexpr std::size_t scratch_size = 0;

  /// "Dense<In,Out,Act>", with the activation's name: what saved files record.
  static std::string signature() {
    std::string s = "Dense<";
    s.append(std::to_string(In)).append(",").append(std::to_string(Out)).append(",").append(Act::name).append(">");
    return s;
  }

  /// Glorot-uniform weights, zero biases.
  template <class T>
  static void init(T* params, Rng& rng) {
    const double limit = std::sqrt(6.0 / static_cast<double>(In + Out));
    for (std::size_t i = 0; i < weight_count; ++i) params[i] = static_cast<T>(rng.uniform(-limit, limit));
    for (std::size_t j = 0; j < Out; ++j) params[weight_count + j] = T(0);
  }

  template <class T>
  static void forward(const T* params, const T* x, T* y, T*, std::size_t n, Context<T>&) noexcept {
    kernels::gemm_nn<Out, T, kernels::arch_for<T, Out>>(
        n, In, x, In, 1, params, kernels::bias_init<T>{params + weight_count}, detail::dense_epilogue<Act, T>{y});
  }

  template <class T>
  static void backward(const T* params, const T* x, const T* y, const T*, T* dy, T* dx, T* dparams, T*, std::size_t n,
                       Context<T>& ctx) noexcept {
    using derivative = std::conditional_t<std::is_same_v<Act, Identity>, void, Act>;
    if (ctx.deferred != nullptr &&
        ctx.deferred->push({&kernels::weight_gradient_rows<Out, T, kernels::arch_for<T, Out>>, &bias_gradient<T>, x, dy,
                            In, Out, n, dparams, dparams + weight_count})) {
      // A slice of a multi-threaded step: dz = dy ⊙ Act'(y) now (over dy, which must then stay as it
      // is); dW and db later, over the whole batch, by the threads that own their rows.
      if constexpr (!std::is_void_v<derivative>) kernels::multiply_by_derivative<derivative>(dy, y, n * Out);
    } else {
      // One pass: dz = dy ⊙ Act'(y) over dy, dW[In×Out] = xᵀ·dz, db = Σ dz.
      kernels::weight_gradient<Out, derivative, T, kernels::arch_for<T, Out>>(In, n, x, dy, y, dparams,
                                                                              dparams + weight_count);
    }
    // dx[n×In] = dz·Wᵀ: B(k, c) = W[c·Out + k], packed panel by panel into broadcast-FMA form.
    if (dx != nullptr)
      kernels::gemm<In, T, kernels::arch_for<T, In>>(n, Out, dy, Out, 1, params, 1, Out, kernels::zero_init{},
                                                     kernels::store_to<T>{dx});
  }

 private:
  // db = Σ dz over `rows` samples (added to db when `accumulate`): the bias half of a deferred gradient.
  template <class T>
  static void bias_gradient(std::size_t rows, const T* dz, T* db, bool accumulate) noexcept {
    if (accumulate)
      kernels::add_column_sums<Out>(rows, dz, db);
    else
      kernels::column_sums<Out>(rows, dz, db);
  }
};

}  // namespace latent
