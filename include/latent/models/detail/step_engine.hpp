#pragma once
/// \file
/// `latent::detail::step_engine<T>`: what every model owns that does not depend on its layers' sizes —
/// packed parameters and gradients, a noise generator, training workspaces, the data-parallel split
/// of a training step over threads, the optimiser's update and the last good weights.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/deferred_gradients.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/detail/slice_barrier.hpp"
#include "latent/detail/thread_pool.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/models/detail/optimizer_ref.hpp"
#include "latent/models/detail/slice.hpp"

#include <algorithm>    // std::min, std::copy, std::sort, std::fill
#include <atomic>       // std::atomic: a non-finite update seen by any thread
#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <cstring>      // std::memcpy: the fingerprint's bit patterns
#include <exception>    // std::exception_ptr: a slice's failure, rethrown after the step's others
#include <span>         // std::span
#include <string>       // std::to_string
#include <string_view>  // std::string_view: where a step was called from
#include <utility>      // std::pair
#include <vector>       // std::vector

namespace latent::detail {

/// A slice's share of a training step: its summed loss, its gradient in the slice's buffer.
template <class T>
using slice_function = function_ref<double(const slice<T>&)>;

/// The size-independent half of every model: packed parameters and gradients (`count` of them),
/// the generator of training noise, per-thread workspaces (a training step allocates nothing once
/// they have grown to the batch), and the training step itself — threads, the reduction of the
/// slices' gradients, the optimiser's update, the last good weights, the data-parallel exchange.
/// It knows nothing of layers: a model hands it the step's slice function, so this code is compiled
/// once per scalar type, not once per model type and optimiser (see docs/build-cost.md).
template <class T>
class step_engine {
 public:
  /// Inference runs in chunks of this many rows, so a large input needs only a small workspace.
  static constexpr std::size_t inference_chunk = 256;

  /// `count` parameters; `state` values of state and `stats` of statistics, and `shared_per_row`
  /// doubles of shared memory per row of a training step, for the layers that have them (see the
  /// layer contract in core/concepts.hpp).
  step_engine(std::size_t count, std::uint64_t seed, std::size_t state = 0, std::size_t stats = 0,
              std::size_t shared_per_row = 0)
      : params_(count),
        grads_(count + stats),
        backup_(count),
        state_(state),
        state_backup_(state),
        noise_(seed ^ 0x5eedULL),
        count_(count),
        stats_count_(stats),
        shared_per_row_(shared_per_row) {
    touch();
  }

  /// The packed parameters. (The non-const form counts as a change: see `parameter_version`.)
  std::span<T> parameters() noexcept {
    touch();
    return params_.span();
  }
  std::span<const T> parameters() const noexcept { return params_.span(); }
  /// A number that changes whenever the parameters may have changed: every training step, every
  /// `load`, every call of the non-const `parameters()` (so code that writes through a span it kept
  /// must call `parameters()` again, or the `Predictor`'s `refresh()`). Versions are unique across all
  /// models of a process, so a model assigned from another has a new one. `Predictor` re-packs its
  /// weights when it sees the version change.
  std::uint64_t parameter_version() const noexcept { return version_; }
  /// The gradient of the mean training loss of the last training step or `gradient` call, packed as
  /// `parameters()` (`param_count` values; for a VAE including β·KL, with that step's training noise;
  /// in a data-parallel step, of the global batch, summed over the processes); zeros before the first.
  /// The raw gradient: an optimiser clips a copy and applies weight decay itself. The span views
  /// storage allocated with the model, valid while the model lives and is not moved.
  std::span<const T> gradients() const noexcept { return {grads_.data(), count_}; }

