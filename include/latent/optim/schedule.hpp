#pragma once
/// \file
/// `latent::Schedule`: learning-rate schedules that an optimiser reads at every step.
///
/// A schedule maps the optimiser's base learning rate lr₀ and the number k of steps already taken
/// (0 for the first step) to the rate of the next step. Steps are optimiser steps (batches); an epoch of
/// n rows at batch size b is ⌈n / b⌉ steps. `ReduceLROnPlateau` also reads the monitored loss at the end
/// of each epoch (`fit` passes it). A schedule and its state are saved with the optimiser, so a resumed
/// run follows the same rates as an uninterrupted one.

#include "latent/core/error.hpp"

#include <algorithm>    // std::max, std::min
#include <cmath>        // std::pow, std::cos, std::floor, std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <limits>       // std::numeric_limits
#include <numbers>      // std::numbers::pi
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_constructible_v
#include <variant>      // std::variant

namespace latent {

/// The base rate at every step (the default).
struct ConstantRate {};

/// lr₀ · factor^⌊k / every⌋ (PyTorch's `StepLR`, counted in steps): the rate drops by `factor` every
/// `every` steps.
struct StepDecay {
  std::size_t every = 1000;
  double factor = 0.1;
};

/// lr₀ · rate^(k / steps), or rate^⌊k / steps⌋ with `staircase` (Keras's `ExponentialDecay`).
struct ExponentialDecay {
  std::size_t steps = 1000;
  double rate = 0.96;
  bool staircase = false;
};

/// Linear warm-up, then a half cosine down to `min_lr` (Keras's `CosineDecay` with warm-up, whose
/// `warmup_steps + decay_steps` is `steps` here; PyTorch's `CosineAnnealingLR` after a `LinearLR`
/// warm-up). With k the steps already taken (0 for the first step):
///
///     k < warmup:  lr = lr₀·(k + 1)/warmup           (lr₀/warmup first; lr₀ at k = warmup − 1)
///     k >= warmup: lr = min_lr + (lr₀ − min_lr)·(1 + cos(π·p))/2,
///                  p = min(1, (k − warmup)/(steps − warmup))   (p = 1 when warmup = steps)
///
/// So the cosine starts at lr₀ (k = warmup, p = 0) and reaches `min_lr` at k = steps: the last step
/// of the `steps` (k = steps − 1) still runs a little above it, at
/// min_lr + (lr₀ − min_lr)·(1 − cos(π/(steps − warmup)))/2. After that the rate stays at `min_lr` for
/// every further step, however many (p is clamped to 1; there is no restart). With min_lr = 0 (the
/// default) such steps leave Adam's parameters where they are (its decay factor 1 − lr·λ is 1 too),
/// while SGD with momentum still coasts on its velocity (u ← μ·u).
struct CosineDecay {
  std::size_t steps = 1000;  ///< total steps, warm-up included
  std::size_t warmup = 0;
  double min_lr = 0;
};

/// Keras's `ReduceLROnPlateau`: after each epoch, the monitored loss (the validation loss when `fit`
/// has validation data, else the training loss) improves when it is below best − min_delta; after
/// `patience` epochs without improvement the rate is multiplied by `factor` (not below `min_lr`), and
/// the next `cooldown` epochs are not counted.
struct ReduceLROnPlateau {
  double factor = 0.1;
  std::size_t patience = 10;
  double min_delta = 1e-4;
  std::size_t cooldown = 0;
  double min_lr = 0;
};

/// One of the schedules above with its state (the plateau's current rate, best loss and counters).
/// Optimisers hold one (`set_schedule`); `rate(lr₀, k)` is what they read at each step.
class Schedule {
 public:
  using kind_type = std::variant<ConstantRate, StepDecay, ExponentialDecay, CosineDecay, ReduceLROnPlateau>;

  Schedule() = default;
  /// Throws `option_error` for a schedule that cannot work (a step count of 0, a factor outside (0, 1],
  /// a negative or non-finite rate).
  template <class S>
    requires std::is_constructible_v<kind_type, S>
  Schedule(S s) : kind_(s) {  // NOLINT(google-explicit-constructor): `set_schedule(CosineDecay{...})`
    check();
  }

  const kind_type& kind() const noexcept { return kind_; }
  /// The schedule's name, e.g. "CosineDecay".
  const char* name() const noexcept {
    constexpr const char* names[] = {"ConstantRate", "StepDecay", "ExponentialDecay", "CosineDecay",
                                     "ReduceLROnPlateau"};
    return names[kind_.index()];
  }

