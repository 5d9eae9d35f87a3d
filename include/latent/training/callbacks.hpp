#pragma once
/// \file
/// Callbacks of `fit`: `FitState` (what a callback sees at the end of an epoch), `BatchState` (after a
/// step), and the built-in callbacks `EarlyStopping`, `SaveBestModel` and `HistoryLogger`.
///
/// A callback is any callable taking `FitState&`, e.g. a lambda:
///
///     fit(model, x, opt, {.epochs = 50, .validation_split = 0.1,
///                         .callbacks = {EarlyStopping{.patience = 5},
///                                       [](FitState& s) { if (s.loss() < 0.01) s.stop("good enough"); }}});
///
/// `fit` copies its options' callbacks at the start of a run, so a built-in's state (the best weights
/// so far) belongs to that run; callbacks run in order after each epoch's history is recorded.

#include "latent/core/error.hpp"
#include "latent/io/atomic_file.hpp"
#include "latent/training/history.hpp"

#include <any>         // std::any: a snapshot of a model of any type
#include <cmath>       // std::isfinite, std::isnan
#include <cstddef>     // std::size_t
#include <cstdio>      // std::snprintf
#include <functional>  // std::function
#include <iterator>    // std::next: the last of the model's series
#include <limits>      // std::numeric_limits
#include <string>      // std::string, std::to_string
#include <typeinfo>    // std::type_info
#include <utility>     // std::move, std::pair
#include <vector>      // std::vector

namespace latent {

/// Which loss a callback or schedule watches: the validation loss when `fit` has validation data and
/// the training loss otherwise (`automatic`), or one of them explicitly (`val_loss` without
/// validation data is an `option_error` at the end of the first epoch).
enum class Monitor { automatic, val_loss, loss };

/// A copy of a model's parameters (`FitState::snapshot`), restored with `FitState::restore`.
class ModelSnapshot {
 public:
  bool empty() const noexcept { return !value_.has_value(); }
  /// The epoch the snapshot was taken after.
  std::size_t epoch() const noexcept { return epoch_; }

 private:
  friend class FitState;
  std::any value_;
  std::size_t epoch_ = 0;
};

/// What a callback sees at the end of an epoch: the epoch, the history so far (this epoch included),
/// the optimiser's rate, and the model, through a type-checked reference or type-independent calls
/// (save, snapshot, restore). A callback stops training with `stop(reason)`: `fit` finishes the
/// callbacks of this epoch and returns, with `History::stop_reason` and `stopped_epoch` set.
class FitState {
 public:
  /// The epoch just finished, from 1.
  std::size_t epoch() const noexcept { return epoch_; }
  /// This process's rank in a data-parallel run (`FitOptions::communicator`; 0 otherwise). Callbacks
  /// run on every rank with the same history; the built-in ones write files on rank 0 only.
  std::size_t rank() const noexcept { return rank_; }
  /// The epochs `fit` was asked for.
  std::size_t epochs() const noexcept { return epochs_; }
  /// Every finished epoch's losses, rates and times, this epoch's last.
  const History& history() const noexcept { return *history_; }
  /// This epoch's mean training loss.
  double loss() const noexcept { return history_->loss.back(); }
  /// This epoch's validation loss (NaN without validation data).
  double val_loss() const noexcept {
    return history_->val_loss.empty() ? std::numeric_limits<double>::quiet_NaN() : history_->val_loss.back();
  }
  bool has_validation() const noexcept { return !history_->val_loss.empty(); }
  /// The loss `monitor` names for this epoch; `option_error` for `Monitor::val_loss` without
  /// validation data.
  double monitored(Monitor monitor, const char* who) const {
    if (monitor == Monitor::val_loss && !has_validation())
      throw option_error(std::string(who) + ": expected validation data to monitor val_loss, found none (pass "
                                            "validation data or a validation_split, or monitor Monitor::loss)");
    return monitor == Monitor::loss || !has_validation() ? loss() : val_loss();
  }
  /// The rate of the optimiser's last step (NaN when the optimiser does not say).
  double learning_rate() const noexcept {
    return history_->learning_rate.empty() ? std::numeric_limits<double>::quiet_NaN() : history_->learning_rate.back();
  }

