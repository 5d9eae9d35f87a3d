#pragma once
/// \file
/// Pictures for reports without an external plotting library: a small RGB raster (`Canvas`) with
/// anti-aliased points and lines, rectangles, text in a built-in 5 × 7 bitmap font and image
/// blitting, plus two ready-made charts, `scatter_plot` (2-D codes coloured by class) and
/// `line_plot` (training curves).

#include <algorithm>    // std::min, std::max, std::clamp
#include <cmath>        // std::floor, std::ceil, std::log10, std::pow, std::sqrt, std::isfinite, std::abs
#include <cstddef>      // std::size_t, std::ptrdiff_t
#include <cstdint>      // std::int32_t, std::uint8_t
#include <cstdio>       // std::snprintf (tick labels)
#include <string>       // std::string, std::to_string
#include <string_view>  // std::string_view
#include <utility>      // std::pair
#include <vector>       // std::vector (series, ticks)

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"
#include "latent/io/png.hpp"

namespace latent {

/// An RGB colour, each channel in [0, 1].
struct Color {
  /// Red.
  float r = 0.0f;
  /// Green.
  float g = 0.0f;
  /// Blue.
  float b = 0.0f;
};

namespace detail {

/// The 5 × 7 bitmap font for ASCII 32–126: seven rows per glyph, top first; bit 4 is the leftmost
/// column. Drawn for latent (monospaced, 1-pixel strokes, legible at scale 1).
inline constexpr std::uint8_t font5x7[95][7] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04}, {0x0A, 0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00}, {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A},
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04}, {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D}, {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00},
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00}, {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}, {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}, {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00},
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}, {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}, {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}, {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08},
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}, {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04},
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E}, {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}, {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E},
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}, {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F},
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}, {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11},
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}, {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E},
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}, {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}, {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E},
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}, {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A},
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}, {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}, {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E},
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00}, {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E}, {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F},
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F}, {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E}, {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E},
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F}, {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}, {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08}, {0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E},
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}, {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E}, {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C}, {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12},
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11}, {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}, {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E},
    {0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10}, {0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01}, {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}, {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E},
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}, {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D}, {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04}, {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A},
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11}, {0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E}, {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F}, {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02},
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08}, {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00},
};

/// Matplotlib's "tab10" qualitative palette: ten colours that stay distinguishable side by side.
inline constexpr Color tab10[10] = {
    {0.122f, 0.467f, 0.706f}, {1.000f, 0.498f, 0.055f}, {0.173f, 0.627f, 0.173f}, {0.839f, 0.153f, 0.157f},
    {0.580f, 0.404f, 0.741f}, {0.549f, 0.337f, 0.294f}, {0.890f, 0.467f, 0.761f}, {0.498f, 0.498f, 0.498f},
    {0.737f, 0.741f, 0.133f}, {0.090f, 0.745f, 0.812f}};

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

}  // namespace detail

/// A small RGB raster for charts: `width` × `height` pixels, white unless told otherwise.
/// Coordinates are in pixels with the origin at the top-left corner; pixel (x, y) covers
/// [x, x + 1) × [y, y + 1), so its centre is (x + 0.5, y + 0.5). Points and lines are anti-aliased
/// (coverage from the distance to the shape); everything is clipped to the canvas.
class Canvas {
 public:
  /// A canvas filled with `background`. Throws `option_error` for a zero size.
  Canvas(std::size_t width, std::size_t height, Color background = {1.0f, 1.0f, 1.0f})
      : width_(width), height_(height), pixels_(xt::xtensor<float, 3>::from_shape({height, width, 3})) {
    if (width == 0 || height == 0) {
      throw option_error("Canvas: expected a non-zero size, found " + std::to_string(width) + " x " +
                         std::to_string(height));
    }
    for (std::size_t i = 0; i < width * height; ++i) {
      pixels_.data()[3 * i] = background.r;
      pixels_.data()[3 * i + 1] = background.g;
      pixels_.data()[3 * i + 2] = background.b;
    }
  }

  /// Width in pixels.
  std::size_t width() const { return width_; }
  /// Height in pixels.
  std::size_t height() const { return height_; }
  /// The pixels, height × width × 3, channels in [0, 1].
  const xt::xtensor<float, 3>& pixels() const { return pixels_; }

