#pragma once
/// \file
/// `latent::testing::thread_check`: a training step split over two threads gives the gradient of the
/// step on one. A testing aid, not included by latent/latent.hpp. Example: examples/custom_layer.cpp.

#include "latent/activations/tanh.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/random.hpp"
#include "latent/detail/thread_pool.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"
#include "latent/testing/check_result.hpp"
#include "latent/testing/detail/compare.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: the data the overload for a model's rows takes

#include <algorithm>    // std::max
#include <cmath>        // std::abs
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <exception>    // std::exception: a throwing step is a failure, not an abort
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::remove_reference_t
#include <vector>       // std::vector

namespace latent::testing {

/// Settings of `thread_check`. The tolerance is float rounding: the two slices' gradients are summed in
/// another order than one thread sums the batch, so components agree to about 1e-4 of their size, and
/// components that cancel to about 1e-6 of the largest one.
struct thread_check_options {
  std::size_t rows = 64;             ///< batch size: 32 rows a slice (a layer's check)
  std::uint64_t seed = 1;            ///< data (a layer's check) and the model's noise seed
  double relative_tolerance = 1e-4;  ///< per component, of max(|one thread|, |two threads|)
  double absolute_tolerance = 1e-6;  ///< of the largest one-thread component
};

/// Checks that a model's gradient on two threads equals its gradient on one. `gradient()` computes
/// the gradient into `model.gradients()`, e.g. `[&] { model.gradient(x.data(), n); }`; it runs with
/// `set_threads(1)`, then with `set_threads(2)`, the noise reseeded to `options.seed` each time (the
/// model's setting is restored afterwards). Meant for models without training noise, or with noise
/// that does not depend on the split: each thread's slice draws its own noise (from generators derived
/// from the model's), so a VAE's or a denoising model's two-thread gradient is another sample. For
/// those, check the two-thread step with `gradient_check(model, ...)` after `set_threads(2)`.
/// Fails (does not pass vacuously) when the thread pool has fewer than two threads.
template <class Model, class Gradient>
  requires requires(Model& m) {
    m.set_threads(std::size_t{2});
    m.gradients();
  }
check_result thread_check(Model& model, Gradient&& gradient, const thread_check_options& options = {}) {
  check_result r("thread_check(" + Model::architecture() + ")");
  const std::size_t pool = latent::detail::thread_pool::instance().size();
  if (pool < 2) {
    r.fail_outright("expected a thread pool of at least 2 threads, found " + std::to_string(pool) +
                    " (this machine has one core): nothing was split");
    return r;
  }
  const std::size_t setting = model.threads();
  std::vector<double> one, two;
  try {
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
      model.set_threads(threads);
      model.set_noise_seed(options.seed);
      gradient();
      (threads == 1 ? one : two).assign(model.gradients().begin(), model.gradients().end());
    }
  } catch (const std::exception& e) {
    model.set_threads(setting);
    r.fail_outright(std::string("expected the gradient to be computed, found an exception: ") + e.what());
    return r;
  }
  model.set_threads(setting);
  double largest = 0;
  for (const double g : one) largest = std::max(largest, std::abs(g));
  const detail::tolerance tol{options.relative_tolerance, options.absolute_tolerance * largest};
  for (std::size_t i = 0; i < one.size(); ++i)
    tol.compare(r, "gradient[" + std::to_string(i) + "]", one[i], two[i], "one thread", "two threads");
  r.summary = std::to_string(one.size()) + " gradient components, one thread against two; tolerance " +
              detail::brief(options.absolute_tolerance) + " * " + detail::brief(largest) + " (largest) + " +
              detail::brief(options.relative_tolerance) + " * |value|";
  return r;
}

/// The same for the n rows at `x` (row-major, n × input_size); fails unless n is large enough for the
/// model to split the step (two rows at least).
template <class Model>
check_result thread_check(Model& model, const typename Model::scalar_type* x, std::size_t n,
                          const thread_check_options& options = {}) {
  const std::size_t setting = model.threads();
  model.set_threads(2);
  const bool splits = model.threads_for(n, 1.0) >= 2;
  model.set_threads(setting);
  if (!splits && latent::detail::thread_pool::instance().size() >= 2) {
    check_result r("thread_check(" + Model::architecture() + ")");
    r.fail_outright("expected a batch the step splits over two threads, found " + std::to_string(n) + " rows");
    return r;
  }
  return thread_check(
      model, [&] { model.gradient(x, n); }, options);
}

namespace detail {
/// The model that puts a layer `L` where a two-thread step reaches it: after a Dense layer inside the
/// encoder's Seq (so that its input gradient is used and it is one of a Seq's children).
template <class L, class T>
using after_dense_model =
    Autoencoder<Seq<Dense<L::in_size, L::in_size, Tanh>, L>, Dense<L::out_size, L::in_size>, MSE, T>;
/// ... and as the whole encoder (so that the model calls it itself).
template <class L, class T>
using as_encoder_model = Autoencoder<L, Dense<L::out_size, L::in_size>, MSE, T>;
}  // namespace detail

/// Checks that layer `L` (deterministic: it draws no noise) gives the same gradient on one and two
/// threads, in scalars `T`: wrapped in two small models — `L` as a plain autoencoder's whole encoder,
/// and `L` after a `Dense<In, In, Tanh>` in the encoder's `Seq` (both with decoder `Dense<Out, In>` and
/// MSE) — on `options.rows` random rows in [−1, 1]. A layer that does not opt in to deferred weight
/// gradients must pass as well as one that does (see `Context::deferred`).
template <class L, class T = float>
check_result thread_check(const thread_check_options& options = {}) {
  static_assert(Layer<L, T>, "latent::testing::thread_check<L, T>: L must be a layer for scalars T");
  check_result r("thread_check<" + detail::name_of<L>() + ">");
  Rng rng(options.seed);
  auto run = [&](auto& model, const char* where) {
    using M = std::remove_reference_t<decltype(model)>;
    xt::xtensor<T, 2> x = xt::xtensor<T, 2>::from_shape({options.rows, M::input_size});
    detail::fill_uniform(rng, x.data(), x.size(), -1, 1);
    const check_result part = thread_check(model, x.data(), options.rows, options);
    r.checked += part.checked;
    r.worst_error = std::max(r.worst_error, part.worst_error);
    r.worst_difference = std::max(r.worst_difference, part.worst_difference);
    for (const std::string& f : part.failures) r.fail(std::string(where) + ": " + f);
    r.failed += part.failed - part.failures.size();  // the failures beyond those kept
  };
  detail::as_encoder_model<L, T> whole(options.seed);
  run(whole, "as the encoder");
  detail::after_dense_model<L, T> inner(options.seed);
  run(inner, "after a Dense in the encoder's Seq");
  r.summary = "gradients of two wrapping autoencoders (L as the encoder; L after a Dense) on " +
              std::to_string(options.rows) + " rows, one thread against two; tolerance " +
              detail::brief(options.absolute_tolerance) + " * largest + " + detail::brief(options.relative_tolerance) +
              " * |value|";
  return r;
}

}  // namespace latent::testing
