#pragma once
/// \file
/// `latent::detail::clipper`: gradient-norm clipping shared by the optimisers.

#include "latent/core/aligned_buffer.hpp"
#include "latent/kernels/elementwise.hpp"

#include <algorithm>    // std::copy
#include <cmath>        // std::sqrt
#include <cstddef>      // std::size_t
#include <span>         // std::span
#include <type_traits>  // std::is_same_v

namespace latent::detail {

/// Returns the gradients to use for a step: `grads` itself, or — when its L2 norm exceeds `max_norm`
/// > 0 — a scaled copy in a buffer kept for reuse (sized on first use, so steps allocate nothing after).
class clipper {
 public:
  template <class T>
  const T* apply(std::span<const T> grads, double max_norm) {
    if (max_norm <= 0) return grads.data();
    const double norm = std::sqrt(static_cast<double>(kernels::sum_of_squares(grads.size(), grads.data())));
    if (!(norm > max_norm)) return grads.data();
    auto& b = buffer<T>();
    b.reserve(grads.size());
    std::copy(grads.begin(), grads.end(), b.begin());
    kernels::scale(grads.size(), static_cast<T>(max_norm / norm), b.data());
    return b.data();
  }

 private:
  template <class T>
  aligned_buffer<T>& buffer() noexcept {
    if constexpr (std::is_same_v<T, float>)
      return f_;
    else
      return d_;
  }
  aligned_buffer<float> f_;
  aligned_buffer<double> d_;
};

}  // namespace latent::detail