  /// Mixes `c` into pixel (x, y) with opacity `alpha` in [0, 1]; outside the canvas does nothing.
  void blend(std::ptrdiff_t x, std::ptrdiff_t y, Color c, float alpha = 1.0f) {
    if (x < 0 || y < 0 || x >= static_cast<std::ptrdiff_t>(width_) || y >= static_cast<std::ptrdiff_t>(height_)) return;
    alpha = std::clamp(alpha, 0.0f, 1.0f);
    float* p = pixels_.data() + 3 * (static_cast<std::size_t>(y) * width_ + static_cast<std::size_t>(x));
    p[0] += alpha * (c.r - p[0]);
    p[1] += alpha * (c.g - p[1]);
    p[2] += alpha * (c.b - p[2]);
  }

  /// A filled anti-aliased disc of `radius` pixels centred at (x, y), with overall opacity `alpha`.
  void point(double x, double y, Color c, double radius = 2.0, float alpha = 1.0f) {
    for_box(x - radius, y - radius, x + radius, y + radius, [&](double px, double py) {
      return radius - std::sqrt((px - x) * (px - x) + (py - y) * (py - y));
    }, c, alpha);
  }

  /// An anti-aliased line segment from (x0, y0) to (x1, y1), `thickness` pixels wide, round caps.
  void line(double x0, double y0, double x1, double y1, Color c, double thickness = 1.0) {
    const double h = thickness / 2.0;
    const double dx = x1 - x0;
    const double dy = y1 - y0;
    const double len2 = dx * dx + dy * dy;
    for_box(std::min(x0, x1) - h, std::min(y0, y1) - h, std::max(x0, x1) + h, std::max(y0, y1) + h,
            [&](double px, double py) {
              const double t = len2 > 0.0 ? std::clamp(((px - x0) * dx + (py - y0) * dy) / len2, 0.0, 1.0) : 0.0;
              const double ex = px - (x0 + t * dx);
              const double ey = py - (y0 + t * dy);
              return h - std::sqrt(ex * ex + ey * ey);
            }, c, 1.0f);
  }

  /// Fills the pixels whose centres lie in the rectangle [x, x + w) × [y, y + h).
  void fill_rect(double x, double y, double w, double h, Color c) {
    const auto x_begin = static_cast<std::ptrdiff_t>(std::ceil(x - 0.5));
    const auto x_end = static_cast<std::ptrdiff_t>(std::ceil(x + w - 0.5));
    const auto y_begin = static_cast<std::ptrdiff_t>(std::ceil(y - 0.5));
    const auto y_end = static_cast<std::ptrdiff_t>(std::ceil(y + h - 0.5));
    for (std::ptrdiff_t py = y_begin; py < y_end; ++py) {
      for (std::ptrdiff_t px = x_begin; px < x_end; ++px) blend(px, py, c);
    }
  }

  /// The outline of the rectangle [x, x + w) × [y, y + h), `thickness` pixels wide, drawn inside it.
  void rect(double x, double y, double w, double h, Color c, double thickness = 1.0) {
    fill_rect(x, y, w, thickness, c);
    fill_rect(x, y + h - thickness, w, thickness, c);
    fill_rect(x, y + thickness, thickness, h - 2 * thickness, c);
    fill_rect(x + w - thickness, y + thickness, thickness, h - 2 * thickness, c);
  }

  /// Width in pixels of `s` drawn by `text` at `scale` (6 pixels per character, less the last gap).
  static std::size_t text_width(std::string_view s, std::size_t scale = 1) {
    return s.empty() ? 0 : (6 * s.size() - 1) * scale;
  }
  /// Height in pixels of a line of text at `scale` (7 pixels per unit of scale).
  static std::size_t text_height(std::size_t scale = 1) { return 7 * scale; }

