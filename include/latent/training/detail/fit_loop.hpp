#pragma once
/// \file
/// `fit`'s loop, written once per scalar type over a `fit_target`: the checks and the validation rows,
/// the data-parallel start (with a communicator), resuming from a checkpoint, and each epoch's steps,
/// validation, callbacks and checkpoint. Nothing here depends on a model's type or sizes.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/data/one_hot.hpp"
#include "latent/data/row_source.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/training/callbacks.hpp"
#include "latent/training/detail/checkpoint.hpp"
#include "latent/training/detail/fit_target.hpp"
#include "latent/training/detail/validation_split.hpp"
#include "latent/training/distributed.hpp"
#include "latent/training/fit_options.hpp"
#include "latent/training/history.hpp"
#include "latent/training/progress_reporter.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>   // std::min, std::copy_n, std::swap
#include <cmath>       // std::isfinite: a streamed batch's values
#include <chrono>      // std::chrono::steady_clock
#include <cstddef>     // std::size_t
#include <cstdint>     // std::int32_t
#include <exception>   // std::exception_ptr, std::current_exception
#include <filesystem>  // std::filesystem::exists
#include <limits>      // std::numeric_limits
#include <numeric>     // std::iota
#include <optional>    // std::optional
#include <string>      // std::string, std::to_string
#include <utility>     // std::pair
#include <type_traits>  // std::is_same_v: a float model reads the stream in place
#include <vector>      // std::vector

namespace latent::detail {

/// One call of `fit`: the target, its data and options, and the state of the run.
template <class T>
class fit_run {
 public:
  using labels_type = xt::xtensor<std::int32_t, 1>;

  fit_run(fit_target<T>& target, const xt::xtensor<T, 2>& data, const FitOptions& options,
          const xt::xtensor<T, 2>* validation, const labels_type* labels, const labels_type* validation_labels)
      : target_(target),
        data_(data),
        options_(options),
        validation_(validation),
        labels_(labels),
        validation_labels_(validation_labels),
        width_(target.input_size()),
        classes_(target.classes()),
        comm_(options.communicator != nullptr && options.communicator->size() > 1 ? options.communicator : nullptr),
        rank_(comm_ ? comm_->rank() : 0),
        shuffle_rng_(options.seed) {}

  /// A run on rows streamed from `source` (see `RowSource`) rather than held in memory: each step reads
  /// its batch from the source; each epoch restarts it.
  fit_run(fit_target<T>& target, RowSource& source, const FitOptions& options, const xt::xtensor<T, 2>* validation)
      : fit_run(target, no_rows(), options, validation, nullptr, nullptr) {
    source_ = &source;
  }

  History run() {
    // Data-parallel over the communicator's ranks (one rank is the plain run); with a communicator, a
    // failure on one rank is reported to all (`agree`) before anything else happens.
    if (!comm_)
      prepare();
    else
      join_ranks();
    batch_ = std::min(options_.batch_size, n_);  // a batch larger than the data is one batch
    steps_ = comm_ ? plan_.steps() : (n_ + batch_ - 1) / batch_;
    by_index_ = source_ == nullptr && (options_.shuffle || !train_rows_.empty() || comm_ != nullptr);
    order_.resize(n_);
    ProgressReporter progress(rank_ == 0 ? options_.progress : Progress::quiet, options_.epochs, steps_);
    progress_ = &progress;
    // The run's thread count, restored afterwards (also when training throws).
    struct thread_setting {
      fit_target<T>& t;
      std::size_t saved;
      ~thread_setting() { t.set_threads(saved); }
    } restore{target_, target_.threads()};
    if (options_.threads != 0) target_.set_threads(options_.threads);

    const std::size_t first_epoch = resume();
    if (history_.stopped_early()) return history_;  // a resumed run that had stopped early

    callbacks_ = options_.callbacks;  // this run's copies, with their own state
    FitState state = target_.fit_state(history_, options_.epochs, rank_);
    batch_state_.batches = steps_;
    for (std::size_t epoch = first_epoch; epoch <= options_.epochs; ++epoch)
      if (!run_epoch(epoch, state)) break;
    return std::move(history_);
  }

 private:
  // ---- before the first epoch -------------------------------------------------------------------

  // The checks, the validation rows held out (`validation_split`), the rows trained on: [0, n) in
  // place, or the rows `train_rows_` lists; a conditional model's one-hot rows.
  // The in-memory data of a streamed run: none.
  static const xt::xtensor<T, 2>& no_rows() {
    static const xt::xtensor<T, 2> none = xt::xtensor<T, 2>::from_shape({0, 0});
    return none;
  }

