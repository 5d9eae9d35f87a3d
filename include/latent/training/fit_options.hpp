#pragma once
/// \file
/// `latent::FitOptions` and `latent::Progress`: how `fit` trains.

#include "latent/core/communicator.hpp"
#include "latent/training/callbacks.hpp"

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <string>   // std::string
#include <vector>   // std::vector

namespace latent {

/// How `fit` reports progress on stderr.
enum class Progress {
  automatic,  ///< a bar when stderr is a terminal, else one line per epoch
  bar,        ///< a bar redrawn in place (at most 10 times a second), then one line per epoch
  lines,      ///< one line per epoch
  quiet,      ///< nothing
};

/// Options of `fit`, meant for designated initialisers: `{.epochs = 100, .batch_size = 32}`.
struct FitOptions {
  std::size_t epochs = 1;       ///< passes over the data
  std::size_t batch_size = 32;  ///< samples per step; the last partial batch is used, not dropped
  bool shuffle = true;          ///< shuffle the samples before each epoch
  std::uint64_t seed = 0;       ///< seed of the shuffle: the same seed gives the same batches
  Progress progress = Progress::automatic;
  /// Threads per training step: 0 keeps the model's setting (`set_threads`, automatic by default:
  /// two threads only for steps large enough to gain); n > 0 uses n for this run.
  std::size_t threads = 0;
  /// A checkpoint file (empty: none). Every `checkpoint_every` epochs, and after the last, `fit` saves
  /// the model, the optimiser state and its own state (epoch, shuffle generator, history) there,
  /// atomically.
  std::string checkpoint = {};
  std::size_t checkpoint_every = 1;
  /// Continue from `checkpoint` if it exists: a run stopped and resumed ends with weights bit-identical
  /// to an uninterrupted run with the same options. Without the file, training starts afresh.
  bool resume = false;
  /// Holds out this fraction of the rows as validation data (Keras's `validation_split`): the last
  /// ⌈fraction·n⌉ rows (as Keras does, before any shuffling), or with `random_split` a random set of
  /// rows drawn from `seed`; the rest are trained on. 0 (the default) holds out nothing. Refused
  /// (`option_error`) outside [0, 1), together with explicit validation data, or when either part
  /// would be empty.
  double validation_split = 0;
  bool random_split = false;
  /// Called in order after each epoch (see training/callbacks.hpp): `EarlyStopping`, `SaveBestModel`,
  /// `HistoryLogger` or any callable taking `FitState&`.
  std::vector<Callback> callbacks = {};
  /// Called after each training step (empty: none); it may stop training.
  BatchCallback on_batch = {};
  /// Data-parallel training over the ranks of a communicator (`mpi::Session::world()` from
  /// latent/mpi.hpp; null, or one rank: this process alone). `batch_size` is then the global batch,
  /// split evenly over the ranks; gradients and losses are summed in one exchange per step, in a fixed
  /// order, so every rank holds the same parameters after every step (see the README's "Beyond one
  /// machine").
  Communicator* communicator = nullptr;
  /// With a communicator: true when each rank passes its own rows (a shard; sizes may differ), false
  /// when every rank passes the same rows (each step then trains on the global batch one process
  /// would take, split over the ranks).
  bool sharded = true;
};

}  // namespace latent
