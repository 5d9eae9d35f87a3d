#pragma once
/// \file
/// `latent::detail::slice_barrier`: the meeting point of the slices of one training step, for layers
/// whose training pass needs the whole batch (BatchNorm's batch statistics).

#include <atomic>   // std::atomic: arrivals, generation, broken flag (wait/notify: futex)
#include <chrono>   // std::chrono::steady_clock: bounded spinning
#include <cstddef>  // std::size_t

namespace latent::detail {

/// A reusable barrier for the `parties` slices of a training step, which run at the same time on the
/// thread pool's threads (one slice a thread). Waiters spin for a while (the slices of a step arrive
/// microseconds apart), then sleep on an atomic wait; nothing is allocated. A slice that fails breaks
/// the barrier, so that the others do not wait for it forever: their waits then return false, and the
/// step's result is thrown away by the failure that broke it.
class slice_barrier {
 public:
  slice_barrier() = default;
  /// A copy is a fresh barrier: what is copied is a model, never a step in flight.
  slice_barrier(const slice_barrier&) noexcept {}
  slice_barrier& operator=(const slice_barrier&) noexcept { return *this; }
  /// Before the step's slices start (never while one of them waits).
  void reset(std::size_t parties) noexcept {
    parties_ = parties;
    arrived_.store(0, std::memory_order_relaxed);
    broken_.store(false, std::memory_order_relaxed);
  }
  std::size_t parties() const noexcept { return parties_; }

  /// Waits until every slice has arrived; everything a slice wrote before it arrived is then visible
  /// to all. False when the barrier is broken.
  bool arrive_and_wait() noexcept {
    if (broken_.load(std::memory_order_acquire)) return false;
    if (parties_ <= 1) return true;
    const std::size_t gen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parties_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      generation_.notify_all();
      return !broken_.load(std::memory_order_acquire);
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (generation_.load(std::memory_order_acquire) != gen) return !broken_.load(std::memory_order_acquire);
        pause();
      }
      if (std::chrono::steady_clock::now() >= until) break;
    }
    while (generation_.load(std::memory_order_acquire) == gen) generation_.wait(gen, std::memory_order_acquire);
    return !broken_.load(std::memory_order_acquire);
  }

  /// A slice failed: every wait, now and later in this step, returns false at once.
  void break_barrier() noexcept {
    broken_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
  }
  bool broken() const noexcept { return broken_.load(std::memory_order_acquire); }

 private:
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  std::size_t parties_ = 1;
  std::atomic<std::size_t> arrived_{0};
  std::atomic<std::size_t> generation_{0};
  std::atomic<bool> broken_{false};
};

}  // namespace latent::detail
