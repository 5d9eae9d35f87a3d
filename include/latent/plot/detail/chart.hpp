#pragma once
/// \file
/// Internal: what `scatter_plot` and `line_plot` share — the tab10 palette, "nice" axis ticks and
/// their labels, and the frame (title, grid, axes, tick and axis labels) and legend of a chart.

#include <algorithm>  // std::min, std::max
#include <cmath>      // std::floor, std::ceil, std::log10, std::pow, std::round, std::isfinite, std::abs
#include <cstddef>    // std::size_t, std::ptrdiff_t
#include <cstdio>     // std::snprintf (tick labels)
#include <string>     // std::string, std::to_string
#include <utility>    // std::pair, std::swap, std::move
#include <vector>     // std::vector (ticks, legend entries)

#include "latent/core/error.hpp"
#include "latent/plot/canvas.hpp"
#include "latent/plot/color.hpp"

namespace latent::detail {

/// Matplotlib's "tab10" qualitative palette: ten colours that stay distinguishable side by side.
inline constexpr Color tab10[10] = {{0.122f, 0.467f, 0.706f}, {1.000f, 0.498f, 0.055f}, {0.173f, 0.627f, 0.173f},
                                    {0.839f, 0.153f, 0.157f}, {0.580f, 0.404f, 0.741f}, {0.549f, 0.337f, 0.294f},
                                    {0.890f, 0.467f, 0.761f}, {0.498f, 0.498f, 0.498f}, {0.737f, 0.741f, 0.133f},
                                    {0.090f, 0.745f, 0.812f}};

/// Axis ticks: "nice" values (1, 2 or 5 times a power of ten) covering [lo, hi].
struct axis_ticks {
  double lo, hi, step;
  std::vector<double> values;
};

inline axis_ticks nice_ticks(double lo, double hi, int target = 6, double min_step = 0.0) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0.0;
    hi = 1.0;
  }
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(lo))) {
    const double d = lo == 0.0 ? 1.0 : 0.1 * std::abs(lo);
    lo -= d;
    hi += d;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
  step = std::max(step, min_step);
  axis_ticks t{std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step, {}};
  for (double v = t.lo; v <= t.hi + 0.5 * step; v += step) t.values.push_back(std::abs(v) < 1e-9 * step ? 0.0 : v);
  return t;
}

/// A tick label with as many decimals as the step needs ("0.25", "100", "1e+06").
inline std::string tick_label(double v, double step) {
  char buf[32];
  if (std::abs(v) >= 1e6 || (step < 1e-4 && v != 0.0)) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  }
  return buf;
}

inline constexpr Color plot_ink{0.15f, 0.15f, 0.15f};
inline constexpr Color plot_grid{0.90f, 0.90f, 0.90f};

/// The frame shared by both charts: title, grid, axes box, tick labels and axis labels.
struct plot_frame {
  double left, top, right, bottom;  // plot area in pixels
  axis_ticks xt, yt;

  double px(double x) const { return left + (x - xt.lo) / (xt.hi - xt.lo) * (right - left); }
  double py(double y) const { return bottom - (y - yt.lo) / (yt.hi - yt.lo) * (bottom - top); }
};

inline plot_frame draw_frame(Canvas& cv, const std::string& title, const std::string& x_label,
                             const std::string& y_label, axis_ticks xt, axis_ticks yt, double legend_width) {
  std::size_t ytick_w = 0;
  for (double v : yt.values) ytick_w = std::max(ytick_w, Canvas::text_width(tick_label(v, yt.step)));
  plot_frame f{};
  f.xt = std::move(xt);
  f.yt = std::move(yt);
  f.left = static_cast<double>(ytick_w) + 14.0 + (y_label.empty() ? 0.0 : 26.0);
  f.top = title.empty() ? 14.0 : 40.0;
  f.right = static_cast<double>(cv.width()) - legend_width - 14.0;
  f.bottom = static_cast<double>(cv.height()) - 24.0 - (x_label.empty() ? 0.0 : 24.0);
  if (f.right - f.left < 20.0 || f.bottom - f.top < 20.0) {
    throw option_error("plot: expected a canvas large enough for the axes and legend, found " +
                       std::to_string(cv.width()) + " x " + std::to_string(cv.height()));
  }
  const auto mid_x = static_cast<std::ptrdiff_t>((f.left + f.right) / 2);
  if (!title.empty()) {
    const auto tw = static_cast<std::ptrdiff_t>(Canvas::text_width(title, 2));
    cv.text(std::max<std::ptrdiff_t>(2, mid_x - tw / 2), 12, title, plot_ink, 2);
  }
  for (double v : f.xt.values) {
    const double x = std::round(f.px(v)) + 0.5;
    cv.line(x, f.top, x, f.bottom, plot_grid, 1.0);
    cv.line(x, f.bottom, x, f.bottom + 4, plot_ink, 1.0);
    const std::string s = tick_label(v, f.xt.step);
    cv.text(static_cast<std::ptrdiff_t>(x) - static_cast<std::ptrdiff_t>(Canvas::text_width(s) / 2),
            static_cast<std::ptrdiff_t>(f.bottom) + 8, s, plot_ink);
  }
  for (double v : f.yt.values) {
    const double y = std::round(f.py(v)) + 0.5;
    cv.line(f.left, y, f.right, y, plot_grid, 1.0);
    cv.line(f.left - 4, y, f.left, y, plot_ink, 1.0);
    const std::string s = tick_label(v, f.yt.step);
    cv.text(static_cast<std::ptrdiff_t>(f.left) - 7 - static_cast<std::ptrdiff_t>(Canvas::text_width(s)),
            static_cast<std::ptrdiff_t>(y) - 3, s, plot_ink);
  }
  cv.rect(f.left, f.top, f.right - f.left + 1, f.bottom - f.top + 1, plot_ink);
  if (!x_label.empty()) {
    const auto w = static_cast<std::ptrdiff_t>(Canvas::text_width(x_label, 2));
    cv.text(mid_x - w / 2, static_cast<std::ptrdiff_t>(f.bottom) + 26, x_label, plot_ink, 2);
  }
  if (!y_label.empty()) {
    const auto w = static_cast<std::ptrdiff_t>(Canvas::text_width(y_label, 2));
    cv.vertical_text(6, static_cast<std::ptrdiff_t>((f.top + f.bottom) / 2) + w / 2, y_label, plot_ink, 2);
  }
  return f;
}

/// A legend to the right of the plot area: a colour swatch and a name per entry.
inline void draw_legend(Canvas& cv, const plot_frame& f, const std::vector<std::pair<std::string, Color>>& entries,
                        bool line_swatch) {
  const auto x = static_cast<std::ptrdiff_t>(f.right) + 16;
  auto y = static_cast<std::ptrdiff_t>(f.top) + 4;
  for (const auto& [name, color] : entries) {
    if (line_swatch) {
      cv.line(static_cast<double>(x), static_cast<double>(y) + 4.5, static_cast<double>(x) + 16,
              static_cast<double>(y) + 4.5, color, 2.5);
    } else {
      cv.point(static_cast<double>(x) + 8, static_cast<double>(y) + 4.5, color, 4.0);
    }
    cv.text(x + 24, y + 1, name, plot_ink);
    y += 16;
  }
}

inline std::size_t legend_width(const std::vector<std::pair<std::string, Color>>& entries) {
  std::size_t w = 0;
  for (const auto& e : entries) w = std::max(w, Canvas::text_width(e.first));
  return entries.empty() ? 0 : w + 40;
}

}  // namespace latent::detail
