#pragma once
/// \file
/// `latent::fit`: trains a model on the rows of a matrix.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/convert.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/data/dataset.hpp"
#include "latent/data/one_hot.hpp"
#include "latent/io/binary_file.hpp"
#include "latent/io/save_load.hpp"
#include "latent/models/detail/model_base.hpp"
#include "latent/training/callbacks.hpp"
#include "latent/training/distributed.hpp"
#include "latent/training/fit_options.hpp"
#include "latent/training/history.hpp"
#include "latent/training/progress_reporter.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>    // std::min, std::sort, std::copy
#include <any>          // std::any: the model's snapshot for callbacks
#include <chrono>       // std::chrono::steady_clock
#include <cmath>        // std::floor
#include <cstddef>      // std::size_t, std::ptrdiff_t
#include <cstdint>      // std::int32_t
#include <exception>    // std::exception_ptr
#include <filesystem>   // std::filesystem::exists
#include <limits>       // std::numeric_limits
#include <map>          // std::map
#include <numeric>      // std::iota
#include <optional>     // std::optional
#include <string>       // std::to_string
#include <type_traits>  // std::conditional_t
#include <typeinfo>     // typeid: the model's type for `FitState::model`
#include <utility>      // std::swap
#include <vector>       // std::vector

namespace latent {

namespace detail {
template <class Model>
concept conditional_model = requires { Model::condition_size; } && (Model::condition_size > 0);

// A checkpoint: the model, the optimiser (when it can be saved) and fit's own state. The fit section
// holds the epoch, the shuffle generator and the history's losses and times; since the callbacks it
// also holds the learning rates and how the run ended (older checkpoints end before those and load
// with none).
template <class Model, class Opt>
void save_checkpoint(const std::string& path, const Model& model, const Opt& opt, const Rng& shuffle,
                     const History& history, std::size_t epoch) {
  byte_writer w;
  w.put(static_cast<std::uint64_t>(epoch));
  w.put(shuffle.state());
  w.put_array(history.loss.data(), history.loss.size());
  w.put_array(history.val_loss.data(), history.val_loss.size());
  w.put_array(history.seconds.data(), history.seconds.size());
  w.put_array(history.learning_rate.data(), history.learning_rate.size());
  w.put_string(history.stop_reason);
  w.put(static_cast<std::uint64_t>(history.stopped_epoch));
  w.put(static_cast<std::uint64_t>(history.best_epoch));
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
  if (!r.at_end()) {
    h.learning_rate = get_any_array<double>(r);
    h.stop_reason = r.get_string(4096);
    h.stopped_epoch = static_cast<std::size_t>(r.get<std::uint64_t>());
    h.best_epoch = static_cast<std::size_t>(r.get<std::uint64_t>());
  }
  r.expect_end();
  // The history holds one entry per finished epoch (validation losses and rates only when there were).
  const auto fits = [&](const std::vector<double>& v) { return v.empty() || v.size() == epoch; };
  if (h.loss.size() != epoch || h.seconds.size() != epoch || !fits(h.val_loss) || !fits(h.learning_rate) ||
      h.stopped_epoch > epoch || h.best_epoch > epoch)
    throw format_error("fit: " + path + ": a checkpoint after epoch " + std::to_string(epoch) + " holds " +
                       std::to_string(h.loss.size()) + " losses, " + std::to_string(h.val_loss.size()) +
                       " validation losses, " + std::to_string(h.learning_rate.size()) + " rates and " +
                       std::to_string(h.seconds.size()) + " times, stopped after epoch " +
                       std::to_string(h.stopped_epoch) + ", best epoch " + std::to_string(h.best_epoch));
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

// The type-independent access a callback has to the model (see `FitState`).
template <class Model>
FitState fit_state(Model& model, History& history, std::size_t epochs, std::size_t rank) {
  using T = typename Model::scalar_type;
  return FitState(
      &model, typeid(Model), [](void* m, const std::string& path) { save(*static_cast<const Model*>(m), path); },
      [](const void* m) {
        const auto p = static_cast<const Model*>(m)->parameters();
        return std::any(std::vector<T>(p.begin(), p.end()));
      },
      [](void* m, const std::any& a) {
        const auto& v = std::any_cast<const std::vector<T>&>(a);
        std::copy(v.begin(), v.end(), static_cast<Model*>(m)->parameters().begin());
      },
      history, epochs, rank);
}

// The rows held out by `validation_split`: which rows (sorted), from the option and the data's size.
inline std::vector<std::size_t> held_out_rows(const FitOptions& o, std::size_t n, bool explicit_validation) {
  if (o.validation_split == 0) return {};
  if (!(o.validation_split > 0 && o.validation_split < 1))
    throw option_error("fit: expected a validation_split in [0, 1), found " + std::to_string(o.validation_split));
  if (explicit_validation)
    throw option_error("fit: expected validation data or a validation_split, found both (validation_split " +
                       std::to_string(o.validation_split) + ")");
  const auto train = static_cast<std::size_t>(std::floor(static_cast<double>(n) * (1 - o.validation_split)));
  const std::size_t held = n - std::min(train, n);
  if (held == 0 || held == n)
    throw option_error("fit: a validation_split of " + std::to_string(o.validation_split) + " of " + std::to_string(n) +
                       " rows leaves " + std::to_string(n - held) + " rows to train on and " + std::to_string(held) +
                       " to validate on; expected at least one of each");
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  if (o.random_split) {  // the first `held` of a seeded shuffle
    Rng rng(o.seed ^ 0x5b17ULL);
    for (std::size_t i = 0; i < held; ++i) std::swap(rows[i], rows[i + rng.below(n - i)]);
    rows.resize(held);
    std::sort(rows.begin(), rows.end());
  } else {
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n - held));
  }
  return rows;
}

template <class T>
xt::xtensor<T, 2> gather_rows(const xt::xtensor<T, 2>& x, const std::vector<std::size_t>& rows) {
  const std::size_t w = x.shape()[1];
  xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({rows.size(), w});
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy(x.data() + rows[i] * w, x.data() + (rows[i] + 1) * w, out.data() + i * w);
  return out;
}

template <class Model, class Opt>
History fit_impl(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
                 const FitOptions& options, const xt::xtensor<typename Model::scalar_type, 2>* validation,
                 const xt::xtensor<std::int32_t, 1>* labels = nullptr,
                 const xt::xtensor<std::int32_t, 1>* validation_labels = nullptr) {
  using T = typename Model::scalar_type;
  static_assert(check_optimizer<Opt, T>());
  constexpr std::size_t width = Model::input_size;
  constexpr std::size_t classes = [] {
    if constexpr (conditional_model<Model>)
      return Model::condition_size;
    else
      return std::size_t{0};
  }();
  // Data-parallel over the communicator's ranks (one rank is the plain run).
  Communicator* const comm =
      options.communicator != nullptr && options.communicator->size() > 1 ? options.communicator : nullptr;
  const std::size_t rank = comm ? comm->rank() : 0;

  // The checks, the validation rows held out (`validation_split`) and the rows trained on: [0, n) in
  // place, or the rows `train_rows` lists. With a communicator, a failure on one rank is reported to
  // all (`agree`) before anything else happens.
  aligned_buffer<T> conditions;
  std::vector<std::size_t> train_rows;
  xt::xtensor<T, 2> held_x;
  xt::xtensor<std::int32_t, 1> held_labels;
  std::size_t n = 0;
  const auto prepare = [&] {
    if (options.batch_size == 0) throw option_error("fit: expected a batch size of at least 1, found 0");
    if (!options.checkpoint.empty() && options.checkpoint_every == 0)
      throw option_error("fit: expected checkpoint_every >= 1 with a checkpoint path (" + options.checkpoint +
                         "), found 0");
    for (std::size_t i = 0; i < options.callbacks.size(); ++i)
      if (!options.callbacks[i])
        throw option_error("fit: expected callable callbacks, found an empty one at index " + std::to_string(i));
    if (comm && options.batch_size < comm->size())
      throw option_error("fit: expected a global batch_size of at least the " + std::to_string(comm->size()) +
                         " ranks, found " + std::to_string(options.batch_size));
    check_samples(data, width, "fit");
    if (validation != nullptr) check_samples(*validation, width, "fit (validation data)");
    if constexpr (classes > 0) {
      conditions = one_hot_buffer<T>(*labels, data.shape()[0], classes, "fit");
      if (validation != nullptr)
        one_hot_buffer<T>(*validation_labels, validation->shape()[0], classes, "fit (validation labels)");
    }
    const std::vector<std::size_t> held = held_out_rows(options, data.shape()[0], validation != nullptr);
    n = data.shape()[0];
    if (!held.empty()) {
      held_x = gather_rows(data, held);
      validation = &held_x;
      if constexpr (classes > 0) {
        held_labels = xt::xtensor<std::int32_t, 1>::from_shape({held.size()});
        for (std::size_t i = 0; i < held.size(); ++i) held_labels(i) = (*labels)(held[i]);
        validation_labels = &held_labels;
      }
      n -= held.size();
      if (options.random_split) {
        train_rows.reserve(n);
        for (std::size_t r = 0, h = 0; r < data.shape()[0]; ++r) {
          if (h < held.size() && held[h] == r)
            ++h;
          else
            train_rows.push_back(r);
        }
      }
    }
  };
  distributed_plan plan;
  std::optional<exchange<T>> ex;
  if (!comm) {
    prepare();
  } else {
    std::string status;
    std::exception_ptr failure;
    try {
      prepare();
    } catch (const std::exception& e) {
      status = e.what();
      failure = std::current_exception();
    }
    // Architecture and parameter count must match everywhere; the rows may differ when sharded.
    const std::string identity = Model::architecture() + " (" + std::to_string(Model::param_count) + " parameters)";
    const auto ids = agree(*comm, status, failure, identity + "|" + std::to_string(n));
    plan.rank = rank;
    plan.ranks = comm->size();
    plan.batch = options.batch_size;
    plan.sharded = options.sharded;
    for (std::size_t r = 0; r < ids.size(); ++r) {
      const std::size_t bar = ids[r].rfind('|');
      if (ids[r].substr(0, bar) != identity)
        throw option_error("fit: rank " + std::to_string(r) + " trains " + ids[r].substr(0, bar) + ", but rank " +
                           std::to_string(rank) + " trains " + identity + "; every rank needs the same model");
      plan.rows.push_back(static_cast<std::size_t>(std::stoull(ids[r].substr(bar + 1))));
      if (!plan.sharded && plan.rows[r] != n)
        throw option_error("fit: expected every rank to pass the same rows (sharded = false), found " +
                           std::to_string(plan.rows[r]) + " rows on rank " + std::to_string(r) + " and " +
                           std::to_string(n) + " on rank " + std::to_string(rank));
    }
    // Rank 0's weights everywhere.
    std::string weights(reinterpret_cast<const char*>(model.parameters().data()), Model::param_count * sizeof(T));
    comm->broadcast(weights, 0);
    std::copy_n(reinterpret_cast<const T*>(weights.data()), Model::param_count, model.parameters().begin());
    ex.emplace(*comm, Model::param_count);
  }

  const std::size_t batch = std::min(options.batch_size, n);  // a batch larger than the data is one batch
  const std::size_t steps = comm ? plan.steps() : (n + batch - 1) / batch;
  const bool by_index = options.shuffle || !train_rows.empty() || comm != nullptr;
  std::vector<std::size_t> order(n);
  Rng shuffle_rng(options.seed);
  ProgressReporter progress(rank == 0 ? options.progress : Progress::quiet, options.epochs, steps);
  History history;
  // The run's thread count, restored afterwards (also when training throws).
  struct thread_setting {
    Model& m;
    std::size_t saved;
    ~thread_setting() { m.set_threads(saved); }
  } restore{model, model.threads()};
  if (options.threads != 0) model.set_threads(options.threads);

  std::size_t first_epoch = 1;
  if (!options.checkpoint.empty() && options.resume) {
    // Every rank resumes from the file (rank 0 writes it); with a communicator, a rank that cannot read
    // it stops them all.
    std::string status;
    std::exception_ptr failure;
    try {
      if (std::filesystem::exists(options.checkpoint))
        first_epoch = resume_from(options.checkpoint, model, opt, shuffle_rng, history) + 1;
    } catch (const std::exception& e) {
      if (!comm) throw;
      status = e.what();
      failure = std::current_exception();
    }
    if (comm) {
      const auto epochs_done = agree(*comm, status, failure, std::to_string(first_epoch));
      for (std::size_t r = 0; r < epochs_done.size(); ++r)
        if (epochs_done[r] != std::to_string(first_epoch))
          throw distributed_error("fit: rank " + std::to_string(r) + " resumes before epoch " + epochs_done[r] +
                                  ", rank " + std::to_string(rank) + " before epoch " + std::to_string(first_epoch) +
                                  ": expected one checkpoint for all ranks (" + options.checkpoint + ")");
    }
  }
  if (history.stopped_early()) return history;  // a resumed run that had stopped early

  std::vector<Callback> callbacks = options.callbacks;  // this run's copies, with their own state
  FitState state = fit_state(model, history, options.epochs, rank);
  BatchState batch_state;
  batch_state.batches = steps;

  for (std::size_t epoch = first_epoch; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    // Each epoch shuffles the identity afresh, so the order depends only on the generator's state
    // (what a checkpoint restores). Distributed and sharded, each rank and epoch has a generator of its
    // own, so resuming needs no rank's state; not sharded, every rank runs rank 0's generator.
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (comm && options.sharded) shuffle_rng = Rng(mix_seed(options.seed, rank, epoch));
    if (options.shuffle)
      for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffle_rng.below(i + 1)]);
    if (!train_rows.empty())
      for (std::size_t& o : order) o = train_rows[o];
    double sum = 0;
    std::size_t seen = 0;
    bool stopped_in_step = false;
    std::size_t s = 0;
    try {
      for (; s < steps; ++s) {
        const auto [first, rows] = comm ? plan.local(s) : std::pair{s * batch, std::min(batch, n - s * batch)};
        const std::size_t global_rows = comm ? plan.global(s) : rows;
        // The batch's rows: the shuffled order's next `rows` (each thread of the step gathers its own
        // slice of them), or the next `rows` rows in place.
        const std::size_t* index = by_index ? order.data() + first : nullptr;
        const std::size_t offset = by_index ? 0 : first;
        const T* x = data.data() + offset * width;
        const T* c = classes > 0 ? conditions.data() + offset * classes : nullptr;
        double step_loss = 0;
        try {
          if (comm) {
            // The step's noise from (seed, rank, epoch, step): resuming needs no generator's state.
            model.set_noise_seed(mix_seed(options.seed ^ 0x6e6f697365ULL, rank, epoch, s));
            const bool stop = batch_state.stop_requested;
            step_loss = model.train_rows_reduced(x, c, index, stop ? 0 : rows, global_rows, opt,
                                                 [&](std::span<T> g, double loss) { return ex->step(g, loss, stop); });
          } else if constexpr (classes > 0) {
            step_loss = index ? model.train_rows(x, c, index, rows, opt) : model.train_batch(x, c, rows, opt);
          } else {
            step_loss = index ? model.train_rows(x, index, rows, opt) : model.train_batch(x, rows, opt);
          }
        } catch (const numerical_error& e) {
          throw numerical_error("fit: training diverged at epoch " + std::to_string(epoch) + ", batch " +
                                std::to_string(s + 1) + " of " + std::to_string(steps) + " (" + e.what() +
                                "); the model keeps the weights of the last good step");
        }
        sum += step_loss * static_cast<double>(global_rows);
        seen += global_rows;
        progress.step(epoch, s + 1, sum / static_cast<double>(seen));
        if (options.on_batch) {
          batch_state.epoch = epoch;
          batch_state.batch = s + 1;
          batch_state.loss = step_loss;
          options.on_batch(batch_state);
          if (batch_state.stop_requested && !comm) break;  // distributed: agreed in the next exchange
        }
      }
    } catch (const stop_signal&) {
      stopped_in_step = true;  // a rank's batch callback stopped every rank before step s
    } catch (const numerical_error&) {
      throw;  // every rank saw the same global loss
    } catch (const distributed_error&) {
      throw;
    } catch (const std::exception& e) {
      if (!comm) throw;
      ex->fail("at epoch " + std::to_string(epoch) + ", batch " + std::to_string(s + 1) + ": " + e.what(),
               std::current_exception());
    }
    double val = std::numeric_limits<double>::quiet_NaN();
    bool has_validation = validation != nullptr;
    std::string stop_reason;
    try {
      if (validation != nullptr) {
        if constexpr (classes > 0)
          val = model.loss(*validation, *validation_labels);
        else
          val = model.loss(*validation);
      }
      if (comm) {
        // The mean over every rank's validation rows; a stop after the epoch's last step agreed.
        const double rows = validation != nullptr ? static_cast<double>(validation->shape()[0]) : 0.0;
        const auto t = ex->values(validation != nullptr ? val * rows : 0.0, rows, batch_state.stop_requested);
        has_validation = t[1] > 0;  // validation rows on any rank: a validation loss for all
        val = has_validation ? t[0] / t[1] : std::numeric_limits<double>::quiet_NaN();
        stopped_in_step = stopped_in_step || t[2] != 0;
      }
    } catch (const distributed_error&) {
      throw;
    } catch (const std::exception& e) {
      if (!comm) throw;
      ex->fail("after epoch " + std::to_string(epoch) + ": " + e.what(), std::current_exception());
    }
    if (seen == 0) break;  // stopped before the epoch's first step: nothing to record
    const double loss = sum / static_cast<double>(seen);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    history.loss.push_back(loss);
    if (has_validation) history.val_loss.push_back(val);
    if constexpr (requires { opt.last_learning_rate(); }) history.learning_rate.push_back(opt.last_learning_rate());
    history.seconds.push_back(seconds);
    // ReduceLROnPlateau reads the epoch's monitored loss: the validation loss, else the training loss.
    if constexpr (requires { opt.end_epoch(0.0); }) opt.end_epoch(has_validation ? val : loss);
    progress.epoch(epoch, loss, val, seconds);