  void prepare() {
    if (options_.batch_size == 0) throw option_error("fit: expected a batch size of at least 1, found 0");
    if (!options_.checkpoint.empty() && options_.checkpoint_every == 0)
      throw option_error("fit: expected checkpoint_every >= 1 with a checkpoint path (" + options_.checkpoint +
                         "), found 0");
    for (std::size_t i = 0; i < options_.callbacks.size(); ++i)
      if (!options_.callbacks[i])
        throw option_error("fit: expected callable callbacks, found an empty one at index " + std::to_string(i));
    if (comm_ && options_.batch_size < comm_->size())
      throw option_error("fit: expected a global batch_size of at least the " + std::to_string(comm_->size()) +
                         " ranks, found " + std::to_string(options_.batch_size));
    if (source_ != nullptr) {
      prepare_stream();
      return;
    }
    check_samples(data_, width_, "fit");
    if (validation_ != nullptr) check_samples(*validation_, width_, "fit (validation data)");
    if (classes_ > 0) {
      conditions_ = one_hot_buffer<T>(*labels_, data_.shape()[0], classes_, "fit");
      if (validation_ != nullptr)
        one_hot_buffer<T>(*validation_labels_, validation_->shape()[0], classes_, "fit (validation labels)");
    }
    const std::vector<std::size_t> held = held_out_rows(options_, data_.shape()[0], validation_ != nullptr);
    n_ = data_.shape()[0];
    if (held.empty()) return;
    held_x_ = gather_rows(data_, held);
    validation_ = &held_x_;
    if (classes_ > 0) {
      held_labels_ = labels_type::from_shape({held.size()});
      for (std::size_t i = 0; i < held.size(); ++i) held_labels_(i) = (*labels_)(held[i]);
      validation_labels_ = &held_labels_;
    }
    n_ -= held.size();
    if (options_.random_split) {
      train_rows_.reserve(n_);
      for (std::size_t r = 0, h = 0; r < data_.shape()[0]; ++r) {
        if (h < held.size() && held[h] == r)
          ++h;
        else
          train_rows_.push_back(r);
      }
    }
  }

  // A streamed run's own checks (after the common ones): the source's width, rows to train on, options a
  // stream cannot serve.
  void prepare_stream() {
    if (classes_ > 0)
      throw option_error("fit: a conditional model needs labels, which a streamed source (RowSource) does not give");
    if (options_.validation_split != 0)
      throw option_error("fit: a streamed source cannot hold out a validation_split (found " +
                         std::to_string(options_.validation_split) + "); pass validation rows instead");
    if (source_->width() != width_)
      throw shape_error("fit: expected streamed rows of " + std::to_string(width_) + " values (the model's input), " +
                        "found " + std::to_string(source_->width()));
    if (validation_ != nullptr) check_samples(*validation_, width_, "fit (validation data)");
    n_ = source_->rows();
    if (n_ == 0 && !comm_) throw data_error("fit: expected a source with at least one row, found none");
  }

  // A streamed step's batch: the source's next `rows` rows, as T, checked finite.
  const T* stream_batch(std::size_t epoch, std::size_t s, std::size_t rows) {
    stream_floats_.reserve(rows * width_);
    std::size_t got = 0;
    while (got < rows) {
      const std::size_t r = source_->next(stream_floats_.data() + got * width_, rows - got);
      if (r == 0) break;
      got += r;
    }
    if (got != rows)
      throw data_error("fit: the streamed source gave " + std::to_string(got) + " rows for batch " +
                       std::to_string(s + 1) + " of epoch " + std::to_string(epoch) + ", expected " +
                       std::to_string(rows) + " (its rows() promised " + std::to_string(n_) + " an epoch)");
    if (!kernels::all_finite(rows * width_, stream_floats_.data())) {
      for (std::size_t i = 0; i < rows * width_; ++i)
        if (!std::isfinite(stream_floats_.data()[i]))
          throw data_error("fit: row " + std::to_string(i / width_) + " of batch " + std::to_string(s + 1) +
                           " of epoch " + std::to_string(epoch) + " (streamed) holds " +
                           describe_non_finite(stream_floats_.data()[i]) + " at column " +
                           std::to_string(i % width_));
    }
    if constexpr (std::is_same_v<T, float>) {
      return stream_floats_.data();
    } else {
      stream_rows_.reserve(rows * width_);
      std::copy_n(stream_floats_.data(), rows * width_, stream_rows_.data());
      return stream_rows_.data();
    }
  }

