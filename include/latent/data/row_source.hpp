#pragma once
/// \file
/// `latent::RowSource`: rows of float data streamed from somewhere larger than memory (`NpyShards`
/// reads .npy files), which `fit` trains on a batch at a time. A user's own source (a database, a
/// network's activations computed on the fly) derives from it.

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t

namespace latent {

/// A stream of rows of `width()` floats, `rows()` of them per epoch. `fit(model, source, opt, options)`
/// calls `start_epoch(e)` before epoch e (1, 2, …; the same e must give the same order, so that a
/// resumed run sees the batches it would have seen), then `next` until it has the epoch's rows. Errors
/// are exceptions (`latent::io_error`, `format_error`, ...); `fit` passes them on with the model at its
/// last good step.
class RowSource {
 public:
  virtual ~RowSource() = default;
  /// Floats per row.
  virtual std::size_t width() const = 0;
  /// Rows per epoch.
  virtual std::size_t rows() const = 0;
  /// Restarts the stream for epoch `epoch`.
  virtual void start_epoch(std::uint64_t epoch) = 0;
  /// Writes up to `max_rows` rows to `out` (row-major) and returns how many; fewer only at the end of
  /// the epoch, then 0.
  virtual std::size_t next(float* out, std::size_t max_rows) = 0;
};

}  // namespace latent
