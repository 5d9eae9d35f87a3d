#pragma once
/// \file
/// `latent::FitOptions` and `latent::Progress`: how `fit` trains.

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t

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
  std::size_t epochs = 1;          ///< passes over the data
  std::size_t batch_size = 32;     ///< samples per step; the last partial batch is used, not dropped
  bool shuffle = true;             ///< shuffle the samples before each epoch
  std::uint64_t seed = 0;          ///< seed of the shuffle: the same seed gives the same batches
  Progress progress = Progress::automatic;
  /// Threads per training step: 0 keeps the model's setting (`set_threads`, automatic by default:
  /// two threads only for steps large enough to gain); n > 0 uses n for this run.
  std::size_t threads = 0;
};

}  // namespace latent
