#pragma once
/// \file
/// `latent::detail::clipper`: gradient-norm clipping shared by the optimisers.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/detail/thread_pool.hpp"
#include "latent/kernels/elementwise.hpp"

#include <algorithm>    // std::copy
#include <cmath>        // std::sqrt, std::isfinite
#include <cstddef>      // std::size_t
#include <span>         // std::span
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v

namespace latent::detail {

/// Returns the gradients to use for a step: `grads` itself, or — when its L2 norm exceeds `max_norm`
/// > 0 — a scaled copy in a buffer kept for reuse (sized on first use, so steps allocate nothing after).
class clipper {
 public:
  template <class T>
  const T* apply(std::span<const T> grads, double max_norm) {
    if (max_norm <= 0) return grads.data();
    const double norm = std::sqrt(static_cast<double>(kernels::sum_of_squares(grads.size(), grads.data())));
    if (!(norm > max_norm)) return grads.data();
    auto& b = buffer<T>();
    b.reserve(grads.size());
    std::copy(grads.begin(), grads.end(), b.begin());
    kernels::scale(grads.size(), static_cast<T>(max_norm / norm), b.data());
    return b.data();
  }

 private:
  template <class T>
  aligned_buffer<T>& buffer() noexcept {
    if constexpr (std::is_same_v<T, float>)
      return f_;
    else
      return d_;
  }
  aligned_buffer<float> f_;
  aligned_buffer<double> d_;
};

/// What every optimiser shares: the step count, gradient-norm clipping and the size checks of `step`.
class optimizer_common {
 public:
  /// Gradient-norm clipping (Keras's `clipnorm`): before each step, gradients whose L2 norm exceeds
  /// `max_norm` are scaled down to it; 0 turns it off (the default).
  void set_clip_norm(double max_norm) {
    if (!(max_norm >= 0) || !std::isfinite(max_norm))
      throw option_error("set_clip_norm: expected a finite norm >= 0, found " + std::to_string(max_norm));
    clip_norm_ = max_norm;
  }
  double clip_norm() const noexcept { return clip_norm_; }
  /// Steps taken since construction or `reset()`.
  std::size_t iterations() const noexcept { return t_; }

 protected:
  // Updates of fewer parameters than this run on one thread: waking a second costs more than it saves.
  static constexpr std::size_t parallel_min_items = 16384;

  // Checks a step's sizes; returns true when the state (now `state_size` long) must be (re)allocated
  // for `params` values, which is allowed only before the first step.
  bool check_step(const char* who, std::size_t params, std::size_t grads, std::size_t state_size) const {
    if (params != grads)
      throw shape_error(std::string(who) + ": expected as many gradients as parameters (" + std::to_string(params) +
                        "), found " + std::to_string(grads));
    if (state_size == params) return false;
    if (t_ != 0)
      throw shape_error(std::string(who) + ": this optimiser holds state for " + std::to_string(state_size) +
                        " parameters, found " + std::to_string(params) + "; call reset() to reuse it");
    return true;
  }
  // The gradients to use (clipped if asked), counting the step.
  template <class T>
  const T* begin_step(std::span<const T> grads) {
    ++t_;
    return clip_.apply(grads, clip_norm_);
  }
  // Counts a step that the model applies range by range (the range protocol); false, counting
  // nothing, when clipping needs the whole gradient's norm first.
  bool begin_ranged_step() noexcept {
    if (clip_norm_ > 0) return false;
    ++t_;
    return true;
  }

  std::size_t t_ = 0;
  double clip_norm_ = 0;
  clipper clip_;
};

}  // namespace latent::detail
