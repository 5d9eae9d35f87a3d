#pragma once
/// \file
/// The built-in default data set: 28 × 28 grayscale pictures of 10 kinds of procedurally drawn
/// shapes, generated in code (no file needed), the same geometry as Fashion-MNIST so the same models
/// run on both.
///
/// Each image is one shape at a random position (±3.5 px), size, rotation, stroke width and
/// intensity on a dark background with a faint random level, anti-aliased by rendering a signed
/// distance function with one pixel of coverage ramp, plus a little pixel noise. The classes share
/// parameters in pairs (disk/ring, square/outline, plus/cross, horizontal/vertical bars, ellipse/
/// bars), so telling them apart takes more than counting bright pixels.

#include <algorithm>  // std::min, std::max, std::clamp
#include <cmath>      // std::sqrt, std::sin, std::cos, std::abs, std::hypot
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int32_t, std::uint64_t
#include <numeric>    // std::iota
#include <utility>    // std::pair
#include <vector>     // std::vector (label permutation)

#include <xtensor/xtensor.hpp>

#include "latent/core/random.hpp"
#include "latent/data/dataset.hpp"

namespace latent {

namespace detail {

/// Side of a shapes image in pixels.
inline constexpr std::size_t shapes_side = 28;

/// Signed distance (pixels, negative inside) to an axis-aligned box of half-extents (bx, by).
inline double sd_box(double px, double py, double bx, double by) {
  const double qx = std::abs(px) - bx;
  const double qy = std::abs(py) - by;
  const double ox = std::max(qx, 0.0);
  const double oy = std::max(qy, 0.0);
  return std::sqrt(ox * ox + oy * oy) + std::min(std::max(qx, qy), 0.0);
}

/// Signed distance to an equilateral triangle of half side `r` centred on its centroid (Quilez).
inline double sd_triangle(double px, double py, double r) {
  constexpr double k = 1.7320508075688772;  // sqrt(3)
  px = std::abs(px) - r;
  py = py + r / k;
  if (px + k * py > 0.0) {
    const double nx = (px - k * py) / 2.0;
    const double ny = (-k * px - py) / 2.0;
    px = nx;
    py = ny;
  }
  px -= std::clamp(px, -2.0 * r, 0.0);
  const double len = std::sqrt(px * px + py * py);
  return py > 0.0 ? -len : len;
}

/// Approximate signed distance to an ellipse with semi-axes (a, b), good near the boundary,
/// which is all the anti-aliasing needs.
inline double sd_ellipse(double px, double py, double a, double b) {
  const double k0 = std::sqrt((px / a) * (px / a) + (py / b) * (py / b));
  const double k1 = std::sqrt((px / (a * a)) * (px / (a * a)) + (py / (b * b)) * (py / (b * b)));
  if (k1 < 1e-9) return -std::min(a, b);
  return k0 * (k0 - 1.0) / k1;
}

/// The random parameters of one shape; `size` is its outer radius in pixels.
struct shape_params {
  int kind;
  double cx, cy, size, cos_t, sin_t, stroke, aspect, intensity, background;
};

/// Signed distance from the point (x, y) (pixel units, image frame) to shape `s`.
inline double shape_distance(const shape_params& s, double x, double y) {
  // Into the shape's own frame: translate, then rotate by -theta.
  const double dx = x - s.cx;
  const double dy = y - s.cy;
  const double px = s.cos_t * dx + s.sin_t * dy;
  const double py = -s.sin_t * dx + s.cos_t * dy;
  const double r = s.size;
  const double h = s.stroke / 2.0;
  switch (s.kind) {
    case 0: return std::sqrt(px * px + py * py) - r;                        // disk
    case 1: return std::abs(std::sqrt(px * px + py * py) - (r - h)) - h;    // ring
    case 2: return sd_box(px, py, 0.8 * r, 0.8 * r);                        // filled square
    case 3: return std::abs(sd_box(px, py, 0.8 * r - h, 0.8 * r - h)) - h;  // square outline
    case 4: return sd_triangle(px, py, 0.8660254037844386 * r * 1.3);       // filled triangle
    case 5:                                                                 // plus (and cross,
    case 6: return std::min(sd_box(px, py, r, h), sd_box(px, py, h, r));    //  turned by 45°)
    case 7:                                                                 // three bars
    case 8: {                                                               //  (turned by 90°)
      const double gap = std::max(0.55 * r, s.stroke + 1.6);
      const double d0 = sd_box(px, py, 0.9 * r, h);
      const double d1 = sd_box(px, py - gap, 0.9 * r, h);
      const double d2 = sd_box(px, py + gap, 0.9 * r, h);
      return std::min(d0, std::min(d1, d2));
    }
    default: return sd_ellipse(px, py, r, r * s.aspect);  // filled ellipse
  }
}

/// Draws the parameters of one shape of class `kind`.
inline shape_params random_shape(int kind, Rng& rng) {
  constexpr double pi = 3.14159265358979323846;
  shape_params s{};
  s.kind = kind;
  s.cx = 14.0 + rng.uniform(-3.5, 3.5);
  s.cy = 14.0 + rng.uniform(-3.5, 3.5);
  s.size = rng.uniform(6.5, 10.5);
  s.stroke = rng.uniform(1.6, 3.2);
  s.aspect = rng.uniform(0.35, 0.55);
  s.intensity = rng.uniform(0.6, 1.0);
  s.background = rng.uniform(0.0, 0.08);
  const double jitter = rng.uniform(-1.0, 1.0);
  double theta = 0.0;
  // One line a pair of classes that share a rotation rule.
  // clang-format off
  switch (kind) {
    case 0: case 1: theta = 0.0; break;                              // rotation invariant
    case 2: case 3: theta = 0.35 * jitter; break;                    // ±20°: still square-like
    case 4: theta = pi * (1.0 + jitter) / 3.0; break;                // any (period 120°)
    case 5: case 7: theta = 0.26 * jitter; break;                    // ±15°
    case 6: case 8: theta = pi / (kind == 6 ? 4.0 : 2.0) + 0.26 * jitter; break;
    default: theta = pi * (1.0 + jitter) / 2.0; break;               // any (period 180°)
  }
  // clang-format on
  s.cos_t = std::cos(theta);
  s.sin_t = std::sin(theta);
  return s;
}

}  // namespace detail

/// `n` shapes images (N × 784, values in [0, 1], 28 × 28) with labels 0..9 in balanced classes
/// (counts differ by at most one) and shuffled order: disk, ring, square, square outline,
/// triangle, plus, cross, horizontal bars, vertical bars, ellipse.
/// Deterministic: the same `n` and `seed` give the same data set on every platform (the generator is
/// `latent::Rng`, not a std distribution, whose output differs between standard libraries).
inline Dataset make_shapes(std::size_t n, std::uint64_t seed = 0) {
  constexpr std::size_t side = detail::shapes_side;
  constexpr int classes = 10;
  Rng rng(seed ^ 0x6a09e667f3bcc909ULL);  // a stream of its own, apart from a user's Rng(seed)

  std::vector<std::int32_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::int32_t>(i % classes);
  detail::data_shuffle(labels, rng);

  Dataset d;
  d.x = xt::xtensor<float, 2>::from_shape({n, side * side});
  d.labels = xt::xtensor<std::int32_t, 1>::from_shape({n});
  d.num_classes = classes;
  d.class_names = {"disk", "ring",  "square",          "square outline", "triangle",
                   "plus", "cross", "horizontal bars", "vertical bars",  "ellipse"};
  d.image_height = side;
  d.image_width = side;

  float* out = d.x.data();
  for (std::size_t i = 0; i < n; ++i) {
    d.labels(i) = labels[i];
    const detail::shape_params s = detail::random_shape(labels[i], rng);
    float* img = out + i * side * side;
    for (std::size_t r = 0; r < side; ++r) {
      for (std::size_t c = 0; c < side; ++c) {
        // Sample at the pixel centre; coverage ramps linearly over one pixel across the edge.
        const double dist = detail::shape_distance(s, static_cast<double>(c) + 0.5, static_cast<double>(r) + 0.5);
        const double coverage = std::clamp(0.5 - dist, 0.0, 1.0);
        const double noise = 0.05 * (rng.uniform() + rng.uniform() - 1.0);  // triangular, ±0.05
        const double v = s.background + (s.intensity - s.background) * coverage + noise;
        img[r * side + c] = static_cast<float>(std::clamp(v, 0.0, 1.0));
      }
    }
  }
  return d;
}

/// A (train, test) pair of shapes data sets with `n_train` and `n_test` images, drawn from
/// different random streams of `seed`, so no test image repeats a training image.
inline std::pair<Dataset, Dataset> make_shapes_split(std::size_t n_train, std::size_t n_test, std::uint64_t seed = 0) {
  // A second, well-separated seed for the test set (the first draw of Rng(seed)).
  Rng derive(seed);
  const std::uint64_t test_seed = derive.next() ^ 0xbb67ae8584caa73bULL;
  return {make_shapes(n_train, seed), make_shapes(n_test, test_seed)};
}

}  // namespace latent
