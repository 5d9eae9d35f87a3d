#pragma once
/// \file
/// `latent::detail::clipper` and `latent::detail::optimizer_common`: what the optimisers share —
/// gradient-norm clipping, the learning rate and its schedule, and weight decay.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/detail/thread_pool.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/optim/schedule.hpp"

#include <algorithm>    // std::copy, std::max, std::min
#include <cmath>        // std::sqrt, std::isfinite
#include <cstddef>      // std::size_t
#include <span>         // std::span
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v
#include <utility>      // std::pair, std::move

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

/// What every optimiser shares: the step count, the learning rate and its schedule, weight decay,
/// gradient-norm clipping and the size checks of `step`.
class optimizer_common {
 public:
  /// A range [first, last) of packed parameters.
  using param_range = std::pair<std::size_t, std::size_t>;

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

  /// The base learning rate lr₀ (what the schedule starts from).
  double learning_rate() const noexcept { return learning_rate_; }
  /// Changes the base learning rate; the optimiser's state is kept. Throws `option_error`, as the
  /// constructor does, unless `lr` is finite and > 0.
  void set_learning_rate(double lr) {
    check_learning_rate(lr);
    learning_rate_ = lr;
  }
  /// The rate of the last step taken (0 before the first).
  double last_learning_rate() const noexcept { return lr_now_; }
  /// The rate the next step will use: the schedule's value after `iterations()` steps.
  double current_learning_rate() const noexcept { return schedule_.rate(learning_rate_, t_); }

  /// The learning-rate schedule read at every step (`ConstantRate` by default; see optim/schedule.hpp),
  /// e.g. `opt.set_schedule(CosineDecay{.steps = 10000, .warmup = 500})`. Its state is saved with the
  /// optimiser. Throws `option_error` for an invalid schedule (when it is built).
  void set_schedule(Schedule s) noexcept { schedule_ = std::move(s); }
  const Schedule& schedule() const noexcept { return schedule_; }
  Schedule& schedule() noexcept { return schedule_; }
  /// The end of an epoch whose monitored loss is `loss`: `ReduceLROnPlateau` reads it (`fit` calls
  /// this); the step schedules ignore it. Returns true when the rate was reduced.
  bool end_epoch(double loss) noexcept { return schedule_.end_epoch(loss, learning_rate_); }

  /// Weight decay λ >= 0 (0, the default, turns it off): decoupled for Adam (AdamW: p ← p·(1 − lr·λ)
  /// before the Adam update, Loshchilov & Hutter; PyTorch's `AdamW`), L2 for SGD (g ← g + λ·p, PyTorch's
  /// `SGD(weight_decay=)`). With `decay_biases` false, the parameters a latent model reports as biases
  /// (the layers' biases and a likelihood's own parameters) are not decayed; an optimiser used by
  /// hand (`step`) decays every parameter unless told the biases with `set_bias_ranges`.
  void set_weight_decay(double lambda, bool decay_biases = true) {
    if (!(lambda >= 0) || !std::isfinite(lambda))
      throw option_error(std::string(name_) + ": expected a finite weight decay >= 0, found " + std::to_string(lambda));
    weight_decay_ = lambda;
    decay_biases_ = decay_biases;
  }
  double weight_decay() const noexcept { return weight_decay_; }
  bool decays_biases() const noexcept { return decay_biases_; }
  /// The bias ranges of the packed parameters, sorted and disjoint (latent's models set them before
  /// each step; the span must outlive the steps that use it).
  void set_bias_ranges(std::span<const param_range> ranges) noexcept { bias_ranges_ = ranges; }

 protected:
  optimizer_common(const char* name, double learning_rate) : name_(name) {
    check_learning_rate(learning_rate);
    learning_rate_ = learning_rate;
  }

  // Updates of fewer parameters than this run on one thread: waking a second costs more than it saves.
  static constexpr std::size_t parallel_min_items = 16384;

  void check_learning_rate(double lr) const {
    if (!(lr > 0) || !std::isfinite(lr))
      throw option_error(std::string(name_) + ": expected a finite learning rate > 0, found " + std::to_string(lr));
  }

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
  // The gradients to use (clipped if asked), counting the step and reading its rate.
  template <class T>
  const T* begin_step(std::span<const T> grads) {
    lr_now_ = current_learning_rate();
    ++t_;
    return clip_.apply(grads, clip_norm_);
  }
  // Counts a step that the model applies range by range (the range protocol); false, counting
  // nothing, when clipping needs the whole gradient's norm first.
  bool begin_ranged_step() noexcept {
    if (clip_norm_ > 0) return false;
    lr_now_ = current_learning_rate();
    ++t_;
    return true;
  }

  // Calls f(a, b, decay) over [first, last) split where weight decay starts or stops applying: decay
  // is false everywhere without weight decay, and on the bias ranges when biases do not decay.
  template <class F>
  void by_decay(std::size_t first, std::size_t last, const F& f) const {
    if (!(weight_decay_ > 0)) return f(first, last, false);
    if (decay_biases_ || bias_ranges_.empty()) return f(first, last, true);
    std::size_t pos = first;
    for (const param_range& r : bias_ranges_) {
      if (r.second <= pos) continue;
      if (r.first >= last) break;
      const std::size_t a = std::max(r.first, pos), b = std::min(r.second, last);
      if (a > pos) f(pos, a, true);
      f(a, b, false);
      pos = b;
    }
    if (pos < last) f(pos, last, true);
  }

  const char* name_;
  double learning_rate_ = 0;
  double lr_now_ = 0;  // the rate of the step being taken
  double weight_decay_ = 0;
  bool decay_biases_ = true;
  std::span<const param_range> bias_ranges_{};
  Schedule schedule_{};
  std::size_t t_ = 0;
  double clip_norm_ = 0;
  clipper clip_;
};

}  // namespace latent::detail
