#pragma once
/// \file
/// Optimiser update kernels: one vectorised pass over the packed parameters, gradients and state.

#include "latent/kernels/simd.hpp"

#include <algorithm>    // std::copy
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uintptr_t: is the copy aligned for streaming stores?
#include <type_traits>  // std::is_same_v

// See gemm.hpp: g++ 12's overflow reasoning on run-time counts is a false positive here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

namespace latent::kernels {

namespace detail {
// Stores v to p (aligned to the register) bypassing the caches, where the instruction set has such a
// store: the copy of the last good weights is written once a step and read only if a step fails, so
// it should neither evict useful lines nor cost a read for ownership. Elsewhere, a plain store.
template <class T, class Arch>
inline void store_streaming(T* p, const simd<T, Arch>& v) noexcept {
  using R = typename simd<T, Arch>::register_type;
#if defined(__AVX512F__)
  if constexpr (sizeof(R) == 64) {
    if constexpr (std::is_same_v<T, float>)
      _mm512_stream_ps(p, v);
    else
      _mm512_stream_pd(p, v);
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(R) == 32) {
    if constexpr (std::is_same_v<T, float>)
      _mm256_stream_ps(p, v);
    else
      _mm256_stream_pd(p, v);
    return;
  }
#endif
#if defined(__SSE2__)
  if constexpr (sizeof(R) == 16) {
    if constexpr (std::is_same_v<T, float>)
      _mm_stream_ps(p, v);
    else
      _mm_stream_pd(p, v);
    return;
  }
#endif
  v.store_aligned(p);
}
inline void streaming_stores_done() noexcept {
#if defined(__SSE2__)
  _mm_sfence();  // non-temporal stores are weakly ordered: make them visible before the step returns
#endif
}

// Below this many bytes a block's copy stays in the caches: streaming stores pay off only when the copy
// would otherwise evict the working set (the reference VAE's 128 KiB blocks), and on an L1-resident
// model (the seed's 17 KiB) the stores and the fence cost more than they save (measured with
// benchmarks/ab/run.sh: 14.8 → 16.4 µs a seed step with streaming at every size).
inline constexpr std::size_t streaming_threshold_bytes = 64 * 1024;

// What a keeping update does beside the update itself: the previous values go to `old` (streamed
// when the block is large and `old` is aligned to the register), and finiteness costs one FMA a
// vector — bad += next·0 is NaN as soon as one value is NaN or ±Inf.
template <class T, class Arch, bool Keep>
struct keeper {
  using V = simd<T, Arch>;
  T* old;
  std::size_t count;
  bool stream =
      Keep && count * sizeof(T) >= streaming_threshold_bytes && reinterpret_cast<std::uintptr_t>(old) % sizeof(V) == 0;
  V bad = V(T(0));
  void operator()(std::size_t i, const V& previous, const V& next) noexcept {
    if constexpr (Keep) {
      if (stream)
        store_streaming<T, Arch>(old + i, previous);
      else
        previous.store_unaligned(old + i);
      bad = xsimd::fma(next, V(T(0)), bad);
    }
  }
  bool finish() noexcept {
    if (stream) streaming_stores_done();
    return xsimd::all(bad == V(T(0)));
  }
};

// The vector loops of the updates, over a multiple of the vector width. Not inlined, so that the one
// compiled loop serves both the whole vectors of a range and its tail (copied into a padded block):
// every parameter's new value is then computed by the same instructions wherever a range starts or
// ends, and an update split anywhere is bit-identical to one pass (the models update their
// parameters piece by piece as the gradient is formed; the compiler could otherwise contract the
// operations of two inlined copies differently).
//
// With `Keep`, each vector of parameters is also stored to `old` before it is updated (the model's
// copy of its last good weights, made in the same pass rather than in one of its own), and the loop
// returns whether every new parameter is finite; without it the loop is the plain update and
// returns true. The new values are the same either way.
//
// With `Decay`, weight decay applies too: Adam's parameters shrink by the factor `decay` before the
// update (decoupled, AdamW), SGD's gradient gains `decay`·p (L2). Without it the loops are unchanged.
template <class T, class Arch, bool Keep, bool Decay>
[[gnu::noinline]] bool adam_vectors(std::size_t count, T* p, const T* g, T* m, T* v, T lr_t, T beta1, T beta2, T eps,
                                    T decay, T* old) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V b1(beta1), b2(beta2), c1(T(1) - beta1), c2(T(1) - beta2), lr(lr_t), e(eps), keep_factor(decay);
  keeper<T, Arch, Keep> keep{old, count};
  for (std::size_t i = 0; i < count; i += W) {
    const V gi = V::load_unaligned(g + i);
    const V mi = xsimd::fma(b1, V::load_unaligned(m + i), c1 * gi);
    const V vi = xsimd::fma(b2, V::load_unaligned(v + i), c2 * gi * gi);
    mi.store_unaligned(m + i);
    vi.store_unaligned(v + i);
    const V pi = V::load_unaligned(p + i);
    V next;
    if constexpr (Decay)
      next = pi * keep_factor - lr * mi / (xsimd::sqrt(vi) + e);
    else
      next = pi - lr * mi / (xsimd::sqrt(vi) + e);
    keep(i, pi, next);
    next.store_unaligned(p + i);
  }
  return keep.finish();
}

template <class T, class Arch, bool Keep, bool Decay>
[[gnu::noinline]] bool sgd_vectors(std::size_t count, T* p, const T* g, T* u, T lr, T momentum, bool nesterov, T decay,
                                   T* old) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  const V mu(momentum), l(lr), lambda(decay);
  keeper<T, Arch, Keep> keep{old, count};
  for (std::size_t i = 0; i < count; i += W) {
    const V pi = V::load_unaligned(p + i);
    V gi = V::load_unaligned(g + i);
    if constexpr (Decay) gi = xsimd::fma(lambda, pi, gi);
    const V ui = mu * V::load_unaligned(u + i) - l * gi;
    ui.store_unaligned(u + i);
    const V step = nesterov ? mu * ui - l * gi : ui;
    const V next = pi + step;
    keep(i, pi, next);
    next.store_unaligned(p + i);
  }
  return keep.finish();
}

