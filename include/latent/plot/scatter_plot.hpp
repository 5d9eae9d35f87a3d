#pragma once
/// \file
/// `latent::scatter_plot`: 2-D codes coloured by class, saved as a PNG. Example: examples/compare.cpp.

#include <algorithm>  // std::min, std::max
#include <cmath>      // std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int32_t
#include <string>     // std::string, std::to_string
#include <utility>    // std::pair
#include <vector>     // std::vector (class names, legend entries)

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"
#include "latent/plot/canvas.hpp"
#include "latent/plot/color.hpp"
#include "latent/plot/detail/chart.hpp"

namespace latent {

/// Saves a scatter plot of 2-D points (N × 2: x, y), coloured by `labels` with the tab10 palette
/// (cycled beyond ten classes), with ticked axes, a legend of `class_names` (a label without a
/// name is shown as its number) and a `title`, as a `width` × `height` PNG at `path`.
/// Non-finite points are skipped. Pass empty `labels` for one colour and no legend.
/// Throws `shape_error` unless `points` has 2 columns and `labels` has N entries (or none),
/// `data_error` for a negative label, `io_error` when the file cannot be written.
inline void scatter_plot(const std::string& path, const xt::xtensor<float, 2>& points,
                         const xt::xtensor<std::int32_t, 1>& labels, const std::vector<std::string>& class_names,
                         const std::string& title, std::size_t width = 800, std::size_t height = 600) {
  if (points.shape(1) != 2) {
    throw shape_error("scatter_plot: expected N x 2 points, found N x " + std::to_string(points.shape(1)));
  }
  const std::size_t n = points.shape(0);
  if (labels.size() != 0 && labels.size() != n) {
    throw shape_error("scatter_plot: expected " + std::to_string(n) + " labels (one per point), found " +
                      std::to_string(labels.size()));
  }
  std::int32_t max_label = -1;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels(i) < 0) {
      throw data_error("scatter_plot: expected labels >= 0, found " + std::to_string(labels(i)) + " in row " +
                       std::to_string(i));
    }
    max_label = std::max(max_label, labels(i));
  }
  double xlo = 1e300, xhi = -1e300, ylo = 1e300, yhi = -1e300;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = points(i, 0), y = points(i, 1);
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
  }
  if (xlo > xhi) xlo = 0, xhi = 1, ylo = 0, yhi = 1;  // nothing finite to show: an empty frame
  const double mx = 0.04 * (xhi - xlo), my = 0.04 * (yhi - ylo);

  std::vector<std::pair<std::string, Color>> entries;
  for (std::int32_t c = 0; c <= max_label && c < 64; ++c) {
    const auto k = static_cast<std::size_t>(c);
    entries.emplace_back(k < class_names.size() ? class_names[k] : std::to_string(c), detail::tab10[k % 10]);
  }
  Canvas cv(width, height);
  const detail::plot_frame f =
      detail::draw_frame(cv, title, "", "", detail::nice_ticks(xlo - mx, xhi + mx),
                         detail::nice_ticks(ylo - my, yhi + my), static_cast<double>(detail::legend_width(entries)));
  // Smaller, more transparent dots when there are many, so dense clusters stay readable.
  const double radius = n > 5000 ? 1.6 : n > 1000 ? 2.0 : 2.8;
  const float alpha = n > 5000 ? 0.55f : 0.8f;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = points(i, 0), y = points(i, 1);
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    const Color c = labels.size() ? detail::tab10[static_cast<std::size_t>(labels(i)) % 10] : detail::tab10[0];
    cv.point(f.px(x), f.py(y), c, radius, alpha);
  }
  detail::draw_legend(cv, f, entries, false);
  cv.save(path);
}

}  // namespace latent
