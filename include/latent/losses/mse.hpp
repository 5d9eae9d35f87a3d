#pragma once
/// \file
/// `latent::MSE`: mean squared error, averaged over the elements of a sample (as Keras).

#include "latent/losses/elementwise_loss.hpp"

#include <cstddef>  // std::size_t

namespace latent {

namespace detail {
struct mse_element {
  template <class V>
  static V term(const V& p, const V& t) noexcept {
    const V e = p - t;
    return e * e;
  }
  template <class V>
  static V slope(const V& p, const V& t) noexcept {
    return V(2) * (p - t);
  }
};
}  // namespace detail

/// Mean squared error. Per sample: (1/d) Σ_j (p_j − t_j)²; a batch's loss is the mean over samples
/// (so the whole is the mean over all elements, as Keras's `mse`). The reconstruction is the decoder's
/// output itself. Example: examples/keras_seed.cpp.
struct MSE : detail::elementwise_loss<detail::mse_element, true> {
  static constexpr const char* name = "MSE";
  /// Maps the decoder's output to the reconstruction (here: unchanged).
  template <class T>
  static void to_mean(T*, std::size_t) noexcept {}
  static constexpr bool takes_logits = false;
};

}  // namespace latent