// Runs vectors(n, g, arrays) over the whole vectors of [0, count) in place, then over the last
// count % W values copied into zero-padded blocks of one vector (zeros are harmless to both updates);
// only the updated `arrays` are copied back, never the gradient `g`.
template <std::size_t W, std::size_t Arrays, class T, class F>
bool by_vectors(std::size_t count, const T* g, T* const (&arrays)[Arrays], const F& vectors) noexcept {
  const std::size_t full = count / W * W;
  bool finite = true;
  if (full != 0) finite = vectors(full, g, arrays);
  if (const std::size_t k = count - full; k != 0) {
    alignas(64) T g_block[W] = {};
    alignas(64) T block[Arrays][W] = {};
    T* tail[Arrays];
    std::copy(g + full, g + count, g_block);
    for (std::size_t a = 0; a < Arrays; ++a) {
      std::copy(arrays[a] + full, arrays[a] + count, block[a]);
      tail[a] = block[a];
    }
    finite = vectors(W, g_block, tail) && finite;
    for (std::size_t a = 0; a < Arrays; ++a) std::copy(block[a], block[a] + k, arrays[a] + full);
  }
  return finite;
}
}  // namespace detail

/// Adam in Keras's form: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr_t·m / (√v + ε),
/// with the bias correction folded into `lr_t` = lr·√(1−β2ᵗ)/(1−β1ᵗ). The kernel decays by the βs as
/// given in T and adds (1−β)·g with 1−β computed in T, so the caller's correction must use those same
/// rounded βs (`Adam` does) to undo the moments' bias exactly. With `decay` ≠ 1 (decoupled weight
/// decay, AdamW: decay = 1 − lr·λ), p ← p·decay − lr_t·m / (√v + ε). Bit-identical however a
/// parameter vector is split into calls.
template <class T, class Arch = default_arch>
void adam_update(std::size_t count, T* p, const T* g, T* m, T* v, T lr_t, T beta1, T beta2, T eps,
                 T decay = T(1)) noexcept {
  T* const arrays[3] = {p, m, v};
  detail::by_vectors<simd<T, Arch>::size>(count, g, arrays, [&](std::size_t n, const T* gi, T* const(&a)[3]) {
    return decay != T(1) ? detail::adam_vectors<T, Arch, false, true>(n, a[0], gi, a[1], a[2], lr_t, beta1, beta2, eps,
                                                                      decay, nullptr)
                         : detail::adam_vectors<T, Arch, false, false>(n, a[0], gi, a[1], a[2], lr_t, beta1, beta2, eps,
                                                                       decay, nullptr);
  });
}
/// The same update, storing each parameter's value before it to `old[i]` in the same pass; returns
/// whether every new parameter is finite. The new values are those of `adam_update`.
template <class T, class Arch = default_arch>
bool adam_update_keeping(std::size_t count, T* p, const T* g, T* m, T* v, T lr_t, T beta1, T beta2, T eps, T* old,
                         T decay = T(1)) noexcept {
  T* const arrays[4] = {p, m, v, old};
  return detail::by_vectors<simd<T, Arch>::size>(count, g, arrays, [&](std::size_t n, const T* gi, T* const(&a)[4]) {
    return decay != T(1) ? detail::adam_vectors<T, Arch, true, true>(n, a[0], gi, a[1], a[2], lr_t, beta1, beta2, eps,
                                                                     decay, a[3])
                         : detail::adam_vectors<T, Arch, true, false>(n, a[0], gi, a[1], a[2], lr_t, beta1, beta2, eps,
                                                                      decay, a[3]);
  });
}

