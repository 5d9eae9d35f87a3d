#pragma once
/// \file
/// `latent::fit`: trains a model on the rows of a matrix.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/data/one_hot.hpp"
#include "latent/io/binary_file.hpp"
#include "latent/io/save_load.hpp"
#include "latent/models/detail/model_base.hpp"
#include "latent/training/fit_options.hpp"
#include "latent/training/history.hpp"
#include "latent/training/progress_reporter.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>    // std::min
#include <chrono>       // std::chrono::steady_clock
#include <cmath>        // NAN
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int32_t
#include <filesystem>   // std::filesystem::exists
#include <limits>       // std::numeric_limits
#include <map>          // std::map
#include <numeric>      // std::iota
#include <string>       // std::to_string
#include <type_traits>  // std::conditional_t
#include <utility>      // std::swap
#include <vector>       // std::vector

namespace latent {

namespace detail {
template <class Model>
concept conditional_model = requires { Model::condition_size; } && (Model::condition_size > 0);

// A checkpoint: the model, the optimiser (when it can be saved) and fit's own state.
template <class Model, class Opt>
void save_checkpoint(const std::string& path, const Model& model, const Opt& opt, const Rng& shuffle,
                     const History& history, std::size_t epoch) {
  byte_writer w;
  w.put(static_cast<std::uint64_t>(epoch));
  w.put(shuffle.state());
  w.put_array(history.loss.data(), history.loss.size());
  w.put_array(history.val_loss.data(), history.val_loss.size());
  w.put_array(history.seconds.data(), history.seconds.size());
  std::map<std::uint32_t, std::string> sections{{model_section, model_bytes(model)}, {fit_section, w.bytes()}};
  if constexpr (saved_optimizer<Opt>) sections[optimizer_section] = optimizer_bytes(opt);
  write_sections(path, sections);
}

// Restores everything from a checkpoint (all parsed before anything changes); returns the epoch it
// was taken after.
template <class Model, class Opt>
std::size_t resume_from(const std::string& path, Model& model, Opt& opt, Rng& shuffle, History& history) {
  const auto sections = read_sections(path);
  for (auto tag : {model_section, fit_section})
    if (!sections.contains(tag)) throw format_error("fit: " + path + " is not a checkpoint (a section is missing)");
  byte_reader r(sections.at(fit_section), "fit: " + path);
  const auto epoch = r.get<std::uint64_t>();
  const auto state = r.get<Rng::State>();
  History h;
  h.loss = get_any_array<double>(r);
  h.val_loss = get_any_array<double>(r);
  h.seconds = get_any_array<double>(r);
  r.expect_end();
  // The history holds one entry per finished epoch (validation losses only when there was validation).
  if (h.loss.size() != epoch || h.seconds.size() != epoch || (!h.val_loss.empty() && h.val_loss.size() != epoch))
    throw format_error("fit: " + path + ": a checkpoint after epoch " + std::to_string(epoch) + " holds " +
                       std::to_string(h.loss.size()) + " losses, " + std::to_string(h.val_loss.size()) +
                       " validation losses and " + std::to_string(h.seconds.size()) + " times");
  Model candidate_check = model;  // restore into a copy first: a failure leaves `model` as it was
  restore_model(candidate_check, sections.at(model_section), path);
  if constexpr (saved_optimizer<Opt>) {
    if (sections.contains(optimizer_section)) restore_optimizer(opt, sections.at(optimizer_section), path);
  }
  model = std::move(candidate_check);
  shuffle.set_state(state);
  history = std::move(h);
  return static_cast<std::size_t>(epoch);
}

template <class Model, class Opt>
History fit_impl(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
                 const FitOptions& options, const xt::xtensor<typename Model::scalar_type, 2>* validation,
                 const xt::xtensor<std::int32_t, 1>* labels = nullptr,
                 const xt::xtensor<std::int32_t, 1>* validation_labels = nullptr) {
  using T = typename Model::scalar_type;
  static_assert(check_optimizer<Opt, T>());
  constexpr std::size_t width = Model::input_size;
  if (options.batch_size == 0) throw option_error("fit: expected a batch size of at least 1, found 0");
  if (!options.checkpoint.empty() && options.checkpoint_every == 0)
    throw option_error("fit: expected checkpoint_every >= 1 with a checkpoint path (" + options.checkpoint +
                       "), found 0");
  check_samples(data, width, "fit");
  if (validation != nullptr) check_samples(*validation, width, "fit (validation data)");
  constexpr std::size_t classes = [] {
    if constexpr (conditional_model<Model>)
      return Model::condition_size;
    else
      return std::size_t{0};
  }();
  aligned_buffer<T> conditions;
  if constexpr (classes > 0) {
    conditions = one_hot_buffer<T>(*labels, data.shape()[0], classes, "fit");
    if (validation != nullptr)
      one_hot_buffer<T>(*validation_labels, validation->shape()[0], classes, "fit (validation labels)");
  }

  const std::size_t n = data.shape()[0];
  const std::size_t batch = std::min(options.batch_size, n);  // a batch larger than the data is one batch
  const std::size_t steps = (n + batch - 1) / batch;
  std::vector<std::size_t> order(n);
  Rng shuffle_rng(options.seed);
  ProgressReporter progress(options.progress, options.epochs, steps);
  History history;
  // The run's thread count, restored afterwards (also when training throws).
  struct thread_setting {
    Model& m;
    std::size_t saved;
    ~thread_setting() { m.set_threads(saved); }
  } restore{model, model.threads()};
  if (options.threads != 0) model.set_threads(options.threads);

  std::size_t first_epoch = 1;
  if (!options.checkpoint.empty() && options.resume && std::filesystem::exists(options.checkpoint))
    first_epoch = resume_from(options.checkpoint, model, opt, shuffle_rng, history) + 1;

  for (std::size_t epoch = first_epoch; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    // Each epoch shuffles the identity afresh, so the order depends only on the generator's state
    // (what a checkpoint restores).
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (options.shuffle)
      for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffle_rng.below(i + 1)]);
    double sum = 0;
    for (std::size_t s = 0; s < steps; ++s) {
      const std::size_t first = s * batch, rows = std::min(batch, n - first);
      // The batch's rows: the shuffled order's next `rows` (each thread of the step gathers its own
      // slice of them), or the next `rows` rows in place.
      const std::size_t* index = options.shuffle ? order.data() + first : nullptr;
      const std::size_t offset = options.shuffle ? 0 : first;
      const T* x = data.data() + offset * width;
      try {
        if constexpr (classes > 0) {
          const T* c = conditions.data() + offset * classes;
          sum += (index ? model.train_rows(x, c, index, rows, opt) : model.train_batch(x, c, rows, opt)) *
                 static_cast<double>(rows);
        } else {
          sum += (index ? model.train_rows(x, index, rows, opt) : model.train_batch(x, rows, opt)) *
                 static_cast<double>(rows);
        }
      } catch (const numerical_error& e) {
        throw numerical_error("fit: training diverged at epoch " + std::to_string(epoch) + ", batch " +
                              std::to_string(s + 1) + " of " + std::to_string(steps) + " (" + e.what() +
                              "); the model keeps the weights of the last good step");
      }
      progress.step(epoch, s + 1, sum / static_cast<double>(first + rows));
    }
    const double loss = sum / static_cast<double>(n);
    double val = std::numeric_limits<double>::quiet_NaN();
    if (validation != nullptr) {
      if constexpr (classes > 0)
        val = model.loss(*validation, *validation_labels);
      else
        val = model.loss(*validation);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    history.loss.push_back(loss);
    if (validation != nullptr) history.val_loss.push_back(val);
    history.seconds.push_back(seconds);
    progress.epoch(epoch, loss, val, seconds);
    if (!options.checkpoint.empty() && options.checkpoint_every > 0 &&
        (epoch % options.checkpoint_every == 0 || epoch == options.epochs))
      save_checkpoint(options.checkpoint, model, opt, shuffle_rng, history, epoch);
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
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
            const FitOptions& options = {}) {
  return detail::fit_impl(model, data, opt, options, nullptr);
}

/// As above, and computes the loss on `validation` after every epoch (`History::val_loss`).
template <class Model, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt, const FitOptions& options,
            const xt::xtensor<typename Model::scalar_type, 2>& validation) {
  return detail::fit_impl(model, data, opt, options, &validation);
}

/// Trains a conditional model (`ConditionalVAE`) on rows of `data` with one label in [0, classes) per
/// row; the labels are shuffled with their rows. Throws `data_error` naming the row of a label out of
/// range and `shape_error` if there is not one label per row.
template <class Model, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data,
            const xt::xtensor<std::int32_t, 1>& labels, Opt& opt, const FitOptions& options = {}) {
  return detail::fit_impl(model, data, opt, options, nullptr, &labels);
}

