#pragma once
/// \file
/// `latent::detail::thread_pool`: a process-wide pool of workers for data-parallel training steps.

#include <atomic>      // std::atomic: generation counter and pending count (wait/notify: futex)
#include <cstddef>     // std::size_t
#include <thread>      // std::thread, hardware_concurrency
#include <vector>      // std::vector

namespace latent::detail {

/// Runs `tasks` calls f(0) … f(tasks−1) concurrently, f(0) on the calling thread, and returns when
/// all are done. The workers are started once, on first use, and then sleep on an atomic wait (no
/// spinning, no allocation per call). One job at a time: callers are serialised by `busy_`.
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
    next_.store(1, std::memory_order_relaxed);
    // Every worker takes part in every job (possibly finding no task left), so that none can lag
    // behind into the next job.
    pending_.store(workers_.size(), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    f(0);
    // The caller also takes tasks beyond the workers' share.
    for (std::size_t t = next_.fetch_add(1); t < tasks; t = next_.fetch_add(1)) f(t);
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
    for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { loop(); });
  }

  void loop() {
    std::size_t seen = 0;
    for (;;) {
      generation_.wait(seen);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      for (std::size_t t = next_.fetch_add(1); t < tasks_; t = next_.fetch_add(1)) call_(job_, t);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<std::size_t> generation_{0};
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> pending_{0};
  std::atomic<bool> busy_{false};
  std::atomic<bool> stop_{false};
  void* job_ = nullptr;
  void (*call_)(void*, std::size_t) = nullptr;
  std::size_t tasks_ = 0;
};

}  // namespace latent::detail
