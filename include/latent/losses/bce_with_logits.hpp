#pragma once
/// \file
/// `latent::BCEWithLogits`: binary cross-entropy on logits, numerically stable.

#include "latent/activations/sigmoid.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/simd.hpp"
#include "latent/losses/elementwise_loss.hpp"

#include <cstddef>  // std::size_t

namespace latent {

namespace detail {
struct bce_with_logits_element {
  template <class V>
  static V term(const V& a, const V& t) noexcept {
    using namespace kernels::math;
    return max(a, V(0)) - a * t + log1p(exp(-abs(a)));
  }
  /// σ(a) − t, written as (1 − t)·σ(a) − t·σ(−a) so that it keeps its relative precision when the
  /// logit is large and right (t = 1, a ≫ 0), where σ(a) − t would cancel to 0.
  template <class V>
  static V slope(const V& a, const V& t) noexcept {
    return (V(1) - t) * Sigmoid::apply(a) - t * Sigmoid::apply(-a);
  }
  /// Both at once from one exponential: with e = exp(−|a|), σ(|a|) = 1/(1 + e) and σ(−|a|) = e/(1 + e)
  /// (each to its full relative precision), and log1p(e) is the term's (a training step's loss and
  /// gradient cost one exp, one log1p and one division per value instead of three, two and two).
  template <class V>
  static void term_and_slope(const V& a, const V& t, V& term, V& slope) noexcept {
    using namespace kernels::math;
    const V e = exp(-abs(a));
    const V high = V(1) / (V(1) + e), low = e * high;
    const auto positive = a >= V(0);
    term = max(a, V(0)) - a * t + log1p(e);
    slope = (V(1) - t) * select(positive, high, low) - t * select(positive, low, high);
  }
};
}  // namespace detail

/// Binary cross-entropy on logits a (the decoder's last layer is linear: Identity activation).
/// Per sample: (1/d) Σ_j [max(a, 0) − a·t + log1p(e^−|a|)], which never overflows; gradient
/// (sigmoid(a) − t)/d. The reconstruction is sigmoid(a). Shape rule: the decoder's last activation must
/// be Identity (checked at compile time). Example: examples/compare.cpp.
struct BCEWithLogits : detail::elementwise_loss<detail::bce_with_logits_element, true> {
  static constexpr const char* name = "BCEWithLogits";
  /// Logits to probabilities.
  template <class T>
  static void to_mean(T* y, std::size_t count) noexcept {
    kernels::apply_activation<Sigmoid>(y, y, count);
  }
  static constexpr bool takes_logits = true;
};

}  // namespace latent
