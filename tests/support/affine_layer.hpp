#pragma once
/// \file
/// Test support, not part of the installed library: a user's layer written to the documented layer
/// protocol only (no latent base class, no SIMD, no opt-in to deferred gradients), y = x ⊙ s + b
/// element-wise, parameters [s (N) | b (N)]. test_extension trains, saves and checks it through
/// latent::testing; test_weights uses it as a layer whose parameters have no outside layout.

#include <cstddef>  // std::size_t

#include "latent/core/context.hpp"  // latent::Context
#include "latent/core/random.hpp"   // latent::Rng

namespace test_support {

template <std::size_t N>
struct Affine {
  static constexpr const char* name = "Affine";
  static constexpr std::size_t in_size = N, out_size = N, param_count = 2 * N, cache_size = 0, scratch_size = 0;

  // Scales near 1, zero offsets: close to the identity, as a user would start it.
  template <class T>
  static void init(T* params, latent::Rng& rng) {
    for (std::size_t j = 0; j < N; ++j) params[j] = static_cast<T>(1 + rng.uniform(-0.1, 0.1));
    for (std::size_t j = 0; j < N; ++j) params[N + j] = T(0);
  }
  template <class T>
  static void forward(const T* params, const T* x, T* y, T*, std::size_t n, latent::Context<T>&) {
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < N; ++j) y[r * N + j] = x[r * N + j] * params[j] + params[N + j];
  }
  // dparams is written (not accumulated), dx only when the layer is not the first.
  template <class T>
  static void backward(const T* params, const T* x, const T*, const T*, T* dy, T* dx, T* dparams, T*, std::size_t n,
                       latent::Context<T>&) {
    for (std::size_t j = 0; j < 2 * N; ++j) dparams[j] = T(0);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < N; ++j) {
        dparams[j] += dy[r * N + j] * x[r * N + j];
        dparams[N + j] += dy[r * N + j];
        if (dx != nullptr) dx[r * N + j] = dy[r * N + j] * params[j];
      }
  }
};

}  // namespace test_support