  /// The layers' state (BatchNorm's running statistics, ...), packed in layer order: the encoder's,
  /// then the decoder's. Not trained by gradients; `save`/`load`, checkpoints and the last-good rule
  /// carry it. Empty for a model without stateful layers. (The non-const form counts as a change of
  /// the model, as `parameters()` does.)
  std::span<T> state() noexcept {
    touch();
    return state_.span();
  }
  std::span<const T> state() const noexcept { return state_.span(); }

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
  const T* state_data() const noexcept { return state_.data(); }
  T* state_data() noexcept { return state_.data(); }
  /// The state's hook, called once after each training step's backward pass with the step's summed
  /// statistics (the model's layers' `update_state`); null for a model without stateful layers.
  using state_update = function_ref<void(T* state, const T* stats)>;
  /// A model's own rules around the optimiser's update (both optional): `before` sees the step's
  /// whole gradient (`count` values, summed over slices and processes) and may change it — a
  /// projection, such as removing from each unit-norm dictionary atom's gradient its component along
  /// the atom; `after` sees the new parameters and may change them — a renormalisation. With a
  /// `before` hook the update is not fused into the slices' reduction (the hook needs the whole
  /// gradient first). What `after` writes is what the last-good rule keeps and restores.
  struct update_hooks {
    const function_ref<void(T* grads)>* before = nullptr;
    const function_ref<void(T* params)>* after = nullptr;
  };
  Rng& noise() noexcept { return noise_; }
  void reseed_noise(std::uint64_t seed) noexcept { set_noise_seed(seed); }
  /// For code that rewrites the parameters (initialisation): a later divergence must not restore the
  /// weights from before.
  void forget_backup() noexcept {
    backup_valid_ = false;
    touch();
  }
  /// Gives the parameters a new version (see `parameter_version`).
  void touch() noexcept {
    static std::atomic<std::uint64_t> next{1};
    version_ = next.fetch_add(1, std::memory_order_relaxed);
  }

  /// What `parallel_gradient` did: the sum of the slices' losses, and whether it also applied the
  /// optimiser (then `finite` says whether every updated parameter is finite).
  struct gradient_result {
    double total = 0;
    bool updated = false;
    bool finite = true;
  };

  /// The one training step of every model: checks the batch, forms the gradient of the batch's mean
  /// loss (fn(slice) returns a slice's summed loss, its gradient in the slice's buffer), then applies
  /// `opt` exactly once. Returns the batch's mean loss.
  /// - n == 0: `option_error`, nothing changes.
  /// - A non-finite loss: `numerical_error`; the parameters go back to those before the last update
  ///   (the weights whose loss was last finite) unless they were changed since that update (by `load`,
  ///   or through `parameters()`: a fingerprint of what the update wrote tells).
  /// - An update that makes a parameter non-finite (a learning rate too large for the scalar type, a
  ///   gradient that overflowed): undone, then `numerical_error`.
  /// The update keeps the parameters' previous values (in the optimiser's own pass for Adam and SGD,
  /// see `update_block`), so both can be undone.
  /// The layers' state changes once, after the backward pass, from the step's statistics
  /// (`update_state`), and goes back with the parameters.
  double train_step(std::string_view where, std::size_t n, double flops_per_row, bool splittable,
                    slice_function<T> fn, const optimizer_ref<T>& opt, const state_update* update_state = nullptr,
                    const update_hooks* hooks = nullptr) {
    check_batch(where, n);
    const bool before = hooks != nullptr && hooks->before != nullptr;
    const gradient_result r = parallel_gradient(n, flops_per_row, splittable, fn, before ? nullptr : &opt);
    if (!std::isfinite(r.total)) {
      const bool restored = restore_last_good();
      throw numerical_error(std::string(where) + ": the training loss is " + describe_non_finite(r.total) +
                            (restored ? "; the parameters are those before the last update (the last finite loss)"
                                      : "; the parameters are unchanged"));
    }
    apply_state_update(update_state);
    if (before) (*hooks->before)(grads_.data());
    const bool finite = after_update(hooks, r.updated ? r.finite : apply_update(opt));
    if (!finite) {
      undo_update();
      throw numerical_error(std::string(where) +
                            ": the optimiser's update made parameters non-finite (is the "
                            "learning rate too large for the scalar type?); the update was undone");
    }
    backup_valid_ = true;
    ++steps_;
    return r.total / static_cast<double>(n);
  }

