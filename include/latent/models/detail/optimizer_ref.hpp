#pragma once
/// \file
/// `latent::detail::optimizer_ref<T>`: an optimiser as the training step sees it — the update protocol
/// behind one small, type-independent handle — and `detail::function_ref`, the non-owning callable
/// the step takes its slice function as. Both let the size-independent half of a training step (threads,
/// gradient reduction, updates, the last-good weights) be compiled once per scalar type instead of
/// once per model and optimiser.

#include "latent/kernels/elementwise.hpp"

#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <memory>       // std::addressof
#include <span>         // std::span
#include <type_traits>  // std::remove_reference_t
#include <utility>      // std::pair

namespace latent::detail {

/// A non-owning reference to a callable `R(Args...)`: one indirect call, no allocation. It must not
/// outlive what it refers to (a training step's lambda, for the length of the step).
template <class Signature>
class function_ref;
template <class R, class... Args>
class function_ref<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, function_ref>)
  function_ref(F&& f) noexcept  // NOLINT(google-explicit-constructor): a reference, as a lambda converts to it
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

/// "No optimiser": a gradient without an update.
struct no_optimizer {};

/// The range protocol an optimiser may offer (Adam and SGD do; see `Adam::begin_ranges`): a step
/// applied block by block while the gradient's blocks are still in cache.
template <class Opt, class T>
concept range_protocol = requires(Opt* o, std::span<T> p, std::span<const T> g) {
  { o->template begin_ranges<T>(std::size_t{}) } -> std::convertible_to<bool>;
  o->update_range(p, g, std::size_t{}, std::size_t{});
};

/// An optimiser for scalars `T` behind function pointers: the plain `step` (multi-threaded where the
/// optimiser offers `step(params, grads, threads)`), and the range protocol where it offers it. Made
/// from any `Optimizer` by reference; valid while the optimiser is.
template <class T>
class optimizer_ref {
 public:
  template <class Opt>
  explicit optimizer_ref(Opt& opt) noexcept : opt_(std::addressof(opt)), step_(&step_of<Opt>) {
    if constexpr (range_protocol<Opt, T>) {
      begin_ = &begin_of<Opt>;
      block_ = &block_of<Opt>;
    }
  }

  /// Starts a step applied by ranges; false when the optimiser has no range protocol, or needs the
  /// whole gradient first (gradient clipping).
  bool begin_ranges(std::size_t count) const { return begin_ != nullptr && begin_(opt_, count); }
  /// Updates params[first, last) from grads, keeping the previous values in backup[first, last);
  /// true when every new value is finite. Only after `begin_ranges` returned true.
  bool update_block(std::span<T> params, std::span<const T> grads, std::size_t first, std::size_t last,
                    T* backup) const {
    return block_(opt_, params, grads, first, last, backup);
  }
  /// The optimiser's whole step (on `threads` threads where it can use them).
  void step(std::span<T> params, std::span<const T> grads, std::size_t threads) const {
    step_(opt_, params, grads, threads);
  }

 private:
  template <class Opt>
  static bool begin_of(void* o, std::size_t count) {
    return static_cast<Opt*>(o)->template begin_ranges<T>(count);
  }
  // In the optimiser's own pass when it offers `update_range_keeping` (Adam, SGD), else a copy
  // before and a scan after.
  template <class Opt>
  static bool block_of(void* o, std::span<T> all, std::span<const T> g, std::size_t first, std::size_t last, T* backup) {
    Opt& opt = *static_cast<Opt*>(o);
    if constexpr (requires {
                    { opt.update_range_keeping(all, g, first, last, backup) } -> std::convertible_to<bool>;
                  }) {
      return opt.update_range_keeping(all, g, first, last, backup);
    } else {
      T* p = all.data();
      for (std::size_t i = first; i < last; ++i) backup[i] = p[i];
      opt.update_range(all, g, first, last);
      return kernels::all_finite(last - first, p + first);
    }
  }
  template <class Opt>
  static void step_of(void* o, std::span<T> p, std::span<const T> g, std::size_t threads) {
    Opt& opt = *static_cast<Opt*>(o);
    if constexpr (requires { opt.step(p, g, std::size_t{1}); })
      opt.step(p, g, threads);
    else
      opt.step(p, g);
  }

  void* opt_;
  void (*step_)(void*, std::span<T>, std::span<const T>, std::size_t);
  bool (*begin_)(void*, std::size_t) = nullptr;
  bool (*block_)(void*, std::span<T>, std::span<const T>, std::size_t, std::size_t, T*) = nullptr;
};

}  // namespace latent::detail
