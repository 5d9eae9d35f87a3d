#pragma once
/// \file
/// `latent::Adam`: the Adam optimiser with Keras's defaults.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/kernels/update.hpp"
#include "latent/optim/clipper.hpp"

#include <algorithm>    // std::copy
#include <cmath>        // std::expm1, std::log, std::sqrt, std::isfinite
#include <cstddef>      // std::size_t
#include <span>         // std::span
#include <string>       // std::to_string
#include <type_traits>  // std::is_same_v

namespace latent {

/// Adam (Kingma & Ba) in Keras's form, with Keras's defaults: learning rate 1e-3, β1 = 0.9,
/// β2 = 0.999, ε = 1e-7. One vectorised pass over the model's packed parameters, elementwise: at step
/// t (t = 1 for the first step, `iterations()` after it), with gradient g (after clipping) and rate lr
/// (the schedule's rate for the step, `last_learning_rate()` after it), every parameter p does
///
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     p ← p − lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m/(√v + ε)
///
/// with m = v = 0 before the first step (`state<T>(0)`, `state<T>(1)`). With weight decay λ (AdamW,
/// decoupled) p is first multiplied by 1 − lr·λ. The arithmetic is in the model's scalar type T, and
/// the formula holds with β1, β2 and ε rounded to T: the bias corrections 1 − βᵗ are computed (in
/// double) from the rounded β̃ that the moments actually decay by, so they undo the moments' bias
/// exactly (for float at β2 = 0.999, β̃2 = 0.99900001287). For example, a first step with
/// |g| ≫ ε/√(1 − β2) moves each parameter by lr·sign(g), to T's rounding.
///
/// PyTorch (`torch.optim.Adam`) adds ε to the bias-corrected √v instead:
/// p ← p − lr/(1 − β1ᵗ) · m/(√v/√(1 − β2ᵗ) + ε_torch), which is the formula above with
/// ε = ε_torch·√(1 − β2ᵗ). So latent's ε acts as PyTorch's ε/√(1 − β2ᵗ): 31.6·ε at the first step
/// with β2 = 0.999, within 1 % of ε after 4/(1 − β2) steps (4 000 at β2 = 0.999). There is no option
/// for PyTorch's placement (an optimiser file records lr, β1, β2 and ε, and a resumed run must not
/// change its rule); `Adam(lr, 0.9, 0.999, 1e-8)` (PyTorch's ε) gives PyTorch's update wherever
/// √v̂ = √(v/(1 − β2ᵗ)), about |g|, is far above ε: everywhere but on parameters whose gradients are
/// within a few orders of magnitude of 1e-8. PyTorch's `Adam(weight_decay=λ)` adds λ·p to the
/// gradient (L2); latent's weight decay is decoupled, as PyTorch's `AdamW`.
///
/// Options shared by every optimiser: `set_schedule` (a learning-rate schedule), `set_weight_decay`
/// (decoupled, AdamW), `set_clip_norm`; see `detail::optimizer_common`.
///
/// The moment estimates are sized on the first `step` for the model it is used with (float or double);
/// use one `Adam` per model. A β that rounds to 1 in the model's type is refused at the first step
/// (`option_error`). Example: examples/keras_seed.cpp.
class Adam : public detail::optimizer_common {
 public:
  explicit Adam(double learning_rate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7)
      : optimizer_common("Adam", learning_rate), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
    if (!(beta1 >= 0 && beta1 < 1)) throw option_error("Adam: expected 0 <= beta1 < 1, found " + std::to_string(beta1));
    if (!(beta2 >= 0 && beta2 < 1)) throw option_error("Adam: expected 0 <= beta2 < 1, found " + std::to_string(beta2));
    if (!(epsilon > 0) || !std::isfinite(epsilon))
      throw option_error("Adam: expected a finite epsilon > 0, found " + std::to_string(epsilon));
  }

  /// One update of `params` from `grads` (same length; the length must not change between steps
  /// unless `reset()` is called).
  template <class T>
  void step(std::span<T> params, std::span<const T> grads) {
    step(params, grads, 1);
  }

