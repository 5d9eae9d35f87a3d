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
struct History {
  std::vector<double> loss;
  std::vector<double> val_loss;
  std::vector<double> learning_rate;
  std::vector<double> seconds;
  /// Empty when every epoch asked for ran; otherwise why training stopped early (a callback's reason,
  /// e.g. "early stopping: val_loss did not improve by more than 0 for 5 epochs (best: epoch 7, …)").
  std::string stop_reason;
  /// The epoch after which training stopped early (0 when it ran to the end).
  std::size_t stopped_epoch = 0;
  /// The epoch whose weights the model ends with when `EarlyStopping` restored the best weights
  /// (0 otherwise: the model has the last epoch's weights).
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
