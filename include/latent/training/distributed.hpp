#pragma once
/// \file
/// The data-parallel part of `fit` (with `FitOptions::communicator`): which rows each process trains
/// on at each step, and the one exchange that every collective of the training loop goes through.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/communicator.hpp"
#include "latent/core/error.hpp"

#include <algorithm>  // std::copy, std::fill, std::min, std::max
#include <array>      // std::array
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <exception>  // std::exception_ptr, std::rethrow_exception
#include <span>       // std::span
#include <string>     // std::string, std::to_string
#include <vector>     // std::vector

namespace latent::detail {

/// A seed for (seed, a, b, c): SplitMix64's finaliser over the mix, so neighbouring inputs give
/// unrelated streams (the shuffle of each rank and epoch, the noise of each step).
inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) noexcept {
  std::uint64_t z = seed;
  for (const std::uint64_t v : {a, b, c}) {
    z += 0x9E3779B97F4A7C15ULL + v;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
  }
  return z;
}

/// The rows of each step of a distributed epoch. The global batch B is split evenly over the R ranks
/// (rank r takes ⌊B(r+1)/R⌋ − ⌊Br/R⌋ rows a step).
/// - Sharded (each rank passes its own rows, n_r of them): rank r takes its share from its own shuffled
///   rows; an epoch has as many steps as the largest shard needs, and a smaller shard contributes fewer
///   rows, or none, to the last steps: every row of every shard is used once an epoch, and a step's
///   gradient is the mean over the rows all ranks used in it.
/// - Not sharded (every rank passes the same n rows): all ranks shuffle alike, each global batch is the
///   one a single process would take, and rank r trains on its share of it.
struct distributed_plan {
  std::size_t rank = 0, ranks = 1, batch = 1;
  bool sharded = true;
  std::vector<std::size_t> rows;  // each rank's training rows

  static std::size_t share(std::size_t total, std::size_t r, std::size_t ranks) noexcept {
    return total * (r + 1) / ranks - total * r / ranks;
  }
  static std::size_t share_start(std::size_t total, std::size_t r, std::size_t ranks) noexcept {
    return total * r / ranks;
  }
  std::size_t steps() const noexcept {
    std::size_t s = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      const std::size_t b = sharded ? share(batch, r, ranks) : batch;
      s = std::max(s, (rows[r] + b - 1) / b);
    }
    return s;
  }
  /// This rank's rows at step s, as [first, first + count) of its (shuffled) order.
  std::pair<std::size_t, std::size_t> local(std::size_t s) const noexcept {
    if (sharded) {
      const std::size_t b = share(batch, rank, ranks), first = std::min(rows[rank], s * b);
      return {first, std::min(b, rows[rank] - first)};
    }
    const std::size_t first = s * batch, g = std::min(batch, rows[0] - first);
    return {first + share_start(g, rank, ranks), share(g, rank, ranks)};
  }
  /// The rows all ranks train on at step s.
  std::size_t global(std::size_t s) const noexcept {
    if (!sharded) return std::min(batch, rows[0] - s * batch);
    std::size_t g = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      const std::size_t b = share(batch, r, ranks), first = std::min(rows[r], s * b);
      g += std::min(b, rows[r] - first);
    }
    return g;
  }
};

/// Thrown by an exchange that a rank joined to stop training (its batch callback asked): no rank
/// applies the step.
struct stop_signal {};

/// The collectives of a distributed training loop. Each is one all-reduce of the same size — the
/// gradient's P values and four more — so that a rank that fails anywhere in the loop can join
/// whichever exchange the others are in, with its failure flag set; every rank then learns who failed
/// and why, and throws instead of waiting for it forever.
template <class T>
class exchange {
 public:
  static constexpr std::size_t tail = 4;  // [a, b, stop flag, failure flag]

  exchange(Communicator& comm, std::size_t params) : comm_(comm), params_(params), buffer_(params + tail) {}

  Communicator& comm() noexcept { return comm_; }

