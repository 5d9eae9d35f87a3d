#pragma once
/// \file
/// `latent::Dropout<Percent>` (`DropoutWith<Num, Den>`): inverted dropout, the first client of train and
/// eval modes.

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/layers/keeps_shape.hpp"
#include "latent/layers/norm_rules.hpp"

#include <algorithm>  // std::copy_n
#include <cstddef>    // std::size_t
#include <cstdint>    // std::intmax_t
#include <string>     // std::string: the signature

namespace latent {

namespace diag {
template <std::intmax_t Num, std::intmax_t Den>
struct dropout_rate {};
/// Dropout's rate must lie in [0, 1).
template <class Layer, class Rate, bool InRange>
struct dropout_rate_is_not_below_one {
  static_assert(InRange, "latent: Dropout's rate must be at least 0 and below 1 (Dropout<50> drops half the values)");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {

/// Dropout bound to its input. Train mode: each value is kept with probability 1 − p and scaled by
/// 1/(1 − p), else zeroed (the mask, drawn from the step's generator, is the cache); eval mode: the
/// identity.
template <class In, std::intmax_t Num, std::intmax_t Den>
struct dropout_layer : same_shape<In> {
  static constexpr double rate = static_cast<double>(Num) / static_cast<double>(Den);
  static constexpr const char* name = "Dropout";
  static constexpr std::size_t in_size = In::size, out_size = In::size;
  static constexpr std::size_t param_count = 0, cache_size = In::size, scratch_size = 0;
  static std::string signature() { return "Dropout<" + std::to_string(Num) + "/" + std::to_string(Den) + ">"; }

  template <class T>
  static void init(T*, Rng&) noexcept {}
  template <class T>
  static void forward(const T*, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) noexcept {
    const std::size_t count = n * in_size;
    if (ctx.mode != Mode::train || ctx.rng == nullptr || Num == 0) {
      std::copy_n(x, count, y);
      for (std::size_t i = 0; i < count; ++i) cache[i] = T(1);
      return;
    }
    const T keep_scale = static_cast<T>(1.0 / (1.0 - rate));
    for (std::size_t i = 0; i < count; ++i) {
      cache[i] = ctx.rng->uniform() >= rate ? keep_scale : T(0);
      y[i] = x[i] * cache[i];
    }
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T* cache, T* dy, T* dx, T*, T*, std::size_t n,
                       Context<T>&) noexcept {
    if (dx == nullptr) return;
    for (std::size_t i = 0; i < n * in_size; ++i) dx[i] = dy[i] * cache[i];
  }
};

}  // namespace detail

/// Inverted dropout with rate Num/Den (PyTorch's Dropout(p)): in train mode (`fit`'s steps) each value
/// is zeroed with probability p, drawn from the step's generator, and the others scaled by 1/(1 − p);
/// in eval mode it passes its input through. With several threads each slice draws its own mask (as a
/// VAE's noise). Shape rules: it follows a layer; 0 ≤ p < 1. Example: examples/docs/models.cpp.
template <std::intmax_t Num, std::intmax_t Den>
struct DropoutWith {
  static_assert(diag::dropout_rate_is_not_below_one<DropoutWith, diag::dropout_rate<Num, Den>,
                                                    (Den > 0 && Num >= 0 && Num < Den)>::value);
  static constexpr const char* name = "Dropout";
  template <class In>
  using bind_shape = detail::dropout_layer<In, Num, Den>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_normalisation<At, DropoutWith, In>();
  }
};

/// Dropout of `Percent` % of the values: `Dropout<10>` is PyTorch's Dropout(0.1).
template <std::intmax_t Percent>
using Dropout = DropoutWith<Percent, 100>;

}  // namespace latent