  /// The model being trained; throws `option_error` if it is not a `Model`.
  template <class Model>
  Model& model() const {
    if (*type_ != typeid(Model))
      throw option_error(std::string("FitState::model: the model being trained is a ") + type_->name() +
                         ", not the type asked for, " + typeid(Model).name());
    return *static_cast<Model*>(model_);
  }
  /// Saves the model to `path` as `save` does (atomically).
  void save_model(const std::string& path) const { save_(model_, path); }
  /// A copy of the model's parameters now.
  ModelSnapshot snapshot() const {
    ModelSnapshot s;
    s.value_ = snapshot_(model_);
    s.epoch_ = epoch_;
    return s;
  }
  /// Puts back the parameters of a snapshot of this model (`option_error` for an empty one).
  void restore(const ModelSnapshot& s) const {
    if (s.empty()) throw option_error("FitState::restore: expected a snapshot of the model, found an empty one");
    restore_(model_, s.value_);
  }

  /// Asks `fit` to stop after this epoch; `reason` goes to `History::stop_reason` (the first reason
  /// given wins).
  void stop(std::string reason) {
    if (!stop_requested_) stop_reason_ = std::move(reason);
    stop_requested_ = true;
  }
  bool stop_requested() const noexcept { return stop_requested_; }
  /// Records the epoch whose weights the model ends with (`EarlyStopping` with restored weights).
  void set_best_epoch(std::size_t epoch) noexcept { history_->best_epoch = epoch; }

  // ---- for `fit` -------------------------------------------------------------------------------
  using save_fn = void (*)(void*, const std::string&);
  using snapshot_fn = std::any (*)(const void*);
  using restore_fn = void (*)(void*, const std::any&);
  FitState(void* model, const std::type_info& type, save_fn save, snapshot_fn snapshot, restore_fn restore,
           History& history, std::size_t epochs, std::size_t rank = 0)
      : model_(model),
        type_(&type),
        save_(save),
        snapshot_(snapshot),
        restore_(restore),
        history_(&history),
        epochs_(epochs),
        rank_(rank) {}
  void begin_epoch_end(std::size_t epoch) noexcept { epoch_ = epoch; }
  const std::string& stop_reason() const noexcept { return stop_reason_; }

 private:
  void* model_;
  const std::type_info* type_;
  save_fn save_;
  snapshot_fn snapshot_;
  restore_fn restore_;
  History* history_;
  std::size_t epochs_;
  std::size_t rank_;
  std::size_t epoch_ = 0;
  bool stop_requested_ = false;
  std::string stop_reason_;
};

/// A callback at the end of an epoch.
using Callback = std::function<void(FitState&)>;

/// What a batch callback sees after each training step; `stop()` ends training after this step (the
/// epoch is then recorded over the steps it took).
struct BatchState {
  std::size_t epoch = 0;    ///< from 1
  std::size_t batch = 0;    ///< from 1
  std::size_t batches = 0;  ///< steps in an epoch
  double loss = 0;          ///< this step's mean loss
  bool stop_requested = false;
  std::string stop_reason;
  void stop(std::string reason) {
    if (!stop_requested) stop_reason = std::move(reason);
    stop_requested = true;
  }
};
using BatchCallback = std::function<void(BatchState&)>;

namespace detail {
// The epoch of the best monitored loss so far and that loss: an epoch improves on the best when its
// loss is below best − min_delta (a non-finite loss never improves). 0 when no epoch is finite.
inline std::pair<std::size_t, double> best_epoch(const FitState& s, Monitor monitor, double min_delta,
                                                 const char* who) {
  (void)s.monitored(monitor, who);  // refuses val_loss without validation data
  const History& h = s.history();
  const auto& values = monitor == Monitor::loss || h.val_loss.empty() ? h.loss : h.val_loss;
  std::size_t best = 0;
  double best_value = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::isfinite(values[i]) && values[i] < best_value - min_delta) {
      best_value = values[i];
      best = i + 1;
    }
  return {best, best_value};
}
inline std::string format_loss(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
}  // namespace detail

/// Keras's `EarlyStopping`: stops when the monitored loss has not improved by more than `min_delta`
/// for `patience` epochs. With `restore_best_weights` (the default here; Keras's is false) the model
/// ends with the parameters of the best epoch — at the stop, and also after the last epoch when
/// training ran to the end — and `History::best_epoch` names it. The best epoch is found from the
/// history, so a resumed run stops where an uninterrupted one would; the best weights themselves are
/// kept in memory, so after a resume only an epoch since the resume can be restored.
struct EarlyStopping {
  std::size_t patience = 5;
  double min_delta = 0;
  Monitor monitor = Monitor::automatic;
  bool restore_best_weights = true;
  /// State of a run: the best epoch's parameters so far (`fit` runs a copy of the callback).
  ModelSnapshot best_weights = {};

