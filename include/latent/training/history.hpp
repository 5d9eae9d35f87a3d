#pragma once
/// \file
/// `latent::History`: what `fit` returns.

#include <cstddef>  // std::size_t
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
