#pragma once
/// \file
/// `latent::Bernoulli`: the Bernoulli likelihood p(x|z) of a VAE, on logits.

#include "latent/activations/sigmoid.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/losses/bce_with_logits.hpp"
#include "latent/losses/elementwise_loss.hpp"

#include <cstddef>  // std::size_t

namespace latent {

/// Bernoulli likelihood on logits a (the decoder's last layer is linear, Identity activation):
/// −log p(x|z) = Σ_j [max(a_j, 0) − a_j·x_j + log1p(e^−|a_j|)], the binary cross-entropy summed over
/// dimensions (PyTorch's `binary_cross_entropy(..., reduction='sum')`), also for x in [0, 1] (pixel
/// intensities). The mean of p(x|z) is sigmoid(a). It has no parameters of its own.
/// Shape rule: the decoder's last activation must be Identity. Example: examples/vae_fashion_mnist.cpp.
struct Bernoulli : detail::elementwise_loss<detail::bce_with_logits_element, false> {
  static constexpr const char* name = "Bernoulli";
  static constexpr bool takes_logits = true;
  template <std::size_t D>
  static constexpr std::size_t params_for = 0;
  template <class T>
  static void init(T*, std::size_t) noexcept {}
  /// Σ over the n samples of −log p(x|z).
  template <class T>
  static double nll(const T* out, const T* x, const T*, std::size_t n, std::size_t d) noexcept {
    return value(out, x, n, d);
  }
  /// As `nll`; d_out = scale · ∂nll/∂out.
  template <class T>
  static double nll_and_gradient(const T* out, const T* x, const T*, T* d_out, T*, std::size_t n, std::size_t d,
                                 T scale) noexcept {
    return value_and_gradient(out, x, d_out, n, d, scale);
  }
  /// Decoder output → mean of p(x|z).
  template <class T>
  static void to_mean(T* out, const T*, std::size_t n, std::size_t d) noexcept {
    kernels::apply_activation<Sigmoid>(out, out, n * d);
  }
};

}  // namespace latent
