#pragma once
/// \file
/// `latent::fit`: trains a model on the rows of a matrix.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/training/fit_options.hpp"
#include "latent/training/history.hpp"
#include "latent/training/progress_reporter.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>  // std::min
#include <chrono>     // std::chrono::steady_clock
#include <cmath>      // NAN
#include <cstddef>    // std::size_t
#include <cstring>    // std::memcpy
#include <limits>     // std::numeric_limits
#include <numeric>    // std::iota
#include <string>     // std::to_string
#include <utility>    // std::swap
#include <vector>     // std::vector

namespace latent {

namespace detail {
template <class Model, class Opt>
History fit_impl(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
                 const FitOptions& options, const xt::xtensor<typename Model::scalar_type, 2>* validation) {
  using T = typename Model::scalar_type;
  constexpr std::size_t width = Model::input_size;
  if (options.batch_size == 0) throw option_error("fit: expected a batch size of at least 1, found 0");
  check_samples(data, width, "fit");
  if (validation != nullptr) check_samples(*validation, width, "fit (validation data)");

  const std::size_t n = data.shape()[0];
  const std::size_t batch = std::min(options.batch_size, n);  // a batch larger than the data is one batch
  const std::size_t steps = (n + batch - 1) / batch;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  aligned_buffer<T> batch_rows(batch * width);
  Rng shuffle_rng(options.seed);
  ProgressReporter progress(options.progress, options.epochs, steps);
  History history;

  for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    if (options.shuffle)
      for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffle_rng.below(i + 1)]);
    double sum = 0;
    for (std::size_t s = 0; s < steps; ++s) {
      const std::size_t first = s * batch, rows = std::min(batch, n - first);
      const T* x = data.data() + first * width;
      if (options.shuffle) {
        for (std::size_t r = 0; r < rows; ++r)
          std::memcpy(batch_rows.data() + r * width, data.data() + order[first + r] * width, width * sizeof(T));
        x = batch_rows.data();
      }
      try {
        sum += model.train_batch(x, rows, opt) * static_cast<double>(rows);
      } catch (const numerical_error& e) {
        throw numerical_error("fit: training diverged at epoch " + std::to_string(epoch) + ", batch " +
                              std::to_string(s + 1) + " of " + std::to_string(steps) + " (" + e.what() +
                              "); the model keeps the weights of the last good step");
      }
      progress.step(epoch, s + 1, sum / static_cast<double>(first + rows));
    }
    const double loss = sum / static_cast<double>(n);
    const double val = validation != nullptr ? model.loss(*validation) : std::numeric_limits<double>::quiet_NaN();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    history.loss.push_back(loss);
    if (validation != nullptr) history.val_loss.push_back(val);
    history.seconds.push_back(seconds);
    progress.epoch(epoch, loss, val, seconds);
  }
  return history;
}
}  // namespace detail

/// Trains `model` on the rows of `data` with optimiser `opt` (Keras's `model.fit`): for each epoch,
/// shuffles the rows (seeded by `options.seed`), runs one training step per batch of
/// `options.batch_size` rows (the last, partial batch included; a batch larger than the data is one
/// batch) and records the epoch's mean loss and time. Progress goes to stderr (see `Progress`).
///
/// Throws `shape_error` if the data's width is not the model's input size, `data_error` for empty data
/// or NaN/Inf (naming the row), `option_error` for a batch size of 0, and `numerical_error` naming the
/// epoch and batch if the loss diverges (the model keeps the weights of the last good step).
/// Example: examples/keras_seed.cpp.
template <class Model, class Opt>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
            const FitOptions& options = {}) {
  return detail::fit_impl(model, data, opt, options, nullptr);
}

/// As above, and computes the loss on `validation` after every epoch (`History::val_loss`).
template <class Model, class Opt>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
            const FitOptions& options, const xt::xtensor<typename Model::scalar_type, 2>& validation) {
  return detail::fit_impl(model, data, opt, options, &validation);
}

/// The mean loss of `model` over the rows of `data` (no training noise).
template <class Model>
double evaluate(const Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data) {
  return model.loss(data);
}

}  // namespace latent