  /// A data-parallel step (see `fit` with a communicator): the gradient of this process's n rows of a
  /// global batch of `global_n` (fn's slices scale by 1/global_n; n may be 0, a zero gradient), then
  /// reduce(gradient, local loss sum) — which sums both over the processes, in place and in a fixed
  /// order, and returns the global loss sum — then `opt` once, as `train_step` does. Every process
  /// sees the same global loss, so a non-finite one throws `numerical_error` on all of them. Returns
  /// the global batch's mean loss.
  /// The exchange sums the step's statistics with the gradient (they follow it in `reduce`'s span), so
  /// every process updates its state from the statistics of the global batch and all keep the same.
  double train_step_reduced(std::string_view where, std::size_t n, std::size_t global_n, double flops_per_row,
                            bool splittable, slice_function<T> fn, const optimizer_ref<T>& opt,
                            function_ref<double(std::span<T>, double)> reduce,
                            const state_update* update_state = nullptr, const update_hooks* hooks = nullptr) {
    check_batch(where, global_n);
    double total = 0;
    if (n > 0) total = parallel_gradient(n, flops_per_row, splittable, fn, nullptr).total;
    else
      std::fill(grads_.data(), grads_.data() + count_ + stats_count_, T(0));
    total = reduce(std::span<T>(grads_.data(), count_ + stats_count_), total);
    if (!std::isfinite(total)) {
      const bool restored = restore_last_good();
      throw numerical_error(std::string(where) + ": the training loss over all processes is " +
                            describe_non_finite(total) +
                            (restored ? "; the parameters are those before the last update (the last finite loss)"
                                      : "; the parameters are unchanged"));
    }
    apply_state_update(update_state);
    if (hooks != nullptr && hooks->before != nullptr) (*hooks->before)(grads_.data());
    if (!after_update(hooks, apply_update(opt))) {
      undo_update();
      throw numerical_error(std::string(where) +
                            ": the optimiser's update made parameters non-finite (is the "
                            "learning rate too large for the scalar type?); the update was undone");
    }
    backup_valid_ = true;
    ++steps_;
    return total / static_cast<double>(global_n);
  }

  /// The gradient of the batch's mean loss into `gradients()`, without an update; returns the mean loss.
  double gradient_step(std::string_view where, std::size_t n, double flops_per_row, bool splittable,
                       slice_function<T> fn) {
    check_batch(where, n);
    return parallel_gradient(n, flops_per_row, splittable, fn, nullptr).total / static_cast<double>(n);
  }

  static void check_batch(std::string_view where, std::size_t n) {
    if (n == 0) throw option_error(std::string(where) + ": expected a batch of at least 1 row, found 0");
  }

