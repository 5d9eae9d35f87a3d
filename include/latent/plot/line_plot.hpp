#pragma once
/// \file
/// `latent::line_plot`: one or more series (training curves), saved as a PNG. Example:
/// examples/compare.cpp.

#include <algorithm>  // std::min, std::max
#include <cmath>      // std::isfinite
#include <cstddef>    // std::size_t
#include <string>     // std::string
#include <utility>    // std::pair
#include <vector>     // std::vector (series, legend entries)

#include "latent/core/error.hpp"
#include "latent/plot/canvas.hpp"
#include "latent/plot/color.hpp"
#include "latent/plot/detail/chart.hpp"

namespace latent {

/// Saves a line chart of one or more series (name, values) — training curves — as a `width` ×
/// `height` PNG at `path`: value i of a series is plotted at x = i + 1 (epoch 1, 2, ...), one
/// tab10 colour per series, a legend of the names, axes with "nice" tick values fitted to the data,
/// `title`, `x_label` and `y_label`. Non-finite values leave a gap in their line.
/// Throws `data_error` when there are no finite values at all, `io_error` when the file cannot be
/// written.
inline void line_plot(const std::string& path, const std::vector<std::pair<std::string, std::vector<double>>>& series,
                      const std::string& title, const std::string& x_label, const std::string& y_label,
                      std::size_t width = 800, std::size_t height = 600) {
  double ylo = 1e300, yhi = -1e300;
  std::size_t longest = 0;
  for (const auto& s : series) {
    longest = std::max(longest, s.second.size());
    for (double v : s.second) {
      if (std::isfinite(v)) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
    }
  }
  if (ylo > yhi) {
    throw data_error("line_plot: expected at least one finite value to plot, found " +
                     std::string(series.empty() ? "no series" : "none"));
  }
  const double my = 0.04 * (yhi - ylo);
  std::vector<std::pair<std::string, Color>> entries;
  for (std::size_t k = 0; k < series.size(); ++k) entries.emplace_back(series[k].first, detail::tab10[k % 10]);
  Canvas cv(width, height);
  const detail::plot_frame f =
      detail::draw_frame(cv, title, x_label, y_label, detail::nice_ticks(1.0, static_cast<double>(longest), 8, 1.0),
                         detail::nice_ticks(ylo - my, yhi + my), static_cast<double>(detail::legend_width(entries)));
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& v = series[k].second;
    const Color c = detail::tab10[k % 10];
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) continue;
      const double x = f.px(static_cast<double>(i + 1)), y = f.py(v[i]);
      if (i + 1 < v.size() && std::isfinite(v[i + 1])) {
        cv.line(x, y, f.px(static_cast<double>(i + 2)), f.py(v[i + 1]), c, 2.0);
      }
      if (v.size() <= 40) cv.point(x, y, c, 3.0);  // markers while they do not crowd the line
    }
  }
  detail::draw_legend(cv, f, entries, true);
  cv.save(path);
}

}  // namespace latent