/// As above, with validation data and labels.
template <class Model, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data,
            const xt::xtensor<std::int32_t, 1>& labels, Opt& opt, const FitOptions& options,
            const xt::xtensor<typename Model::scalar_type, 2>& validation,
            const xt::xtensor<std::int32_t, 1>& validation_labels) {
  return detail::fit_impl(model, data, opt, options, &validation, &labels, &validation_labels);
}

/// The mean loss of `model` over the rows of `data` (no training noise).
template <class Model>
double evaluate(const Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data) {
  return model.loss(data);
}

/// `fit` and `evaluate` take a batch (rows are samples): anything else, such as one sample as an
/// `xt::xtensor<T, 1>`, is refused at compile time instead of being converted to a garbage shape.
template <class Model, detail::not_a_batch E, class Opt>
History fit(Model&, const E&, Opt&, const FitOptions& = {}) {
  (void)detail::refuse_non_batch<E>();
  return {};
}
template <class Model, class E, class Opt, class V>
  requires(detail::not_a_batch<E> || detail::not_a_batch<V>)
History fit(Model&, const E&, Opt&, const FitOptions&, const V&) {
  (void)detail::refuse_non_batch<std::conditional_t<detail::not_a_batch<E>, E, V>>();
  return {};
}
template <class Model, detail::not_a_batch E, class Opt>
History fit(Model&, const E&, const xt::xtensor<std::int32_t, 1>&, Opt&, const FitOptions& = {}) {
  (void)detail::refuse_non_batch<E>();
  return {};
}
template <class Model, detail::not_a_batch E>
double evaluate(const Model&, const E&) {
  return detail::refuse_non_batch<E>();
}

}  // namespace latent