    state.begin_epoch_end(epoch);
    if (batch_state.stop_requested || stopped_in_step) state.stop(batch_state.stop_reason);
    try {
      for (Callback& cb : callbacks) cb(state);
      if (comm) {
        // Every rank stops when one does, with the reason of the first that did.
        if (ex->values(0, 0, state.stop_requested())[2] != 0) {
          const auto reasons = comm->all_gather(state.stop_requested() ? state.stop_reason() : std::string());
          for (std::size_t r = 0; r < reasons.size(); ++r)
            if (!reasons[r].empty()) {
              stop_reason = r == 0 ? reasons[r] : "rank " + std::to_string(r) + ": " + reasons[r];
              break;
            }
          state.stop(stop_reason);
        }
      }
    } catch (const distributed_error&) {
      throw;
    } catch (const std::exception& e) {
      if (!comm) throw;
      ex->fail("in a callback after epoch " + std::to_string(epoch) + ": " + e.what(), std::current_exception());
    }
    const bool stopping = state.stop_requested();
    if (stopping) {
      history.stop_reason = stop_reason.empty() ? state.stop_reason() : stop_reason;
      history.stopped_epoch = epoch;
      progress.note("stopped after epoch " + std::to_string(epoch) + ": " + history.stop_reason);
    }
    if (!options.checkpoint.empty() && rank == 0 &&
        (epoch % options.checkpoint_every == 0 || epoch == options.epochs || stopping))
      save_checkpoint(options.checkpoint, model, opt, shuffle_rng, history, epoch);
    if (stopping) break;
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

/// As above, with the validation rows and labels as one `Dataset` (e.g. `load_fashion_mnist`'s test
/// split; its float rows are converted once for a double model).
template <class Model, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data,
            const xt::xtensor<std::int32_t, 1>& labels, Opt& opt, const FitOptions& options,
            const Dataset& validation) {
  xt::xtensor<typename Model::scalar_type, 2> storage;
  const auto& vx = detail::scalar_ref(validation.x, storage);
  return detail::fit_impl(model, data, opt, options, &vx, &labels, &validation.labels);
}

