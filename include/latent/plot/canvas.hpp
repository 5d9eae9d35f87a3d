#pragma once
/// \file
/// `latent::Canvas`: a small RGB raster for pictures without an external plotting library, with
/// anti-aliased points and lines, rectangles, text in a built-in 5 × 7 bitmap font and image blitting;
/// `save` writes it as a PNG. The charts `scatter_plot` and `line_plot` draw on it.

#include <algorithm>    // std::min, std::max, std::clamp
#include <cmath>        // std::floor, std::ceil, std::sqrt
#include <cstddef>      // std::size_t, std::ptrdiff_t
#include <cstdint>      // std::uint8_t
#include <string>       // std::string, std::to_string
#include <string_view>  // std::string_view

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"
#include "latent/io/png.hpp"
#include "latent/plot/color.hpp"
#include "latent/plot/detail/font5x7.hpp"

namespace latent {

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
    for_box(
        x - radius, y - radius, x + radius, y + radius,
        [&](double px, double py) { return radius - std::sqrt((px - x) * (px - x) + (py - y) * (py - y)); }, c, alpha);
  }

  /// An anti-aliased line segment from (x0, y0) to (x1, y1), `thickness` pixels wide, round caps.
  void line(double x0, double y0, double x1, double y1, Color c, double thickness = 1.0) {
    const double h = thickness / 2.0;
    const double dx = x1 - x0;
    const double dy = y1 - y0;
    const double len2 = dx * dx + dy * dy;
    for_box(
        std::min(x0, x1) - h, std::min(y0, y1) - h, std::max(x0, x1) + h, std::max(y0, y1) + h,
        [&](double px, double py) {
          const double t = len2 > 0.0 ? std::clamp(((px - x0) * dx + (py - y0) * dy) / len2, 0.0, 1.0) : 0.0;
          const double ex = px - (x0 + t * dx);
          const double ey = py - (y0 + t * dy);
          return h - std::sqrt(ex * ex + ey * ey);
        },
        c, 1.0f);
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
        const double cover =
            std::clamp(inside(static_cast<double>(px) + 0.5, static_cast<double>(py) + 0.5) + 0.5, 0.0, 1.0);
        if (cover > 0.0) blend(px, py, c, static_cast<float>(cover) * alpha);
      }
    }
  }

  std::size_t width_;
  std::size_t height_;
  xt::xtensor<float, 3> pixels_;
};

}  // namespace latent