  /// Draws `s` in the 5 × 7 font with its top-left corner at (x, y), each font pixel a
  /// `scale` × `scale` block. Characters outside ASCII 32–126 are drawn as '?'.
  void text(std::ptrdiff_t x, std::ptrdiff_t y, std::string_view s, Color c, std::size_t scale = 1) {
    const auto k = static_cast<std::ptrdiff_t>(scale);
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::uint8_t* glyph = glyph_of(s[i]);
      for (std::ptrdiff_t gy = 0; gy < 7; ++gy) {
        for (std::ptrdiff_t gx = 0; gx < 5; ++gx) {
          if (!((glyph[gy] >> (4 - gx)) & 1u)) continue;
          const std::ptrdiff_t ox = x + (static_cast<std::ptrdiff_t>(6 * i) + gx) * k;
          for (std::ptrdiff_t sy = 0; sy < k; ++sy) {
            for (std::ptrdiff_t sx = 0; sx < k; ++sx) blend(ox + sx, y + gy * k + sy, c);
          }
        }
      }
    }
  }

  /// Draws `s` turned a quarter turn anticlockwise (reading bottom to top, as a y-axis label), with
  /// the bottom-left corner of the text's box at (x, y).
  void vertical_text(std::ptrdiff_t x, std::ptrdiff_t y, std::string_view s, Color c, std::size_t scale = 1) {
    const auto k = static_cast<std::ptrdiff_t>(scale);
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::uint8_t* glyph = glyph_of(s[i]);
      for (std::ptrdiff_t gy = 0; gy < 7; ++gy) {
        for (std::ptrdiff_t gx = 0; gx < 5; ++gx) {
          if (!((glyph[gy] >> (4 - gx)) & 1u)) continue;
          const std::ptrdiff_t along = (static_cast<std::ptrdiff_t>(6 * i) + gx) * k;
          for (std::ptrdiff_t sy = 0; sy < k; ++sy) {
            for (std::ptrdiff_t sx = 0; sx < k; ++sx) blend(x + gy * k + sy, y - 1 - along - sx, c);
          }
        }
      }
    }
  }

  /// Copies a grayscale image (values in [0, 1], clamped) with its top-left corner at (x, y), each
  /// image pixel a `scale` × `scale` block (nearest neighbour, so pixels stay crisp).
  void blit(const xt::xtensor<float, 2>& gray, std::ptrdiff_t x, std::ptrdiff_t y, std::size_t scale = 1) {
    const auto k = static_cast<std::ptrdiff_t>(scale);
    const auto rows = static_cast<std::ptrdiff_t>(gray.shape(0));
    const auto cols = static_cast<std::ptrdiff_t>(gray.shape(1));
    for (std::ptrdiff_t r = 0; r < rows * k; ++r) {
      for (std::ptrdiff_t col = 0; col < cols * k; ++col) {
        float v = gray(static_cast<std::size_t>(r / k), static_cast<std::size_t>(col / k));
        v = v > 0.0f ? std::min(v, 1.0f) : 0.0f;
        blend(x + col, y + r, Color{v, v, v});
      }
    }
  }

  /// Writes the canvas to `path` as an RGB PNG (atomically; see `write_png`).
  void save(const std::string& path) const { write_png(path, pixels_); }

 private:
  static const std::uint8_t* glyph_of(char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return detail::font5x7[(u >= 32 && u <= 126) ? u - 32 : '?' - 32];
  }

  /// Blends `c` into every pixel of the box whose signed inside-distance `inside(px, py)` (pixel
  /// centre, positive inside) gives coverage clamp(inside + 0.5, 0, 1).
  template <class Inside>
  void for_box(double x0, double y0, double x1, double y1, Inside inside, Color c, float alpha) {
    const double xlo = std::max(std::floor(x0 - 1.0), 0.0);
    const double ylo = std::max(std::floor(y0 - 1.0), 0.0);
    const double xhi = std::min(std::ceil(x1 + 1.0), static_cast<double>(width_));
    const double yhi = std::min(std::ceil(y1 + 1.0), static_cast<double>(height_));
    if (!(xlo < xhi && ylo < yhi)) return;  // also rejects NaN coordinates
    for (auto py = static_cast<std::ptrdiff_t>(ylo); py < static_cast<std::ptrdiff_t>(yhi); ++py) {
      for (auto px = static_cast<std::ptrdiff_t>(xlo); px < static_cast<std::ptrdiff_t>(xhi); ++px) {
        const double cover = std::clamp(inside(static_cast<double>(px) + 0.5, static_cast<double>(py) + 0.5) + 0.5, 0.0, 1.0);
        if (cover > 0.0) blend(px, py, c, static_cast<float>(cover) * alpha);
      }
    }
  }

  std::size_t width_;
  std::size_t height_;
  xt::xtensor<float, 3> pixels_;
};

namespace detail {

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
      cv.line(static_cast<double>(x), static_cast<double>(y) + 4.5, static_cast<double>(x) + 16, static_cast<double>(y) + 4.5, color, 2.5);
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

}  // namespace detail

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
  const detail::plot_frame f = detail::draw_frame(cv, title, "", "", detail::nice_ticks(xlo - mx, xhi + mx),
                                                  detail::nice_ticks(ylo - my, yhi + my),
                                                  static_cast<double>(detail::legend_width(entries)));
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
