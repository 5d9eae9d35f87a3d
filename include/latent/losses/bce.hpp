#pragma once
/// \file
/// `latent::BCE`: binary cross-entropy on probabilities, clamped as Keras does.

#include "latent/kernels/simd.hpp"
#include "latent/losses/elementwise_loss.hpp"

#include <cstddef>  // std::size_t

namespace latent {

namespace detail {
struct bce_element {
  static constexpr double epsilon = 1e-7;
  template <class V>
  static V term(const V& p, const V& t) noexcept {
    using namespace kernels::math;
    using S = kernels::scalar_of_t<V>;
    const V eps(static_cast<S>(epsilon));
    const V q = min(max(p, eps), V(S(1)) - eps);
    return -(t * log(q + eps) + (V(S(1)) - t) * log(V(S(1)) - q + eps));
  }
  template <class V>
  static V slope(const V& p, const V& t) noexcept {
    using namespace kernels::math;
    using S = kernels::scalar_of_t<V>;
    const V eps(static_cast<S>(epsilon));
    const V one(S(1));
    const V g = (one - t) / (one - p + eps) - t / (p + eps);
    return select(p >= eps && p <= one - eps, g, V(S(0)));
  }
};
}  // namespace detail

/// Binary cross-entropy on probabilities (a Sigmoid output). Per sample:
/// −(1/d) Σ_j [t_j log(p_j + ε) + (1 − t_j) log(1 − p_j + ε)] with p clamped to [ε, 1 − ε], ε = 1e-7,
/// exactly Keras's `binary_crossentropy`; its gradient is that of this formula (0 where p is clamped).
/// Targets are expected in [0, 1]. Prefer `BCEWithLogits` with an Identity output: it is exact and
/// stable. Example: examples/compare.cpp.
struct BCE : detail::elementwise_loss<detail::bce_element, true> {
  static constexpr const char* name = "BCE";
  static constexpr double epsilon = 1e-7;
  template <class T>
  static void to_mean(T*, std::size_t) noexcept {}
  static constexpr bool takes_logits = false;
};

}  // namespace latent