  /// Runs fn(slice) over the n rows of a step, on one or more threads (see `set_threads`), then sums
  /// the slices' gradients into `gradients()` in slice order. With an optimiser `opt` that offers the
  /// range protocol (`begin_ranges`, `update_range`), a step on several threads whose loss is finite
  /// also updates the parameters, each thread the part of the gradient it has just formed while that
  /// part is still in its cache (`updated` in the result).
  gradient_result parallel_gradient(std::size_t n, double flops_per_row, bool splittable, slice_function<T> fn,
                                    const optimizer_ref<T>* opt) {
    const std::size_t t = splittable ? threads_for(n, flops_per_row) : 1;
    if (slots_.size() < t) slots_.resize(t);
    T* const stats = grads_.data() + count_;  // slice 0's statistics, then the step's sum
    if (shared_per_row_ > 0) shared_.reserve(n * shared_per_row_);
    const batch_link whole{shared_per_row_ > 0 ? shared_.data() : nullptr, n, 0, nullptr};
    if (t == 1) {
      step_threads_ = 1;
      std::fill(stats, stats + stats_count_, T(0));
      slice<T> s{0,          n,  grads_.data(), &slots_[0].workspace, &slots_[0].extra, &slots_[0].logw, &noise_,
                 slots_[0].gathered, nullptr, stats, whole};
      return {fn(s), false, true};
    }
    const std::uint64_t base = noise_.next();
    double sums[64] = {};
    const std::size_t tasks = std::min<std::size_t>(t, 64);
    barrier_.reset(tasks);
    std::exception_ptr failures[64];
    auto task = [&](std::size_t i) {
      auto& slot = slots_[i];
      if (i > 0 && slot.grads.size() != count_ + stats_count_) slot.grads = aligned_buffer<T>(count_ + stats_count_);
      slot.rng.reseed(base + i);
      slot.deferred.clear();
      T* const slice_stats = i == 0 ? stats : slot.grads.data() + count_;
      std::fill(slice_stats, slice_stats + stats_count_, T(0));
      const std::size_t first = n * i / tasks, last = n * (i + 1) / tasks;
      batch_link link = whole;
      link.first = first;
      link.barrier = &barrier_;
      slice<T> s{first,        last - first,  i == 0 ? grads_.data() : slot.grads.data(),
                 &slot.workspace, &slot.extra, &slot.logw,
                 &slot.rng,    slot.gathered, &slot.deferred,
                 slice_stats,  link};
      // A slice that fails must not leave the others waiting at a barrier of the step's batch.
      try {
        sums[i] = fn(s);
      } catch (...) {
        failures[i] = std::current_exception();
        barrier_.break_barrier();
      }
    };
    thread_pool::instance().run(tasks, task);
    step_threads_ = tasks;
    for (std::size_t i = 0; i < tasks; ++i)
      if (failures[i]) std::rethrow_exception(failures[i]);
    // The statistics in slice order (a layer whose statistics must not depend on the split adds them
    // from slice 0 alone).
    for (std::size_t i = 1; i < tasks; ++i)
      for (std::size_t k = 0; k < stats_count_; ++k) stats[k] += slots_[i].grads[count_ + k];
    gradient_result r;
    r.total = sums[0];
    for (std::size_t i = 1; i < tasks; ++i) r.total += sums[i];
    if (opt != nullptr && std::isfinite(r.total) && opt->begin_ranges(count_)) {
      std::atomic<bool> finite{true};
      finish_gradient(tasks, [&](std::size_t first, std::size_t last) {
        if (!update_block(*opt, first, last)) finite.store(false, std::memory_order_relaxed);
      });
      fingerprint_ = fingerprint();
      r.updated = true;
      r.finite = finite.load();
      return r;
    }
    finish_gradient(tasks, [](std::size_t, std::size_t) {});
    return r;
  }