  /// A training step's exchange: sums `grads` (in place) and the local loss sum over the ranks, with
  /// this rank's `stop` flag; returns the global loss sum. Throws `stop_signal` when a rank stops.
  double step(std::span<T> grads, double loss_sum, bool stop) {
    std::copy(grads.begin(), grads.end(), buffer_.data());
    const auto t = reduce(loss_sum, 0, stop);
    if (t[2] != 0) throw stop_signal{};
    std::copy(buffer_.data(), buffer_.data() + params_, grads.begin());
    return t[0];
  }
  /// An exchange without a gradient: sums (a, b) and the stop flags; returns {a, b, stops}.
  std::array<double, 3> values(double a, double b, bool stop) {
    std::fill(buffer_.data(), buffer_.data() + params_, T(0));
    return reduce(a, b, stop);
  }
  /// Sums `values` (in place) over the ranks, through exchanges of the same size as every other (the
  /// gradient's P values and two of the tail each, as many as it takes; every rank passes as many
  /// values). The sums pass through `T`: whole numbers are exact up to 2²⁴ in float.
  void sum(std::vector<double>& values) {
    for (std::size_t at = 0; at < values.size();) {
      const std::size_t n = std::min(params_, values.size() - at);
      std::fill(buffer_.data(), buffer_.data() + params_, T(0));
      for (std::size_t i = 0; i < n; ++i) buffer_[i] = static_cast<T>(values[at + i]);
      const double a = at + n < values.size() ? values[at + n] : 0.0;
      const double b = at + n + 1 < values.size() ? values[at + n + 1] : 0.0;
      const auto t = reduce(a, b, false);
      for (std::size_t i = 0; i < n; ++i) values[at + i] = static_cast<double>(buffer_[i]);
      if (at + n < values.size()) values[at + n] = t[0];
      if (at + n + 1 < values.size()) values[at + n + 1] = t[1];
      at += n + 2;
    }
  }
  /// This rank failed with `what` (the exception in flight is `failure`): joins the exchange the
  /// others are in with its failure flag, then rethrows `failure`.
  [[noreturn]] void fail(const std::string& what, std::exception_ptr failure) {
    std::fill(buffer_.data(), buffer_.data() + params_ + tail, T(0));
    buffer_[params_ + 3] = T(1);
    comm_.all_reduce_sum(buffer_.span());
    report(what);
    std::rethrow_exception(failure);
  }

 private:
  std::array<double, 3> reduce(double a, double b, bool stop) {
    T* x = buffer_.data() + params_;
    x[0] = static_cast<T>(a);
    x[1] = static_cast<T>(b);
    x[2] = stop ? T(1) : T(0);
    x[3] = T(0);
    comm_.all_reduce_sum(buffer_.span());
    if (x[3] != 0) {
      report("");
      throw distributed_error("fit: a rank failed");  // not reached: report throws
    }
    return {static_cast<double>(x[0]), static_cast<double>(x[1]), static_cast<double>(x[2])};
  }
  // Every rank: gathers the failure messages; a rank that did not fail throws `distributed_error`
  // naming the first rank that did and its error.
  void report(const std::string& own) {
    const std::vector<std::string> all = comm_.all_gather(own);
    if (!own.empty()) return;
    for (std::size_t r = 0; r < all.size(); ++r)
      if (!all[r].empty())
        throw distributed_error("fit: rank " + std::to_string(r) + " of " + std::to_string(all.size()) +
                                " failed, so training stops on every rank: " + all[r]);
    throw distributed_error("fit: a rank failed without a message");
  }

  Communicator& comm_;
  std::size_t params_;
  aligned_buffer<T> buffer_;
};

/// The first collective of a distributed `fit`: each rank's `status` ("" when its checks passed, else
/// its error) and `identity` (architecture, parameter count, rows). Throws on every rank when any
/// check failed (the failing rank rethrows its own `failure`) or when the identities that must match
/// (`identity` up to the first '|' when `rows_may_differ`, else all of it) differ.
inline std::vector<std::string> agree(Communicator& comm, const std::string& status, std::exception_ptr failure,
                                      const std::string& identity) {
  const std::vector<std::string> all = comm.all_gather(status.empty() ? "ok\n" + identity : "error\n" + status);
  if (failure) std::rethrow_exception(failure);
  std::vector<std::string> ids;
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r].rfind("error\n", 0) == 0)
      throw distributed_error("fit: rank " + std::to_string(r) + " of " + std::to_string(all.size()) +
                              " failed before training, so no rank trains: " + all[r].substr(6));
    ids.push_back(all[r].substr(3));
  }
  return ids;
}

}  // namespace latent::detail
