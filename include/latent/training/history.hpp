#pragma once
/// \file
/// `latent::History`: what `fit` returns.

#include <cstddef>  // std::size_t
#include <vector>   // std::vector

namespace latent {

/// Per-epoch record of a `fit` run (as Keras's History): the mean training loss over the epoch's
/// samples, the validation loss after the epoch (empty without validation data), and the wall-clock
/// seconds the epoch took.
struct History {
  std::vector<double> loss;
  std::vector<double> val_loss;
  std::vector<double> seconds;

  std::size_t epochs() const noexcept { return loss.size(); }
  /// Sum of `seconds`.
  double total_seconds() const noexcept {
    double s = 0;
    for (double x : seconds) s += x;
    return s;
  }
};

}  // namespace latent