  /// The same update split over up to `threads` threads of latent's pool (the models pass the threads
  /// of their training step). The update is elementwise and the split falls on whole vectors, so the
  /// result is bit-identical to one thread's; small models (under 16 384 parameters) stay on one thread.
  template <class T>
  void step(std::span<T> params, std::span<const T> grads, std::size_t threads) {
    prepare<T>("Adam::step", params.size(), grads.size());
    const T* g = begin_step(grads);
    set_step_rate<T>();
    detail::for_ranges(params.size(), threads, parallel_min_items,
                       [&](std::size_t first, std::size_t last) { update(params.data(), g, first, last); });
  }

  /// The range protocol, for a model that updates its parameters part by part as its gradient is
  /// formed (latent's models do on several threads): `begin_ranges<T>(size)` starts a step for `size`
  /// parameters and returns true, or returns false and starts nothing when the step needs the whole
  /// gradient first (gradient clipping is on); then `update_range(params, grads, first, last)` updates
  /// [first, last) and may run concurrently on disjoint ranges. Together the ranges must cover every
  /// parameter once; the result is bit-identical to `step`'s.
  template <class T>
  bool begin_ranges(std::size_t size) {
    prepare<T>("Adam::begin_ranges", size, size);
    if (!begin_ranged_step()) return false;
    set_step_rate<T>();
    return true;
  }
  template <class T>
  void update_range(std::span<T> params, std::span<const T> grads, std::size_t first, std::size_t last) noexcept {
    update(params.data(), grads.data(), first, last);
  }
  /// `update_range`, also storing each parameter's value before the update to `old[i]` in the same
  /// pass (a model keeps its last good weights so); returns whether every new parameter is finite.
  template <class T>
  bool update_range_keeping(std::span<T> params, std::span<const T> grads, std::size_t first, std::size_t last,
                            T* old) noexcept {
    bool finite = true;
    by_decay(first, last, [&](std::size_t a, std::size_t b, bool decay) {
      finite = kernels::adam_update_keeping(b - a, params.data() + a, grads.data() + a, moments<T>(0).data() + a,
                                            moments<T>(1).data() + a, static_cast<T>(lr_t_), static_cast<T>(beta1_),
                                            static_cast<T>(beta2_), static_cast<T>(epsilon_), old + a,
                                            decay_factor<T>(decay)) &&
               finite;
    });
    return finite;
  }

  /// Forgets the moments and the step count.
  void reset() noexcept {
    t_ = 0;
    mf_[0] = mf_[1] = aligned_buffer<float>();
    md_[0] = md_[1] = aligned_buffer<double>();
  }

  double beta1() const noexcept { return beta1_; }
  double beta2() const noexcept { return beta2_; }
  double epsilon() const noexcept { return epsilon_; }

  /// Restores a saved state (checkpoints): the step count and the moments for float and/or double
  /// parameters (empty spans for a type not in use).
  void restore(std::size_t t, std::span<const float> mf, std::span<const float> vf, std::span<const double> md,
               std::span<const double> vd) {
    t_ = t;
    mf_[0] = copy_of(mf);
    mf_[1] = copy_of(vf);
    md_[0] = copy_of(md);
    md_[1] = copy_of(vd);
  }

  /// The first (`which` = 0) or second (1) moment estimates, for checkpoints and tests.
  template <class T>
  std::span<const T> state(int which) const noexcept {
    if constexpr (std::is_same_v<T, float>)
      return mf_[which].span();
    else
      return md_[which].span();
  }

