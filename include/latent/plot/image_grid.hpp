#pragma once
/// \file
/// `image_grid`: tiles flattened images into one picture (originals above reconstructions, a sheet
/// of VAE samples, ...), ready for `write_png` or `Canvas::blit`. Example: examples/compare.cpp.

#include <algorithm>  // std::min, std::copy_n, std::fill
#include <cstddef>    // std::size_t
#include <string>     // std::to_string

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"

namespace latent {

/// Tiles the N rows of `images` (each a flattened row-major h × w image) into a grid with `cols`
/// images per row, filled row by row, with `pad` pixels of `pad_value` around and between tiles.
/// The result is (R·(h + pad) + pad) × (C·(w + pad) + pad), with C = min(cols, N) and
/// R = ceil(N / C); unused cells of the last row are `pad_value`. To show originals above their
/// reconstructions, stack them: rows 0..k-1 originals, k..2k-1 reconstructions, with `cols` = k.
/// Throws `shape_error` if h·w differs from the number of columns of `images`, `option_error` if
/// `cols`, `h` or `w` is 0, and `data_error` if there are no images.
inline xt::xtensor<float, 2> image_grid(const xt::xtensor<float, 2>& images, std::size_t h, std::size_t w,
                                        std::size_t cols, std::size_t pad = 1, float pad_value = 1.0f) {
  if (h == 0 || w == 0 || cols == 0) {
    throw option_error("image_grid: expected h, w and cols > 0, found h = " + std::to_string(h) +
                       ", w = " + std::to_string(w) + ", cols = " + std::to_string(cols));
  }
  if (h * w != images.shape(1)) {
    throw shape_error("image_grid: expected images with h * w = " + std::to_string(h) + " * " + std::to_string(w) +
                      " = " + std::to_string(h * w) + " columns, found " + std::to_string(images.shape(1)));
  }
  const std::size_t n = images.shape(0);
  if (n == 0) throw data_error("image_grid: expected at least one image, found none");
  const std::size_t c = std::min(cols, n);
  const std::size_t r = (n + c - 1) / c;
  const std::size_t out_h = r * (h + pad) + pad;
  const std::size_t out_w = c * (w + pad) + pad;
  auto out = xt::xtensor<float, 2>::from_shape({out_h, out_w});
  std::fill(out.begin(), out.end(), pad_value);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t top = pad + (i / c) * (h + pad);
    const std::size_t left = pad + (i % c) * (w + pad);
    const float* src = images.data() + i * h * w;
    for (std::size_t y = 0; y < h; ++y) std::copy_n(src + y * w, w, out.data() + (top + y) * out_w + left);
  }
  return out;
}

}  // namespace latent
