#pragma once
/// \file
/// `latent::detail::workspace_layout`: a model's per-sample workspace, declared once as a list of
/// widths and carved into named buffers for a batch of n rows.

#include <array>    // std::array
#include <cstddef>  // std::size_t

namespace latent::detail {

/// K buffers of widths[k] values per sample, laid out one after the other for a batch: buffer k of
/// an n-row batch starts at n·(widths[0] + … + widths[k−1]). The model names the buffers with an
/// enum and asks `carve` for their addresses; the total is a compile-time fact.
template <std::size_t K>
struct workspace_layout {
  std::array<std::size_t, K> widths{};

  constexpr std::size_t per_sample() const noexcept {
    std::size_t total = 0;
    for (std::size_t w : widths) total += w;
    return total;
  }
  /// The addresses of the K buffers of an n-row batch in the workspace at `w` (n·per_sample() values).
  template <class T>
  std::array<T*, K> carve(T* w, std::size_t n) const noexcept {
    std::array<T*, K> at{};
    for (std::size_t k = 0; k < K; ++k) {
      at[k] = w;
      w += n * widths[k];
    }
    return at;
  }
};

}  // namespace latent::detail
