#pragma once
/// \file
/// `latent::History`: what `fit` returns.

#include "latent/core/error.hpp"

#include <cstddef>  // std::size_t
#include <map>      // std::map: the model's series by name
#include <string>   // std::string
#include <vector>   // std::vector

namespace latent {

/// Per-epoch record of a `fit` run (as Keras's History): the mean training loss over the epoch's
/// samples, the validation loss after the epoch (empty without validation data), the learning rate of
/// the epoch's last step (empty when the optimiser does not report one), and the wall-clock seconds
/// the epoch took; and why training ended.
///
/// Epochs are numbered from 1, as `fit`'s progress lines and the stop reasons print them: epoch e is
/// entry e − 1 of each vector (`loss[e - 1]`), and 0 in `stopped_epoch` and `best_epoch` means "none".
/// A run resumed from a checkpoint continues the checkpoint's history, so the numbers count from the
/// first epoch of the original run.
struct History {
  std::vector<double> loss;
  std::vector<double> val_loss;
  std::vector<double> learning_rate;
  std::vector<double> seconds;
  /// Empty when every epoch asked for ran; otherwise why training stopped early (a callback's reason,
  /// e.g. "early stopping: val_loss did not improve by more than 0 for 5 epochs (best: epoch 7, …)").
  std::string stop_reason;
  /// The epoch (from 1) after which training stopped early, the last one recorded; 0 when every
  /// epoch asked for ran.
  std::size_t stopped_epoch = 0;
  /// The epoch (from 1) whose weights the model ends with, set by `EarlyStopping` with
  /// `restore_best_weights` (its default) when its patience runs out or the last epoch asked for has
  /// run. It is the best epoch in `EarlyStopping`'s sense: going through the epochs in order, an epoch
  /// becomes the best when its monitored loss (`val_loss[e - 1]` with validation data, else
  /// `loss[e - 1]`, unless `monitor` says) is below the best's minus `min_delta`; with min_delta 0,
  /// the first epoch of the lowest loss. It may be the last epoch, whose weights the model has anyway.
  /// 0 means the model has the weights of the last epoch recorded: no `EarlyStopping` restoring
  /// weights, training that ended otherwise (another callback's or a batch callback's stop, before
  /// the patience ran out), no epoch with a finite monitored loss, or a best epoch from before a
  /// resume (the best weights are kept in memory, not in checkpoints).
  std::size_t best_epoch = 0;
  /// The values a model reports after every epoch, by name (empty for a model that reports none): a
  /// `VQVAE`'s "codebook_usage", "codebook_perplexity" and "dead_codes" (see `series`). Each series
  /// has one value per epoch (`model_series.at(name)[e - 1]`); an epoch that did not report a name
  /// holds NaN there.
  std::map<std::string, std::vector<double>> model_series;

  /// The series `name` of `model_series`; an `option_error` naming the series there are when the
  /// model reports no such series.
  const std::vector<double>& series(const std::string& name) const {
    if (const auto it = model_series.find(name); it != model_series.end()) return it->second;
    std::string known;
    for (const auto& [n, values] : model_series) known.append(known.empty() ? "" : ", ").append(n);
    throw option_error("History::series: expected the name of a series the model reports (" +
                       (known.empty() ? std::string("it reports none") : known) + "), found '" + name + "'");
  }

  std::size_t epochs() const noexcept { return loss.size(); }
  bool stopped_early() const noexcept { return stopped_epoch != 0; }
  /// Sum of `seconds`.
  double total_seconds() const noexcept {
    double s = 0;
    for (double x : seconds) s += x;
    return s;
  }
};

}  // namespace latent