  void operator()(FitState& s) {
    if (patience == 0) throw option_error("EarlyStopping: expected patience >= 1 epoch, found 0");
    if (!(min_delta >= 0) || !std::isfinite(min_delta))
      throw option_error("EarlyStopping: expected a finite min_delta >= 0, found " + std::to_string(min_delta));
    const auto [best, value] = detail::best_epoch(s, monitor, min_delta, "EarlyStopping");
    if (restore_best_weights && best == s.epoch()) best_weights = s.snapshot();
    const bool stopping = s.epoch() - best >= patience;
    if (stopping) {
      const char* name = monitor == Monitor::loss || !s.has_validation() ? "loss" : "val_loss";
      s.stop("early stopping: " + std::string(name) + " did not improve by more than " +
             detail::format_loss(min_delta) + " for " + std::to_string(s.epoch() - best) + " epochs" +
             (best > 0 ? " (best: epoch " + std::to_string(best) + ", " + detail::format_loss(value) + ")" : ""));
    }
    if (restore_best_weights && (stopping || s.epoch() == s.epochs()) && !best_weights.empty() &&
        best_weights.epoch() == best) {
      if (best != s.epoch()) s.restore(best_weights);
      s.set_best_epoch(best);
    }
  }
};

/// Keras's `ModelCheckpoint(save_best_only=True)`: saves the model to `path` (atomically, as `save`)
/// after every epoch whose monitored loss improves on the best by more than `min_delta`.
struct SaveBestModel {
  std::string path;
  Monitor monitor = Monitor::automatic;
  double min_delta = 0;

  void operator()(FitState& s) const {
    if (path.empty()) throw option_error("SaveBestModel: expected a path, found an empty one");
    if (detail::best_epoch(s, monitor, min_delta, "SaveBestModel").first == s.epoch() && s.rank() == 0)
      s.save_model(path);
  }
};

/// Keras's `CSVLogger`: after every epoch, writes the whole history to `path` (atomically, so the file
/// is always complete): CSV with a header `epoch,loss,val_loss,learning_rate,seconds`, or JSON (an
/// object of arrays, as Keras's `history.history`) when the path ends in ".json". A model's own series
/// (`History::model_series`, e.g. a VQVAE's "codebook_perplexity") follow as columns (arrays) of
/// their names, in name order. A missing value (no validation) is empty in CSV and null in JSON.
struct HistoryLogger {
  std::string path;

  void operator()(FitState& s) const {
    if (path.empty()) throw option_error("HistoryLogger: expected a path, found an empty one");
    if (s.rank() != 0) return;
    detail::write_file_atomically(path, text(s.history(), path.ends_with(".json")), "HistoryLogger");
  }

  /// The history as CSV or JSON.
  static std::string text(const History& h, bool json) {
    const auto at = [](const std::vector<double>& v, std::size_t i) {
      return i < v.size() && !std::isnan(v[i]) ? detail::format_loss(v[i]) : std::string();
    };
    std::string out;
    if (!json) {
      out = "epoch,loss,val_loss,learning_rate,seconds";
      for (const auto& [name, values] : h.model_series) out.append(",").append(name);
      out += "\n";
      for (std::size_t i = 0; i < h.loss.size(); ++i) {
        out += std::to_string(i + 1) + "," + at(h.loss, i) + "," + at(h.val_loss, i) + "," + at(h.learning_rate, i) +
               "," + at(h.seconds, i);
        for (const auto& [name, values] : h.model_series) out.append(",").append(at(values, i));
        out += "\n";
      }
      return out;
    }
    const auto array = [&](const char* name, const std::vector<double>& v, bool last) {
      out += std::string("  \"") + name + "\": [";
      for (std::size_t i = 0; i < h.loss.size(); ++i) {
        const std::string x = at(v, i);
        out += (i ? ", " : "") + (x.empty() ? std::string("null") : x);
      }
      out += last ? "]\n" : "],\n";
    };
    out = "{\n";
    array("loss", h.loss, false);
    array("val_loss", h.val_loss, false);
    array("learning_rate", h.learning_rate, false);
    array("seconds", h.seconds, h.model_series.empty());
    for (auto it = h.model_series.begin(); it != h.model_series.end(); ++it)
      array(it->first.c_str(), it->second, std::next(it) == h.model_series.end());
    out += "}\n";
    return out;
  }
};

}  // namespace latent