 private:
  template <class T>
  static aligned_buffer<T> copy_of(std::span<const T> s) {
    aligned_buffer<T> b(s.size());
    std::copy(s.begin(), s.end(), b.begin());
    return b;
  }
  template <class T>
  aligned_buffer<T>& moments(int which) noexcept {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "latent: Adam works on float or double");
    if constexpr (std::is_same_v<T, float>)
      return mf_[which];
    else
      return md_[which];
  }

  // Checks the sizes and sizes the moments on the first step.
  template <class T>
  void prepare(const char* who, std::size_t params, std::size_t grads) {
    // A β so close to 1 that it rounds to 1 in T would freeze its moment at 0 (and the correction
    // would divide by 0): refused by name rather than turned into NaN parameters.
    if (static_cast<T>(beta1_) == T(1) || static_cast<T>(beta2_) == T(1))
      throw option_error(std::string(who) + ": expected beta1 and beta2 below 1 in the model's scalar type, found " +
                         std::to_string(static_cast<T>(beta1_) == T(1) ? beta1_ : beta2_) + ", which rounds to 1");
    auto& m = moments<T>(0);
    if (check_step(who, params, grads, m.size())) {
      m = aligned_buffer<T>(params);
      moments<T>(1) = aligned_buffer<T>(params);
    }
  }
  // The step size of step t_ (at the scheduled rate), with the bias correction folded in. The
  // correction is that of the moments the kernel actually keeps for T: it decays them by β̃ = T(β) and
  // adds c̃·g with c̃ = T(1) − β̃, so after t steps the weights of the gradients in a moment sum to
  // c̃·(1 − β̃ᵗ)/(1 − β̃) (= 1 − β̃ᵗ, since c̃ = 1 − β̃ exactly for β̃ >= 1/2), computed here in
  // double. With the nominal 1 − βᵗ instead, every float step at β2 = 0.999 was 1.0000067 times the
  // formula (β̃2 = 0.99900001287), at β2 = 0.9999 0.999917 times.
  template <class T>
  void set_step_rate() noexcept {
    lr_t_ = lr_now_ * std::sqrt(moment_weight<T>(beta2_)) / moment_weight<T>(beta1_);
  }
  template <class T>
  double moment_weight(double beta) const noexcept {
    const T b = static_cast<T>(beta);
    const double kept = static_cast<double>(b), added = static_cast<double>(T(1) - b);
    if (kept == 0) return added;  // β = 0: the moment is the last gradient (c̃ = 1)
    // 1 − β̃ᵗ as −expm1(t·log β̃): accurate to double's rounding however close β̃ᵗ is to 1.
    return added / (1 - kept) * -std::expm1(static_cast<double>(t_) * std::log(kept));
  }
  // The factor p is multiplied by before the update: 1 − lr·λ where weight decay applies, else 1.
  template <class T>
  T decay_factor(bool decay) const noexcept {
    return decay ? static_cast<T>(1 - lr_now_ * weight_decay_) : T(1);
  }
  template <class T>
  void update(T* p, const T* g, std::size_t first, std::size_t last) noexcept {
    by_decay(first, last, [&](std::size_t a, std::size_t b, bool decay) {
      kernels::adam_update(b - a, p + a, g + a, moments<T>(0).data() + a, moments<T>(1).data() + a,
                           static_cast<T>(lr_t_), static_cast<T>(beta1_), static_cast<T>(beta2_),
                           static_cast<T>(epsilon_), decay_factor<T>(decay));
    });
  }

  double beta1_, beta2_, epsilon_;
  double lr_t_ = 0;
  aligned_buffer<float> mf_[2];
  aligned_buffer<double> md_[2];
};

/// AdamW (Loshchilov & Hutter, 2019): `Adam` with decoupled weight decay λ, PyTorch's default λ = 0.01:
/// p ← p·(1 − lr·λ) − lr_t·m/(√v + ε). The same as `Adam` with `set_weight_decay(λ, decay_biases)`; it
/// saves and loads as an `Adam`.
class AdamW : public Adam {
 public:
  explicit AdamW(double learning_rate = 1e-3, double weight_decay = 0.01, bool decay_biases = true, double beta1 = 0.9,
                 double beta2 = 0.999, double epsilon = 1e-7)
      : Adam(learning_rate, beta1, beta2, epsilon) {
    set_weight_decay(weight_decay, decay_biases);
  }
};

}  // namespace latent
