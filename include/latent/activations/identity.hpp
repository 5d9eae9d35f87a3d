#pragma once
/// \file
/// `latent::Identity`: f(z) = z (a linear layer; the logit output of a Bernoulli decoder).

#include "latent/kernels/simd.hpp"

namespace latent {

/// f(z) = z, f'(z) = 1. The activation of linear layers and of logit outputs.
/// Example: examples/keras_seed.cpp (the activation vocabulary).
struct Identity {
  static constexpr const char* name = "Identity";
  template <class V>
  static V apply(const V& z) noexcept {
    return z;
  }
  /// f'(z) written in terms of the output y = f(z): every activation's derivative is a function of
  /// its output, so a layer keeps only its output for the backward pass.
  template <class V>
  static V derivative(const V&) noexcept {
    return V(1);
  }
  /// f''(z) in terms of y (used by the contractive penalty's gradient).
  template <class V>
  static V second_derivative(const V&) noexcept {
    return V(0);
  }
};

}  // namespace latent