  // With a communicator: every rank's checks, agreed; the same model everywhere; each rank's rows
  // (the plan); rank 0's weights everywhere; the exchange every later collective goes through.
  void join_ranks() {
    std::string status;
    std::exception_ptr failure;
    try {
      prepare();
    } catch (const std::exception& e) {
      status = e.what();
      failure = std::current_exception();
    }
    // Architecture and parameter count must match everywhere; the rows may differ when sharded.
    const std::string identity = target_.identity();
    const auto ids = agree(*comm_, status, failure, identity + "|" + std::to_string(n_));
    plan_.rank = rank_;
    plan_.ranks = comm_->size();
    plan_.batch = options_.batch_size;
    plan_.sharded = options_.sharded || source_ != nullptr;  // a stream's rows are its rank's own
    for (std::size_t r = 0; r < ids.size(); ++r) {
      const std::size_t bar = ids[r].rfind('|');
      if (ids[r].substr(0, bar) != identity)
        throw option_error("fit: rank " + std::to_string(r) + " trains " + ids[r].substr(0, bar) + ", but rank " +
                           std::to_string(rank_) + " trains " + identity + "; every rank needs the same model");
      plan_.rows.push_back(static_cast<std::size_t>(std::stoull(ids[r].substr(bar + 1))));
      if (!plan_.sharded && plan_.rows[r] != n_)
        throw option_error("fit: expected every rank to pass the same rows (sharded = false), found " +
                           std::to_string(plan_.rows[r]) + " rows on rank " + std::to_string(r) + " and " +
                           std::to_string(n_) + " on rank " + std::to_string(rank_));
    }
    // Rank 0's weights and layers' state everywhere.
    for (const std::span<T> values : {target_.parameters(), target_.state()}) {
      std::string bytes(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
      comm_->broadcast(bytes, 0);
      std::copy_n(reinterpret_cast<const T*>(bytes.data()), values.size(), values.begin());
    }
    ex_.emplace(*comm_, target_.exchange_size());
  }

  // The first epoch to run: 1, or after the checkpoint's epoch when resuming. Every rank resumes from
  // the file (rank 0 writes it); with a communicator, a rank that cannot read it stops them all.
  std::size_t resume() {
    if (options_.checkpoint.empty() || !options_.resume) return 1;
    std::size_t first_epoch = 1;
    std::string status;
    std::exception_ptr failure;
    try {
      if (std::filesystem::exists(options_.checkpoint))
        first_epoch = resume_from(options_.checkpoint, target_, shuffle_rng_, history_, settings()) + 1;
    } catch (const std::exception& e) {
      if (!comm_) throw;
      status = e.what();
      failure = std::current_exception();
    }
    if (comm_) {
      const auto epochs_done = agree(*comm_, status, failure, std::to_string(first_epoch));
      for (std::size_t r = 0; r < epochs_done.size(); ++r)
        if (epochs_done[r] != std::to_string(first_epoch))
          throw distributed_error("fit: rank " + std::to_string(r) + " resumes before epoch " + epochs_done[r] +
                                  ", rank " + std::to_string(rank_) + " before epoch " + std::to_string(first_epoch) +
                                  ": expected one checkpoint for all ranks (" + options_.checkpoint + ")");
    }
    return first_epoch;
  }

  run_settings settings() const { return {options_.seed, options_.batch_size}; }

  // ---- one epoch --------------------------------------------------------------------------------

  // The epoch's steps, its validation loss, its record, its checkpoint and the callbacks; false when
  // training stops after it.
  bool run_epoch(std::size_t epoch, FitState& state) {
    const auto start = std::chrono::steady_clock::now();
    shuffle(epoch);
    double sum = 0;
    std::size_t seen = 0;
    const bool stopped_in_step = train_steps(epoch, sum, seen);
    auto [val, has_validation, stopped_after] = validate(epoch);
    if (seen == 0) return false;  // stopped before the epoch's first step: nothing to record
    const named_values metrics = model_metrics(epoch);
    const double loss = sum / static_cast<double>(seen);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    history_.loss.push_back(loss);
    if (has_validation) history_.val_loss.push_back(val);
    if (const auto lr = target_.last_learning_rate()) history_.learning_rate.push_back(*lr);
    history_.seconds.push_back(seconds);
    record_series(metrics);
    // ReduceLROnPlateau reads the epoch's monitored loss: the validation loss, else the training loss.
    target_.end_epoch(has_validation ? val : loss);
    progress_->epoch(epoch, loss, val, seconds, metrics);

    state.begin_epoch_end(epoch);
    if (batch_state_.stop_requested || stopped_in_step || stopped_after) state.stop(batch_state_.stop_reason);
    // The epoch's checkpoint comes before the callbacks, so that a callback that throws leaves it
    // written; when the run ends (a stop, or the last epoch) it is written again after them, with how
    // the run ended and the weights a callback may have restored.
    const bool checkpointing = !options_.checkpoint.empty() && rank_ == 0;
    if (checkpointing && (epoch % options_.checkpoint_every == 0 || epoch == options_.epochs))
      save_checkpoint(options_.checkpoint, target_, shuffle_rng_, history_, epoch, settings());
    const std::string stop_reason = run_callbacks(epoch, state);
    const bool stopping = state.stop_requested();
    if (stopping) {
      history_.stop_reason = stop_reason.empty() ? state.stop_reason() : stop_reason;
      history_.stopped_epoch = epoch;
      progress_->note("stopped after epoch " + std::to_string(epoch) + ": " + history_.stop_reason);
    }
    if (checkpointing && (stopping || epoch == options_.epochs))
      save_checkpoint(options_.checkpoint, target_, shuffle_rng_, history_, epoch, settings());
    return !stopping;
  }

  // Each epoch shuffles the identity afresh, so the order depends only on the generator's state (what
  // a checkpoint restores). Distributed and sharded, each rank and epoch has a generator of its own,
  // so resuming needs no rank's state; not sharded, every rank runs rank 0's generator.
  void shuffle(std::size_t epoch) {
    if (source_ != nullptr) {
      source_->start_epoch(epoch);  // the source's own order for the epoch
      return;
    }
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    if (comm_ && options_.sharded) shuffle_rng_ = Rng(mix_seed(options_.seed, rank_, epoch));
    if (options_.shuffle)
      for (std::size_t i = n_ - 1; i > 0; --i) std::swap(order_[i], order_[shuffle_rng_.below(i + 1)]);
    if (!train_rows_.empty())
      for (std::size_t& o : order_) o = train_rows_[o];
  }

  // The epoch's training steps: adds each step's loss sum to `sum` and its rows to `seen`. True when a
  // rank's batch callback stopped every rank before a step (distributed).
  bool train_steps(std::size_t epoch, double& sum, std::size_t& seen) {
    std::size_t s = 0;
    try {
      for (; s < steps_; ++s) {
        const auto [first, rows] = comm_ ? plan_.local(s) : std::pair{s * batch_, std::min(batch_, n_ - s * batch_)};
        const std::size_t global_rows = comm_ ? plan_.global(s) : rows;
        const double step_loss = train_step(epoch, s, first, rows, global_rows);
        sum += step_loss * static_cast<double>(global_rows);
        seen += global_rows;
        progress_->step(epoch, s + 1, sum / static_cast<double>(seen));
        if (options_.on_batch) {
          batch_state_.epoch = epoch;
          batch_state_.batch = s + 1;
          batch_state_.loss = step_loss;
          options_.on_batch(batch_state_);
          if (batch_state_.stop_requested && !comm_) break;  // distributed: agreed in the next exchange
        }
      }
    } catch (const stop_signal&) {
      return true;  // a rank's batch callback stopped every rank before step s
    } catch (const numerical_error&) {
      throw;  // every rank saw the same global loss
    } catch (const distributed_error&) {
      throw;
    } catch (const std::exception& e) {
      if (!comm_) throw;
      ex_->fail("at epoch " + std::to_string(epoch) + ", batch " + std::to_string(s + 1) + ": " + e.what(),
                std::current_exception());
    }
    return false;
  }

  // Step s of the epoch: the batch's rows are the shuffled order's next `rows` (each thread of the step
  // gathers its own slice of them), or the next `rows` rows in place.
  double train_step(std::size_t epoch, std::size_t s, std::size_t first, std::size_t rows, std::size_t global_rows) {
    const std::size_t* index = by_index_ ? order_.data() + first : nullptr;
    const std::size_t offset = by_index_ ? 0 : first;
    const T* x = source_ != nullptr ? stream_batch(epoch, s, rows) : data_.data() + offset * width_;
    const T* c = classes_ > 0 ? conditions_.data() + offset * classes_ : nullptr;
    try {
      if (!comm_) return target_.train(x, c, index, rows);
      // The step's noise from (seed, rank, epoch, step): resuming needs no generator's state.
      target_.set_noise_seed(mix_seed(options_.seed ^ 0x6e6f697365ULL, rank_, epoch, s));
      const bool stop = batch_state_.stop_requested;
      return target_.train_reduced(x, c, index, stop ? 0 : rows, global_rows,
                                   [&](std::span<T> g, double loss) { return ex_->step(g, loss, stop); });
    } catch (const numerical_error& e) {
      throw numerical_error("fit: training diverged at epoch " + std::to_string(epoch) + ", batch " +
                            std::to_string(s + 1) + " of " + std::to_string(steps_) + " (" + e.what() +
                            "); the model keeps the weights of the last good step");
    }
  }

  struct validation_result {
    double loss = std::numeric_limits<double>::quiet_NaN();
    bool has_validation = false;
    bool stopped = false;  // a rank's batch callback asked to stop after the epoch's last step
  };

  // The validation loss after the epoch (eval mode); distributed, the mean over every rank's rows.
  validation_result validate(std::size_t epoch) {
    validation_result v;
    v.has_validation = validation_ != nullptr;
    try {
      if (validation_ != nullptr) v.loss = target_.loss(*validation_, validation_labels_);
      if (comm_) {
        const double rows = validation_ != nullptr ? static_cast<double>(validation_->shape()[0]) : 0.0;
        const auto t = ex_->values(validation_ != nullptr ? v.loss * rows : 0.0, rows, batch_state_.stop_requested);
        v.has_validation = t[1] > 0;  // validation rows on any rank: a validation loss for all
        v.loss = v.has_validation ? t[0] / t[1] : std::numeric_limits<double>::quiet_NaN();
        v.stopped = t[2] != 0;
      }
    } catch (const distributed_error&) {
      throw;
    } catch (const std::exception& e) {
      if (!comm_) throw;
      ex_->fail("after epoch " + std::to_string(epoch) + ": " + e.what(), std::current_exception());
    }
    return v;
  }

  using named_values = std::vector<std::pair<std::string, double>>;

  // The rows a model's epoch metrics are measured on: the validation rows, else a fixed sample of the
  // rows trained on (up to `metric_sample` of them, evenly spaced in the data's order: the same rows
  // every epoch); none for a streamed run without validation rows.
  static constexpr std::size_t metric_sample = 4096;
  const xt::xtensor<T, 2>* metric_rows() {
    if (validation_ != nullptr) return validation_;
    if (source_ != nullptr || n_ == 0) return nullptr;
    if (sample_.shape()[0] == 0) {
      const std::size_t m = std::min(n_, metric_sample);
      std::vector<std::size_t> rows(m);
      for (std::size_t i = 0; i < m; ++i) {
        const std::size_t r = i * n_ / m;
        rows[i] = train_rows_.empty() ? r : train_rows_[r];
      }
      sample_ = gather_rows(data_, rows);
    }
    return &sample_;
  }

  // The model's values after the epoch (its `epoch_statistics` over `metric_rows`, summed over the
  // ranks, then its `epoch_metrics`); empty for a model without the hook or without rows to measure.
  named_values model_metrics(std::size_t epoch) {
    if (!target_.reports_metrics()) return {};
    try {
      const xt::xtensor<T, 2>* rows = metric_rows();
      if (!comm_ && rows == nullptr) return {};
      std::vector<double> sums = target_.epoch_statistics(rows != nullptr ? *rows : no_rows());
      if (comm_) {
        sums.push_back(rows != nullptr ? static_cast<double>(rows->shape()[0]) : 0.0);
        ex_->sum(sums);
        if (sums.back() == 0) return {};
        sums.pop_back();
      }
      return target_.epoch_metrics(sums);
    } catch (const distributed_error&) {
      throw;
    } catch (const std::exception& e) {
      if (!comm_) throw;
      ex_->fail("measuring the model's metrics after epoch " + std::to_string(epoch) + ": " + e.what(),
                std::current_exception());
    }
  }

  // The epoch's values into `History::model_series` (just after its loss): a series new this epoch
  // starts with NaN for the epochs before, a series this epoch did not report gets NaN.
  void record_series(const named_values& metrics) {
    const std::size_t epochs = history_.loss.size();
    for (const auto& [name, v] : metrics) {
      std::vector<double>& series = history_.model_series[name];
      series.resize(epochs - 1, std::numeric_limits<double>::quiet_NaN());
      series.push_back(v);
    }
    for (auto& [name, series] : history_.model_series) series.resize(epochs, std::numeric_limits<double>::quiet_NaN());
  }

  // The callbacks, in order; distributed, every rank stops when one does, with the reason of the first
  // that did (returned; empty when no rank's reason is needed).
  std::string run_callbacks(std::size_t epoch, FitState& state) {
    std::string stop_reason;
    try {
      for (Callback& cb : callbacks_) cb(state);
      if (comm_ && ex_->values(0, 0, state.stop_requested())[2] != 0) {
        const auto reasons = comm_->all_gather(state.stop_requested() ? state.stop_reason() : std::string());
        for (std::size_t r = 0; r < reasons.size(); ++r)
          if (!reasons[r].empty()) {
            stop_reason = r == 0 ? reasons[r] : "rank " + std::to_string(r) + ": " + reasons[r];
            break;
          }
        state.stop(stop_reason);
      }
    } catch (const distributed_error&) {
      throw;
    } catch (const std::exception& e) {
      if (!comm_) throw;
      ex_->fail("in a callback after epoch " + std::to_string(epoch) + ": " + e.what(), std::current_exception());
    }
    return stop_reason;
  }

  fit_target<T>& target_;
  const xt::xtensor<T, 2>& data_;
  const FitOptions& options_;
  const xt::xtensor<T, 2>* validation_;
  const labels_type* labels_;
  const labels_type* validation_labels_;
  const std::size_t width_, classes_;
  Communicator* const comm_;
  const std::size_t rank_;

  aligned_buffer<T> conditions_;        // a conditional model's one-hot rows
  std::vector<std::size_t> train_rows_;  // the rows trained on, when a random split held some out
  xt::xtensor<T, 2> sample_;            // the rows a model's metrics are measured on without validation
  xt::xtensor<T, 2> held_x_;            // the rows `validation_split` held out
  labels_type held_labels_;
  std::size_t n_ = 0;  // rows trained on
  distributed_plan plan_;
  std::optional<exchange<T>> ex_;

  RowSource* source_ = nullptr;          // a streamed run's rows
  aligned_buffer<float> stream_floats_;  // its batch as read
  aligned_buffer<T> stream_rows_;        // ... and in the model's type (double models)

  std::size_t batch_ = 0, steps_ = 0;
  bool by_index_ = false;
  std::vector<std::size_t> order_;
  Rng shuffle_rng_;
  ProgressReporter* progress_ = nullptr;
  History history_;
  std::vector<Callback> callbacks_;
  BatchState batch_state_;
};

/// Trains `target` on the rows `source` streams (see `fit` with a `RowSource`).
template <class T>
History fit_loop(fit_target<T>& target, RowSource& source, const FitOptions& options,
                 const xt::xtensor<T, 2>* validation) {
  return fit_run<T>(target, source, options, validation).run();
}

/// Trains `target` on `data` (see `fit`): the whole run, compiled once per scalar type.
template <class T>
History fit_loop(fit_target<T>& target, const xt::xtensor<T, 2>& data, const FitOptions& options,
                 const xt::xtensor<T, 2>* validation, const xt::xtensor<std::int32_t, 1>* labels,
                 const xt::xtensor<std::int32_t, 1>* validation_labels) {
  return fit_run<T>(target, data, options, validation, labels, validation_labels).run();
}

// With LATENT_EXTERN_TEMPLATES defined, the loop for float and double is compiled once per program,
// not once per translation unit: the explicit instantiation declarations below stop each unit from
// instantiating it, and the one unit that includes <latent/instantiate.hpp> defines it (docs/building.md,
// "The training loop compiled once").
#define LATENT_DETAIL_FIT_LOOP_INSTANCES(kind, T)                                                             \
  kind template History fit_loop<T>(fit_target<T>&, RowSource&, const FitOptions&, const xt::xtensor<T, 2>*); \
  kind template History fit_loop<T>(fit_target<T>&, const xt::xtensor<T, 2>&, const FitOptions&,             \
                                    const xt::xtensor<T, 2>*, const xt::xtensor<std::int32_t, 1>*,             \
                                    const xt::xtensor<std::int32_t, 1>*);
#if defined(LATENT_EXTERN_TEMPLATES)
LATENT_DETAIL_FIT_LOOP_INSTANCES(extern, float)
LATENT_DETAIL_FIT_LOOP_INSTANCES(extern, double)
#endif

}  // namespace latent::detail
