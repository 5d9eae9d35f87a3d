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
struct Bernoulli : detail::elementwise_likelihood<detail::bce_with_logits_element> {
  static constexpr const char* name = "Bernoulli";
  static constexpr bool takes_logits = true;
  /// Decoder output → mean of p(x|z).
  template <class T>
  static void to_mean(T* out, const T*, std::size_t n, std::size_t d) noexcept {
    kernels::apply_activation<Sigmoid>(out, out, n * d);
  }
};

}  // namespace latent
