#pragma once
/// \file
/// What every model owns: packed parameters and gradients, a noise generator and a training workspace.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/random.hpp"

#include <algorithm>  // std::min
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <span>       // std::span

namespace latent::detail {

/// Parameters and gradients of a model with `ParamCount` parameters (a compile-time fact), its own
/// generator for training noise, and a workspace that grows to the largest batch seen and is then
/// reused: a training step allocates nothing.
template <class T, std::size_t ParamCount>
class model_storage {
 public:
  static constexpr std::size_t param_count = ParamCount;
  /// Inference runs in chunks of this many rows, so a large input needs only a small workspace.
  static constexpr std::size_t inference_chunk = 256;

  explicit model_storage(std::uint64_t seed) : params_(ParamCount), grads_(ParamCount), noise_(seed ^ 0x5eedULL) {}

  std::span<T> parameters() noexcept { return params_.span(); }
  std::span<const T> parameters() const noexcept { return params_.span(); }
  /// The gradient of the last training step (or `gradient` call).
  std::span<const T> gradients() const noexcept { return grads_.span(); }

  /// Restarts the generator of training noise (sampling in VAEs, corruption in denoising models) from
  /// `seed`. The constructor seeds it from the model's seed; gradient checks and resumed runs reseed it.
  void set_noise_seed(std::uint64_t seed) noexcept { noise_.reseed(seed ^ 0x5eedULL); }

 protected:
  T* params() noexcept { return params_.data(); }
  const T* params() const noexcept { return params_.data(); }
  T* grads() noexcept { return grads_.data(); }
  Rng& noise() noexcept { return noise_; }
  T* workspace(std::size_t count) {
    workspace_.reserve(count);
    return workspace_.data();
  }
  void reseed_noise(std::uint64_t seed) noexcept { set_noise_seed(seed); }

  /// Calls fn(first_row, rows) over [0, n) in chunks of `inference_chunk`.
  template <class F>
  static void in_chunks(std::size_t n, F&& fn) {
    for (std::size_t r = 0; r < n; r += inference_chunk) fn(r, std::min(inference_chunk, n - r));
  }

 private:
  aligned_buffer<T> params_, grads_;
  Rng noise_;
  aligned_buffer<T> workspace_;
};

}  // namespace latent::detail