  /// The second half of a multi-threaded step, split over the same threads by parameter range (the
  /// split the optimisers' own multi-threaded update uses too): each thread sums the slices' own
  /// gradients over its range, in slice order, and forms the rows of the deferred weight gradients that
  /// start in its range over the whole batch, slice after slice, a block of rows at a time; after each
  /// piece it calls update(first, last) on that piece. Whatever the split, every value is computed in
  /// the same order, so the same thread count gives bit-identical gradients.
  template <class Update>
  void finish_gradient(std::size_t tasks, const Update& update) {
    const deferred_gradients<T>& jobs = slots_[0].deferred;
    T* g = grads_.data();
    // The intervals the deferred products cover, sorted: the slices left them unwritten.
    std::pair<std::size_t, std::size_t> covered[2 * deferred_gradients<T>::capacity];
    std::size_t nc = 0;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const std::size_t w = static_cast<std::size_t>(jobs[j].dW - g), b = static_cast<std::size_t>(jobs[j].db - g);
      covered[nc++] = {w, w + jobs[j].M * jobs[j].N};
      covered[nc++] = {b, b + jobs[j].N};
    }
    std::sort(covered, covered + nc);
    // Every slice runs the same layers, so each defers the same products in the same order; a layer
    // that defers in some slices only would be a bug, reported rather than summed wrongly.
    for (std::size_t i = 1; i < tasks; ++i)
      if (slots_[i].deferred.size() != jobs.size())
        throw error("latent: a training step's slices deferred different weight gradients (" +
                    std::to_string(jobs.size()) + " in slice 0, " + std::to_string(slots_[i].deferred.size()) +
                    " in slice " + std::to_string(i) + "): a layer defers only in some slices");
    for_ranges(count_, tasks, 0, [&](std::size_t first, std::size_t last) {
      auto sum_slices = [&](std::size_t a, std::size_t b) {
        for (std::size_t i = 1; i < tasks; ++i) kernels::axpy(b - a, T(1), slots_[i].grads.data() + a, g + a);
        update(a, b);
      };
      std::size_t pos = first;
      for (std::size_t c = 0; c < nc && pos < last; ++c) {
        if (covered[c].first > pos) sum_slices(pos, std::min(covered[c].first, last));
        pos = std::max(pos, covered[c].second);
      }
      if (pos < last) sum_slices(pos, last);
      for (std::size_t j = 0; j < jobs.size(); ++j) {
        const deferred_product<T>& d0 = jobs[j];
        const std::size_t w = static_cast<std::size_t>(d0.dW - g), b = static_cast<std::size_t>(d0.db - g);
        // Rows whose first value lies in [first, last), in blocks of about 32 768 values (a block of the
        // gradient, parameters and optimiser state stays in L2 between its product and its update).
        const auto row_at = [&](std::size_t at) {
          return at <= w ? std::size_t{0} : std::min(d0.M, (at - w + d0.N - 1) / d0.N);
        };
        const std::size_t r0 = row_at(first), r1 = row_at(last);
        const std::size_t block = std::max<std::size_t>(1, block_values / d0.N);
        for (std::size_t a = r0; a < r1; a += block) {
          const std::size_t e = std::min(r1, a + block);
          for (std::size_t i = 0; i < tasks; ++i) {
            const deferred_product<T>& d = slots_[i].deferred[j];
            d0.weights(d.M, d.rows, d.x, d.dz, g + w, a, e, i > 0);
          }
          update(w + a * d0.N, w + e * d0.N);
        }
        if (b >= first && b < last) {
          for (std::size_t i = 0; i < tasks; ++i) {
            const deferred_product<T>& d = slots_[i].deferred[j];
            d0.bias(d.rows, d.dz, g + b, i > 0);
          }
          update(b, b + d0.N);
        }
      }
    });
  }
  static constexpr std::size_t block_values = 32768;

  // Updates [first, last) of the parameters, keeping their previous values in `backup_`, and says
  // whether the new ones are finite (see `optimizer_ref::update_block`).
  bool update_block(const optimizer_ref<T>& opt, std::size_t first, std::size_t last) {
    return opt.update_block(params_.span(), gradients(), first, last, backup_.data());
  }

  // A digest of a sample of the parameters (one in `fingerprint_stride`, and the last): cheap enough
  // for every step, and weights set by `load` or by hand change it (`initialize` also forgets the
  // copy directly).
  std::uint64_t fingerprint() const noexcept {
    std::uint64_t f = 0;
    const T* p = params_.data();
    const auto mix = [&f](const T& value, std::size_t i) {
      std::uint64_t bits = 0;
      std::memcpy(&bits, &value, sizeof(T));
      f ^= (bits + i) * 0x9E3779B97F4A7C15ULL;
      f = (f << 13) | (f >> 51);
    };
    for (std::size_t i = 0; i < count_; i += fingerprint_stride) mix(p[i], i);
    if (count_ > 0) mix(p[count_ - 1], count_ - 1);
    return f;
  }
  static constexpr std::size_t fingerprint_stride = 1021;

