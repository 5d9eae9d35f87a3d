#pragma once
/// \file
/// `latent::detail::thread_pool`: a process-wide pool of workers for data-parallel training steps.

#include <atomic>   // std::atomic: generation counter and pending count (wait/notify: futex)
#include <chrono>   // std::chrono::steady_clock (bounded spinning)
#include <cstddef>  // std::size_t
#include <thread>   // std::thread, hardware_concurrency
#include <utility>  // std::pair
#include <vector>   // std::vector

namespace latent::detail {

/// Runs `tasks` calls f(0) … f(tasks−1) concurrently, f(0) on the calling thread and task t always on
/// the same thread (t modulo the pool's size), and returns when all are done. The workers are started
/// once, on first use; between jobs they spin for up to 200 µs and then sleep on an atomic wait (no
/// allocation per call). One job at a time: callers are serialised by `busy_`.
class thread_pool {
 public:
  static thread_pool& instance() {
    static thread_pool pool(std::thread::hardware_concurrency() > 1 ? std::thread::hardware_concurrency() - 1 : 0);
    return pool;
  }

  /// Threads available to a job, the caller included.
  std::size_t size() const noexcept { return workers_.size() + 1; }

  template <class F>
  void run(std::size_t tasks, F& f) {
    if (tasks <= 1 || workers_.empty()) {
      for (std::size_t t = 0; t < tasks; ++t) f(t);
      return;
    }
    while (busy_.exchange(true, std::memory_order_acquire)) busy_.wait(true);
    job_ = &f;
    call_ = [](void* job, std::size_t t) { (*static_cast<F*>(job))(t); };
    tasks_ = tasks;
    // Every worker takes part in every job (possibly finding no task left), so that none can lag
    // behind into the next job.
    pending_.store(workers_.size(), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    // Tasks go to threads by a fixed rule: task t to the caller when t % size() == 0, else to worker
    // t % size() − 1. The same task of every job therefore runs on the same thread, so a slice's
    // buffers stay in that core's cache and each thread's workspaces reach their size on the first job
    // (no allocation in later ones).
    for (std::size_t t = 0; t < tasks; t += size()) f(t);
    spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
    for (std::size_t p = pending_.load(std::memory_order_acquire); p != 0; p = pending_.load(std::memory_order_acquire))
      pending_.wait(p);
    busy_.store(false, std::memory_order_release);
    busy_.notify_one();
  }

  ~thread_pool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

 private:
  explicit thread_pool(std::size_t workers) {
    workers_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this, i, workers] { loop(i + 1, workers + 1); });
  }

  // Spins (with a pause hint) until `ready()` or for about `spin_time`; returns ready().
  template <class Ready>
  static bool spin_until(Ready&& ready) noexcept {
    const auto until = std::chrono::steady_clock::now() + spin_time;
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (ready()) return true;
        pause();
      }
      if (std::chrono::steady_clock::now() >= until) return ready();
    }
  }
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  // Worker loop: runs tasks first_task, first_task + stride, … of every job.
  void loop(std::size_t first_task, std::size_t stride) {
    std::size_t seen = 0;
    for (;;) {
      // A training step runs several jobs a few microseconds apart (the slices, the reduction, the
      // optimiser): a worker that went to sleep in between would cost a wake-up each time (tens of
      // microseconds in a virtual machine), so it spins for a while before it sleeps.
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      generation_.wait(seen);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      for (std::size_t t = first_task; t < tasks_; t += stride) call_(job_, t);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_all();
    }
  }

  static constexpr std::chrono::microseconds spin_time{200};

  std::vector<std::thread> workers_;
  std::atomic<std::size_t> generation_{0};
  std::atomic<std::size_t> pending_{0};
  std::atomic<bool> busy_{false};
  std::atomic<bool> stop_{false};
  void* job_ = nullptr;
  void (*call_)(void*, std::size_t) = nullptr;
  std::size_t tasks_ = 0;
};

/// Part `i` of `count` items cut into `parts` contiguous ranges whose boundaries are multiples of
/// `align` (so a vectorised loop over a range never runs its scalar tail except at the very end):
/// returns [first, last), empty for the parts left over when `count` is small.
inline std::pair<std::size_t, std::size_t> split_range(std::size_t count, std::size_t parts, std::size_t i,
                                                       std::size_t align) noexcept {
  const std::size_t per = (count + parts - 1) / parts;
  const std::size_t chunk = (per + align - 1) / align * align;
  const std::size_t first = i * chunk < count ? i * chunk : count;
  const std::size_t last = first + chunk < count ? first + chunk : count;
  return {first, last};
}

/// Calls fn(first, last) over `count` items split by `split_range` into `threads` parts run on the
/// pool (one part, on the calling thread, when threads <= 1 or the work is below `min_items`).
template <class F>
void for_ranges(std::size_t count, std::size_t threads, std::size_t min_items, F&& fn) {
  constexpr std::size_t align = 64;  // a cache line of doubles or two of floats; a multiple of any SIMD width
  const std::size_t pool = thread_pool::instance().size();
  const std::size_t t = threads < pool ? threads : pool;
  if (t <= 1 || count < min_items) {
    fn(std::size_t{0}, count);
    return;
  }
  auto task = [&](std::size_t i) {
    const auto [first, last] = split_range(count, t, i, align);
    if (first < last) fn(first, last);
  };
  thread_pool::instance().run(t, task);
}

}  // namespace latent::detail