  /// The rate of the step after `k` steps, from the base rate `lr0`.
  double rate(double lr0, std::size_t k) const noexcept {
    const double kd = static_cast<double>(k);
    if (const auto* s = std::get_if<StepDecay>(&kind_))
      return lr0 * std::pow(s->factor, std::floor(kd / static_cast<double>(s->every)));
    if (const auto* e = std::get_if<ExponentialDecay>(&kind_)) {
      const double p = kd / static_cast<double>(e->steps);
      return lr0 * std::pow(e->rate, e->staircase ? std::floor(p) : p);
    }
    if (const auto* c = std::get_if<CosineDecay>(&kind_)) {
      if (k < c->warmup) return lr0 * (kd + 1) / static_cast<double>(c->warmup);
      const double span = static_cast<double>(c->steps - c->warmup);
      const double p = span <= 0 ? 1.0 : std::min(1.0, (kd - static_cast<double>(c->warmup)) / span);
      return c->min_lr + (lr0 - c->min_lr) * (1 + std::cos(std::numbers::pi * p)) / 2;
    }
    if (std::holds_alternative<ReduceLROnPlateau>(kind_)) return std::max(lr0 * scale_, plateau().min_lr);
    return lr0;
  }

  /// Whether the schedule reads the loss at the end of each epoch (`ReduceLROnPlateau`).
  bool reads_epochs() const noexcept { return std::holds_alternative<ReduceLROnPlateau>(kind_); }

  /// The end of an epoch whose monitored loss is `loss` (a no-op for the step schedules). Returns true
  /// when the rate was reduced. A non-finite loss counts as no improvement.
  bool end_epoch(double loss, double lr0) noexcept {
    if (!reads_epochs()) return false;
    const ReduceLROnPlateau& r = plateau();
    if (cooldown_left_ > 0) {
      --cooldown_left_;
      wait_ = 0;
    }
    if (std::isfinite(loss) && loss < best_ - r.min_delta) {
      best_ = loss;
      wait_ = 0;
      return false;
    }
    if (cooldown_left_ > 0) return false;
    if (++wait_ < r.patience) return false;
    const double before = rate(lr0, 0);
    if (!(before > r.min_lr)) return false;
    wait_ = 0;
    cooldown_left_ = r.cooldown;
    scale_ *= r.factor;
    return rate(lr0, 0) < before;
  }

  /// The plateau's state, for checkpoints: the rate's scale, the best loss, the epochs without
  /// improvement and the cooldown epochs left.
  struct State {
    double scale = 1;
    double best = std::numeric_limits<double>::infinity();
    std::size_t wait = 0, cooldown_left = 0;
  };
  State state() const noexcept { return {scale_, best_, wait_, cooldown_left_}; }
  void set_state(const State& s) noexcept {
    scale_ = s.scale;
    best_ = s.best;
    wait_ = s.wait;
    cooldown_left_ = s.cooldown_left;
  }

 private:
  const ReduceLROnPlateau& plateau() const noexcept { return std::get<ReduceLROnPlateau>(kind_); }

  void check() const {
    const auto bad = [this](const std::string& what) {
      throw option_error(std::string(name()) + ": expected " + what);
    };
    const auto finite_rate = [&](double x, const char* field) {
      if (!(x >= 0) || !std::isfinite(x)) bad(std::string("a finite ") + field + " >= 0, found " + std::to_string(x));
    };
    const auto factor = [&](double f, const char* field) {
      if (!(f > 0 && f <= 1)) bad(std::string("0 < ") + field + " <= 1, found " + std::to_string(f));
    };
    if (const auto* s = std::get_if<StepDecay>(&kind_)) {
      if (s->every == 0) bad("every >= 1 step, found 0");
      factor(s->factor, "factor");
    } else if (const auto* e = std::get_if<ExponentialDecay>(&kind_)) {
      if (e->steps == 0) bad("steps >= 1, found 0");
      factor(e->rate, "rate");
    } else if (const auto* c = std::get_if<CosineDecay>(&kind_)) {
      if (c->steps == 0) bad("steps >= 1, found 0");
      if (c->warmup > c->steps)
        bad("warmup <= steps, found warmup " + std::to_string(c->warmup) + " and steps " + std::to_string(c->steps));
      finite_rate(c->min_lr, "min_lr");
    } else if (const auto* r = std::get_if<ReduceLROnPlateau>(&kind_)) {
      if (!(r->factor > 0 && r->factor < 1)) bad("0 < factor < 1, found " + std::to_string(r->factor));
      if (r->patience == 0) bad("patience >= 1 epoch, found 0");
      finite_rate(r->min_delta, "min_delta");
      finite_rate(r->min_lr, "min_lr");
    }
  }

  kind_type kind_{};
  double scale_ = 1;
  double best_ = std::numeric_limits<double>::infinity();
  std::size_t wait_ = 0, cooldown_left_ = 0;
};

}  // namespace latent
