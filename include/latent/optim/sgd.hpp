#pragma once
/// \file
/// `latent::SGD`: stochastic gradient descent with optional (Nesterov) momentum.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/kernels/update.hpp"
#include "latent/optim/clipper.hpp"

#include <algorithm>    // std::copy
#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <span>         // std::span
#include <string>       // std::to_string
#include <type_traits>  // std::is_same_v

namespace latent {

/// SGD in Keras's form: u ← μ·u − lr·g, p ← p + u (Nesterov: p ← p + μ·u − lr·g). Defaults as Keras:
/// lr 0.01, momentum 0. `set_weight_decay(λ)` adds L2 decay (g ← g + λ·p, PyTorch's `weight_decay`);
/// `set_schedule` a learning-rate schedule (see `detail::optimizer_common`). Example: tests/test_core.cpp
/// (hand-computed updates).
class SGD : public detail::optimizer_common {
 public:
  explicit SGD(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false)
      : optimizer_common("SGD", learning_rate), momentum_(momentum), nesterov_(nesterov) {
    if (!(momentum >= 0 && momentum < 1))
      throw option_error("SGD: expected 0 <= momentum < 1, found " + std::to_string(momentum));
  }

  /// One update of `params` from `grads` (same length; the length must not change between steps
  /// unless `reset()` is called).
  template <class T>
  void step(std::span<T> params, std::span<const T> grads) {
    step(params, grads, 1);
  }

  /// The same update split over up to `threads` threads of latent's pool; bit-identical to one thread's
  /// (elementwise, split on whole vectors); under 16 384 parameters it stays on one thread.
  template <class T>
  void step(std::span<T> params, std::span<const T> grads, std::size_t threads) {
    prepare<T>("SGD::step", params.size(), grads.size());
    const T* g = begin_step(grads);
    detail::for_ranges(params.size(), threads, parallel_min_items,
                       [&](std::size_t first, std::size_t last) { update(params.data(), g, first, last); });
  }

  /// The range protocol (see `Adam::begin_ranges`): a step applied part by part; false when gradient
  /// clipping needs the whole gradient first.
  template <class T>
  bool begin_ranges(std::size_t size) {
    prepare<T>("SGD::begin_ranges", size, size);
    return begin_ranged_step();
  }
  template <class T>
  void update_range(std::span<T> params, std::span<const T> grads, std::size_t first, std::size_t last) noexcept {
    update(params.data(), grads.data(), first, last);
  }
  /// `update_range`, also storing each parameter's value before the update to `old[i]` in the same
  /// pass; returns whether every new parameter is finite (see `Adam::update_range_keeping`).
  template <class T>
  bool update_range_keeping(std::span<T> params, std::span<const T> grads, std::size_t first, std::size_t last,
                            T* old) noexcept {
    bool finite = true;
    by_decay(first, last, [&](std::size_t a, std::size_t b, bool decay) {
      finite = kernels::sgd_update_keeping(b - a, params.data() + a, grads.data() + a, velocity<T>().data() + a,
                                           static_cast<T>(lr_now_), static_cast<T>(momentum_), nesterov_, old + a,
                                           decay ? static_cast<T>(weight_decay_) : T(0)) &&
               finite;
    });
    return finite;
  }

  void reset() noexcept {
    t_ = 0;
    uf_ = aligned_buffer<float>();
    ud_ = aligned_buffer<double>();
  }
  double momentum() const noexcept { return momentum_; }
  bool nesterov() const noexcept { return nesterov_; }

  /// The velocity for float or double parameters (empty if not in use), for checkpoints and tests.
  template <class T>
  std::span<const T> velocity_state() const noexcept {
    if constexpr (std::is_same_v<T, float>)
      return uf_.span();
    else
      return ud_.span();
  }
  /// Restores a saved state (checkpoints).
  void restore(std::size_t t, std::span<const float> uf, std::span<const double> ud) {
    t_ = t;
    uf_ = aligned_buffer<float>(uf.size());
    std::copy(uf.begin(), uf.end(), uf_.begin());
    ud_ = aligned_buffer<double>(ud.size());
    std::copy(ud.begin(), ud.end(), ud_.begin());
  }

 private:
  template <class T>
  aligned_buffer<T>& velocity() noexcept {
    if constexpr (std::is_same_v<T, float>)
      return uf_;
    else
      return ud_;
  }
  template <class T>
  void prepare(const char* who, std::size_t params, std::size_t grads) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "latent: SGD works on float or double");
    auto& u = velocity<T>();
    if (check_step(who, params, grads, u.size())) u = aligned_buffer<T>(params);
  }
  template <class T>
  void update(T* p, const T* g, std::size_t first, std::size_t last) noexcept {
    by_decay(first, last, [&](std::size_t a, std::size_t b, bool decay) {
      kernels::sgd_update(b - a, p + a, g + a, velocity<T>().data() + a, static_cast<T>(lr_now_),
                          static_cast<T>(momentum_), nesterov_, decay ? static_cast<T>(weight_decay_) : T(0));
    });
  }

  double momentum_;
  bool nesterov_;
  aligned_buffer<float> uf_;
  aligned_buffer<double> ud_;
};

}  // namespace latent
