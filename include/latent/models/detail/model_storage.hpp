#pragma once
/// \file
/// What every model owns: packed parameters and gradients, a noise generator, training workspaces,
/// and the data-parallel split of a training step over threads.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/random.hpp"
#include "latent/detail/thread_pool.hpp"
#include "latent/kernels/elementwise.hpp"

#include <algorithm>  // std::min, std::copy
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <span>       // std::span
#include <vector>     // std::vector

namespace latent::detail {

/// One thread's share of a training step: rows [first, first + rows) of the batch, its own gradient
/// buffer (the model's for slice 0), workspaces that grow to the largest slice and are then reused,
/// and its own noise generator.
template <class T>
struct slice {
  std::size_t first = 0, rows = 0;
  T* grads = nullptr;
  aligned_buffer<T>* workspace = nullptr;
  aligned_buffer<T>* extra = nullptr;
  std::vector<double>* logw = nullptr;
  Rng* rng = nullptr;

  aligned_buffer<T>* gathered = nullptr;  // two buffers: inputs, conditions

  T* work(std::size_t count) const {
    workspace->reserve(count);
    return workspace->data();
  }

  /// The slice's rows of a batch `width` values wide: at data + first·width, or, with an `index`, rows
  /// index[first], index[first + 1], … of the matrix at `data`, copied into this slice's buffer `which`
  /// (0: inputs, 1: conditions) by the thread that is about to use them, so that they arrive in its own
  /// cache rather than in the cache of the thread that would otherwise have gathered the batch.
  const T* rows_of(const T* data, const std::size_t* index, std::size_t width, int which) const {
    if (data == nullptr) return nullptr;
    if (index == nullptr) return data + first * width;
    aligned_buffer<T>& b = gathered[which];
    b.reserve(rows * width);
    for (std::size_t r = 0; r < rows; ++r)
      std::copy(data + index[first + r] * width, data + (index[first + r] + 1) * width, b.data() + r * width);
    return b.data();
  }
};

/// Parameters and gradients of a model with `ParamCount` parameters (a compile-time fact), its own
/// generator for training noise, and per-thread workspaces: a training step allocates nothing once
/// they have grown to the batch.
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
  /// The noise generator's state (checkpoints save and restore it for bit-identical resumed runs).
  Rng::State noise_state() const noexcept { return noise_.state(); }
  void set_noise_state(const Rng::State& s) noexcept { noise_.set_state(s); }
  /// Training steps taken (models with a schedule, such as KL warm-up, count them; others report 0).
  std::size_t training_steps() const noexcept { return steps_; }
  void set_training_steps(std::size_t steps) noexcept { steps_ = steps; }

  /// Threads for a training step: 0 (the default) chooses from the work: several threads only when a
  /// step is large enough to gain from them; n > 0 uses min(n, rows, available threads). Each thread
  /// takes a contiguous slice of the batch; gradients are summed in slice order, so the same seed and
  /// thread count give bit-identical weights. With more than one thread, each slice draws its noise
  /// from its own generator (seeded from the model's), so results depend on the thread count.
  void set_threads(std::size_t threads) noexcept { threads_ = threads; }
  std::size_t threads() const noexcept { return threads_; }
  /// The threads a step of `rows` rows would use.
  std::size_t threads_for(std::size_t rows, double flops_per_row) const noexcept {
    const std::size_t available = thread_pool::instance().size();
    std::size_t t = threads_;
    if (t == 0) t = flops_per_row * static_cast<double>(rows) >= automatic_threshold_flops ? available : 1;
    return std::max<std::size_t>(1, std::min({t, available, rows}));
  }

 protected:
  /// Work below this many floating-point operations per step runs on one thread: waking a second
  /// thread and reducing the gradients costs more than it saves.
  static constexpr double automatic_threshold_flops = 4e6;

  T* params() noexcept { return params_.data(); }
  const T* params() const noexcept { return params_.data(); }
  T* grads() noexcept { return grads_.data(); }
  Rng& noise() noexcept { return noise_; }
  void reseed_noise(std::uint64_t seed) noexcept { set_noise_seed(seed); }

  /// Runs fn(slice) over the n rows of a step, on one or more threads (see `set_threads`), then sums
  /// the slices' gradients into `gradients()` in slice order. Returns the sum of fn's results.
  template <class F>
  double parallel_gradient(std::size_t n, double flops_per_row, bool splittable, F&& fn) {
    const std::size_t t = splittable ? threads_for(n, flops_per_row) : 1;
    if (slots_.size() < t) slots_.resize(t);
    if (t == 1) {
      step_threads_ = 1;
      slice<T> s{0, n, grads_.data(), &slots_[0].workspace, &slots_[0].extra, &slots_[0].logw, &noise_,
                 slots_[0].gathered};
      return fn(s);
    }
    const std::uint64_t base = noise_.next();
    double sums[64] = {};
    const std::size_t tasks = std::min<std::size_t>(t, 64);
    auto task = [&](std::size_t i) {
      auto& slot = slots_[i];
      if (i > 0 && slot.grads.size() != ParamCount) slot.grads = aligned_buffer<T>(ParamCount);
      slot.rng.reseed(base + i);
      const std::size_t first = n * i / tasks, last = n * (i + 1) / tasks;
      slice<T> s{first,      last - first, i == 0 ? grads_.data() : slot.grads.data(),
                 &slot.workspace, &slot.extra, &slot.logw, &slot.rng, slot.gathered};
      sums[i] = fn(s);
    };
    thread_pool::instance().run(tasks, task);
    // The reduction, split over the same threads by parameter range: each gradient value is still the
    // sum of the slices' values in slice order, whatever the split.
    for_ranges(ParamCount, tasks, 0, [&](std::size_t first, std::size_t last) {
      for (std::size_t i = 1; i < tasks; ++i)
        kernels::axpy(last - first, T(1), slots_[i].grads.data() + first, grads_.data() + first);
    });
    step_threads_ = tasks;
    double total = sums[0];
    for (std::size_t i = 1; i < tasks; ++i) total += sums[i];
    return total;
  }

  /// Lets `opt` update the parameters from `gradients()` on the threads of the last gradient
  /// (optimisers with a `step(params, grads, threads)` overload; others take the plain call).
  template <class Opt>
  void optimizer_step(Opt& opt) {
    if constexpr (requires { opt.step(parameters(), gradients(), std::size_t{1}); })
      opt.step(parameters(), gradients(), step_threads_);
    else
      opt.step(parameters(), gradients());
  }

  /// Calls fn(first_row, rows) over [0, n) in chunks of `inference_chunk`.
  template <class F>
  static void in_chunks(std::size_t n, F&& fn) {
    for (std::size_t r = 0; r < n; r += inference_chunk) fn(r, std::min(inference_chunk, n - r));
  }

 private:
  struct thread_slot {
    aligned_buffer<T> workspace, extra, grads;
    aligned_buffer<T> gathered[2];
    std::vector<double> logw;
    Rng rng;
  };
  aligned_buffer<T> params_, grads_;
  Rng noise_;
  std::vector<thread_slot> slots_;
  std::size_t threads_ = 0;
  std::size_t step_threads_ = 1;  // threads of the last gradient

 protected:
  std::size_t steps_ = 0;
};

}  // namespace latent::detail