/// SGD with momentum in Keras's form: u ← μ·u − lr·g; p ← p + u (plain SGD when μ = 0).
/// With `nesterov`, p ← p + μ·u − lr·g. With `decay` = λ > 0 (L2 weight decay), g ← g + λ·p first.
/// Bit-identical however a parameter vector is split into calls.
template <class T, class Arch = default_arch>
void sgd_update(std::size_t count, T* p, const T* g, T* u, T lr, T momentum, bool nesterov, T decay = T(0)) noexcept {
  T* const arrays[2] = {p, u};
  detail::by_vectors<simd<T, Arch>::size>(count, g, arrays, [&](std::size_t n, const T* gi, T* const(&a)[2]) {
    return decay != T(0)
               ? detail::sgd_vectors<T, Arch, false, true>(n, a[0], gi, a[1], lr, momentum, nesterov, decay, nullptr)
               : detail::sgd_vectors<T, Arch, false, false>(n, a[0], gi, a[1], lr, momentum, nesterov, decay, nullptr);
  });
}
/// The same update, storing each parameter's value before it to `old[i]`; returns whether every new
/// parameter is finite.
template <class T, class Arch = default_arch>
bool sgd_update_keeping(std::size_t count, T* p, const T* g, T* u, T lr, T momentum, bool nesterov, T* old,
                        T decay = T(0)) noexcept {
  T* const arrays[3] = {p, u, old};
  return detail::by_vectors<simd<T, Arch>::size>(count, g, arrays, [&](std::size_t n, const T* gi, T* const(&a)[3]) {
    return decay != T(0)
               ? detail::sgd_vectors<T, Arch, true, true>(n, a[0], gi, a[1], lr, momentum, nesterov, decay, a[2])
               : detail::sgd_vectors<T, Arch, true, false>(n, a[0], gi, a[1], lr, momentum, nesterov, decay, a[2]);
  });
}

}  // namespace latent::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
