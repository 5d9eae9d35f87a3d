#pragma once
/// \file
/// `draw_heat_map`: a matrix of values in [0, 1] as a grid of shaded cells with their values printed,
/// row and column labels beside it — e.g. the normalised unit × factor mutual information
/// (`MutualInformation::normalised`). Example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::max, std::clamp
#include <cstddef>    // std::size_t, std::ptrdiff_t
#include <cstdio>     // std::snprintf
#include <string>     // std::string, std::to_string
#include <utility>    // std::pair
#include <vector>     // std::vector

#include "latent/core/error.hpp"
#include "latent/plot/canvas.hpp"
#include "latent/plot/color.hpp"

namespace latent {

/// The width and height in pixels `draw_heat_map` takes for these labels and cell size.
inline std::pair<std::size_t, std::size_t> heat_map_extent(std::size_t rows, std::size_t cols,
                                                           const std::vector<std::string>& row_labels,
                                                           std::size_t cell = 34) {
  std::size_t label_w = 0;
  for (const auto& l : row_labels) label_w = std::max(label_w, Canvas::text_width(l));
  return {label_w + 6 + cols * cell, 14 + rows * cell};
}

/// Draws `values` (R × C, each in [0, 1]; clamped) at (x, y) of `canvas`: cell (r, c) shaded from
/// white (0) to dark blue (1) with its value to two decimals, `col_labels` above the columns (cut
/// to the cell's width) and `row_labels` to the left of the rows. Returns the extent drawn
/// (`heat_map_extent`). Throws `shape_error` unless there is one label per row and per column.
inline std::pair<std::size_t, std::size_t> draw_heat_map(Canvas& canvas, std::ptrdiff_t x, std::ptrdiff_t y,
                                                         const xt::xtensor<double, 2>& values,
                                                         const std::vector<std::string>& row_labels,
                                                         const std::vector<std::string>& col_labels,
                                                         std::size_t cell = 34) {
  const std::size_t rows = values.shape()[0], cols = values.shape()[1];
  if (row_labels.size() != rows || col_labels.size() != cols)
    throw shape_error("draw_heat_map: expected " + std::to_string(rows) + " row and " + std::to_string(cols) +
                      " column labels, found " + std::to_string(row_labels.size()) + " and " +
                      std::to_string(col_labels.size()));
  const auto extent = heat_map_extent(rows, cols, row_labels, cell);
  const auto left = x + static_cast<std::ptrdiff_t>(extent.first - cols * cell), top = y + 14;
  const auto c = static_cast<std::ptrdiff_t>(cell);
  constexpr Color ink{0.1f, 0.1f, 0.1f}, white{1.0f, 1.0f, 1.0f}, dark{0.03f, 0.19f, 0.42f};
  for (std::size_t k = 0; k < cols; ++k) {
    const std::string l = col_labels[k].substr(0, (cell + 1) / 6);
    canvas.text(
        left + static_cast<std::ptrdiff_t>(k) * c + (c - static_cast<std::ptrdiff_t>(Canvas::text_width(l))) / 2, y + 2,
        l, ink);
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const std::ptrdiff_t ry = top + static_cast<std::ptrdiff_t>(r) * c;
    canvas.text(x, ry + (c - 7) / 2, row_labels[r], ink);
    for (std::size_t k = 0; k < cols; ++k) {
      const double v = std::clamp(values(r, k), 0.0, 1.0);
      const auto mix = [&](float a, float b) { return static_cast<float>(a + (b - a) * v); };
      const Color shade{mix(white.r, dark.r), mix(white.g, dark.g), mix(white.b, dark.b)};
      const std::ptrdiff_t cx = left + static_cast<std::ptrdiff_t>(k) * c;
      canvas.fill_rect(static_cast<double>(cx), static_cast<double>(ry), static_cast<double>(cell - 1),
                       static_cast<double>(cell - 1), shade);
      char text[16];
      std::snprintf(text, sizeof text, "%.2f", v);
      canvas.text(cx + (c - 1 - static_cast<std::ptrdiff_t>(Canvas::text_width(text))) / 2, ry + (c - 8) / 2, text,
                  v > 0.5 ? white : ink);
    }
  }
  return extent;
}

}  // namespace latent