  /// Lets `opt` update the parameters from `gradients()` once: by blocks through the range protocol
  /// where it offers it (see `update_block`), else with its `step` on the threads of the last gradient
  /// (optimisers with a `step(params, grads, threads)` overload; others take the plain call) after a
  /// copy of all parameters. True when every parameter is finite.
  bool apply_update(const optimizer_ref<T>& opt) {
    touch();
    if (opt.begin_ranges(count_)) {
      bool finite = true;
      for (std::size_t a = 0; a < count_; a += block_values)
        finite = update_block(opt, a, std::min(count_, a + block_values)) && finite;
      fingerprint_ = fingerprint();
      return finite;
    }
    std::copy(params_.data(), params_.data() + count_, backup_.data());
    opt.step(std::span<T>(params_.data(), count_), gradients(), step_threads_);
    fingerprint_ = fingerprint();
    return kernels::all_finite(count_, params_.data());
  }

  // The model's `after` hook on the parameters an update wrote (they stay what the last-good rule
  // compares with); `finite` and the new parameters' finiteness.
  bool after_update(const update_hooks* hooks, bool finite) {
    if (!finite || hooks == nullptr || hooks->after == nullptr) return finite;
    (*hooks->after)(params_.data());
    fingerprint_ = fingerprint();
    return kernels::all_finite(count_, params_.data());
  }

  // The weights before the last update, when the parameters are still what that update wrote (their
  // fingerprint says so).
  bool restore_last_good() noexcept {
    if (!backup_valid_ || fingerprint() != fingerprint_) return false;
    touch();
    undo_update();
    return true;
  }

  // The parameters and the state as they were before the last update.
  void undo_update() noexcept {
    std::copy(backup_.data(), backup_.data() + count_, params_.data());
    std::copy(state_backup_.data(), state_backup_.data() + state_backup_.size(), state_.data());
  }

  // The layers' state from the step's statistics, keeping the state before it (undone with the
  // parameters).
  void apply_state_update(const state_update* update_state) {
    if (update_state == nullptr) return;
    std::copy(state_.data(), state_.data() + state_.size(), state_backup_.data());
    (*update_state)(state_.data(), grads_.data() + count_);
  }

  /// Rows in the largest chunk of an n-row call: its workspace is sized for them, not for a whole chunk.
  static constexpr std::size_t chunk_rows(std::size_t n) noexcept { return n < inference_chunk ? n : inference_chunk; }
  /// Calls fn(first_row, rows) over [0, n) in chunks of `inference_chunk`.
  template <class F>
  static void in_chunks(std::size_t n, F&& fn) {
    for (std::size_t r = 0; r < n; r += inference_chunk) fn(r, std::min(inference_chunk, n - r));
  }

 private:
  struct thread_slot {
    aligned_buffer<T> workspace, extra, grads;
    aligned_buffer<T> gathered[2];
    deferred_gradients<T> deferred;
    std::vector<double> logw;
    Rng rng;
  };
  aligned_buffer<T> params_, grads_;  // grads_: the gradient, then the step's statistics
  aligned_buffer<T> backup_;          // the parameters before the last update (see train_step)
  aligned_buffer<T> state_, state_backup_;  // the layers' state, and as it was before the last update
  aligned_buffer<double> shared_;           // the step's shared rows (batch-coupled layers)
  slice_barrier barrier_;
  bool backup_valid_ = false;      // ... and they are still the last good ones
  std::uint64_t fingerprint_ = 0;  // digest of the parameters the last update wrote
  std::uint64_t version_ = 0;      // see parameter_version (set by the constructor)
  Rng noise_;
  std::vector<thread_slot> slots_;
  std::size_t threads_ = 0;
  std::size_t step_threads_ = 1;  // threads of the last gradient
  std::size_t count_;             // parameters
  std::size_t stats_count_;       // the layers' statistics per step
  std::size_t shared_per_row_;    // the layers' shared doubles per row of a step

 protected:
  std::size_t steps_ = 0;
};

}  // namespace latent::detail
