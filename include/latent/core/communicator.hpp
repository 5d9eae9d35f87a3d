#pragma once
/// \file
/// `latent::Communicator`: what data-parallel training needs from a group of processes. `fit` takes
/// one in `FitOptions::communicator`; latent/mpi.hpp implements it on MPI (`mpi::Session::world()`).
/// The library itself never includes mpi.h: without a communicator nothing here is used.

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <span>     // std::span
#include <string>   // std::string
#include <vector>   // std::vector

namespace latent {

/// A group of `size()` processes ("ranks"), this one being `rank()`. Every call is collective: each
/// rank makes the same calls in the same order. Called between training steps (never inside the
/// generated passes), so the virtual calls cost nothing that matters.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;
  /// Sums `values` elementwise over the ranks, in place, in a fixed order: every rank receives the same
  /// bits, and the same inputs give the same bits run after run.
  virtual void all_reduce_sum(std::span<float> values) = 0;
  virtual void all_reduce_sum(std::span<double> values) = 0;
  /// Rank `root`'s `bytes` on every rank.
  virtual void broadcast(std::string& bytes, std::size_t root) = 0;
  /// Every rank's `bytes`, in rank order.
  virtual std::vector<std::string> all_gather(const std::string& bytes) = 0;
};

}  // namespace latent