/// Trains on a `Dataset`: its rows, and for a conditional model its labels (the rows are converted
/// once for a double model). With a `validation` Dataset, as the forms above with validation data.
template <class Model, class Opt>
History fit(Model& model, const Dataset& train, Opt& opt, const FitOptions& options = {}) {
  xt::xtensor<typename Model::scalar_type, 2> storage;
  const auto& x = detail::scalar_ref(train.x, storage);
  if constexpr (detail::conditional_model<Model>)
    return detail::fit_impl(model, x, opt, options, nullptr, &train.labels);
  else
    return detail::fit_impl(model, x, opt, options, nullptr);
}
template <class Model, class Opt>
History fit(Model& model, const Dataset& train, Opt& opt, const FitOptions& options, const Dataset& validation) {
  xt::xtensor<typename Model::scalar_type, 2> storage, validation_storage;
  const auto& x = detail::scalar_ref(train.x, storage);
  const auto& vx = detail::scalar_ref(validation.x, validation_storage);
  if constexpr (detail::conditional_model<Model>)
    return detail::fit_impl(model, x, opt, options, &vx, &train.labels, &validation.labels);
  else
    return detail::fit_impl(model, x, opt, options, &vx);
}

/// Data of the other floating-point type (float rows for a double model, or the other way round) is
/// converted once to the model's scalar type (`as_scalar`), then trained on as above.
template <class Model, detail::other_scalar<typename Model::scalar_type> U, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<U, 2>& data, Opt& opt, const FitOptions& options = {}) {
  return fit(model, as_scalar<typename Model::scalar_type>(data), opt, options);
}
template <class Model, detail::other_scalar<typename Model::scalar_type> U, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<U, 2>& data, Opt& opt, const FitOptions& options,
            const xt::xtensor<U, 2>& validation) {
  using T = typename Model::scalar_type;
  return fit(model, as_scalar<T>(data), opt, options, as_scalar<T>(validation));
}
template <class Model, detail::other_scalar<typename Model::scalar_type> U, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<U, 2>& data, const xt::xtensor<std::int32_t, 1>& labels, Opt& opt,
            const FitOptions& options = {}) {
  return fit(model, as_scalar<typename Model::scalar_type>(data), labels, opt, options);
}

/// The mean loss of `model` over the rows of `data` (no training noise).
template <class Model>
double evaluate(const Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data) {
  return model.loss(data);
}

/// The same for data of the other floating-point type, converted once (`as_scalar`).
template <class Model, detail::other_scalar<typename Model::scalar_type> U>
double evaluate(const Model& model, const xt::xtensor<U, 2>& data) {
  return model.loss(as_scalar<typename Model::scalar_type>(data));
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
