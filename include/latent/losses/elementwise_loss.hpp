#pragma once
/// \file
/// `latent::detail::elementwise_loss`: the batch functions shared by losses that are a sum of
/// element-wise terms.

#include "latent/kernels/loss.hpp"

#include <cstddef>  // std::size_t

namespace latent::detail {

/// Given `Element::term(p, t)` and `Element::slope(p, t)` = ∂term/∂p, defines a sample's loss as the mean
/// (`MeanOverDims`) or the sum of its d terms, and:
///  - `value(p, t, n, d)`: Σ over the n samples of their losses;
///  - `value_and_gradient(p, t, grad, n, d, scale)`: the same, and grad = scale · ∂value/∂p.
template <class Element, bool MeanOverDims>
struct elementwise_loss {
  using element = Element;
  static constexpr bool mean_over_dims = MeanOverDims;

  template <class T>
  static double value(const T* p, const T* t, std::size_t n, std::size_t d) noexcept {
    return kernels::loss_sum<Element>(n * d, p, t, static_cast<T*>(nullptr), T(0)) / divisor(d);
  }
  template <class T>
  static double value_and_gradient(const T* p, const T* t, T* grad, std::size_t n, std::size_t d, T scale) noexcept {
    return kernels::loss_sum<Element>(n * d, p, t, grad, scale / static_cast<T>(divisor(d))) / divisor(d);
  }

 private:
  static constexpr double divisor(std::size_t d) noexcept { return MeanOverDims ? static_cast<double>(d) : 1.0; }
};

/// A VAE likelihood without parameters of its own whose −log p(x|z) is a sum of element-wise terms:
/// the likelihood interface (`params_for`, `init`, `nll`, `nll_and_gradient`) over `elementwise_loss`.
template <class Element>
struct elementwise_likelihood : elementwise_loss<Element, false> {
  template <std::size_t D>
  static constexpr std::size_t params_for = 0;
  template <class T>
  static void init(T*, std::size_t) noexcept {}
  /// Σ over the n samples of −log p(x|z).
  template <class T>
  static double nll(const T* out, const T* x, const T*, std::size_t n, std::size_t d) noexcept {
    return elementwise_loss<Element, false>::value(out, x, n, d);
  }
  /// As `nll`; d_out = scale · ∂nll/∂out.
  template <class T>
  static double nll_and_gradient(const T* out, const T* x, const T*, T* d_out, T*, std::size_t n, std::size_t d,
                                 T scale) noexcept {
    return elementwise_loss<Element, false>::value_and_gradient(out, x, d_out, n, d, scale);
  }
};

}  // namespace latent::detail
