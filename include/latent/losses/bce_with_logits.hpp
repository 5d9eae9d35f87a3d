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
