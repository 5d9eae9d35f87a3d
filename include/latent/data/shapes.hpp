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
///
/// It is also latent's ground-truth-factor data set (no download needed): `make_shapes_with_factors`
/// returns the images with the seven factors that drew them, `make_shapes_fixed` and
/// `make_shapes_sharing` draw images with chosen factors held fixed (what the disentanglement scores
/// of latent/analysis/ need). docs/disentanglement.md describes the factors and the scores.

#include <algorithm>  // std::min, std::max, std::clamp
#include <cmath>      // std::sqrt, std::sin, std::cos, std::abs, std::floor
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int32_t, std::uint64_t
#include <optional>   // std::optional (held factors)
#include <string>     // std::string, std::to_string
#include <utility>    // std::pair
#include <vector>     // std::vector (label permutation, factors)

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"
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

/// The random parameters of one shape; `size` is its outer radius in pixels, `rotation` the draw in
/// [-1, 1] that sets the angle through `shape_angle`.
struct shape_params {
  int kind;
  double cx, cy, size, cos_t, sin_t, stroke, aspect, intensity, background, rotation;
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

/// The angle (radians) of a shape of class `kind` for the rotation draw `jitter` in [-1, 1]: each pair
/// of classes has its own range, so that a class stays recognisable (a square turns by ±20°, a
/// triangle by any angle of its 120° period, a disk not at all).
inline double shape_angle(int kind, double jitter) {
  constexpr double pi = 3.14159265358979323846;
  // One line a pair of classes that share a rotation rule.
  // clang-format off
  switch (kind) {
    case 0: case 1: return 0.0;                                       // rotation invariant
    case 2: case 3: return 0.35 * jitter;                             // ±20°: still square-like
    case 4: return pi * (1.0 + jitter) / 3.0;                         // any (period 120°)
    case 5: case 7: return 0.26 * jitter;                             // ±15°
    case 6: case 8: return pi / (kind == 6 ? 4.0 : 2.0) + 0.26 * jitter;
    default: return pi * (1.0 + jitter) / 2.0;                        // any (period 180°)
  }
  // clang-format on
}

/// Draws the parameters of one shape of class `kind`.
inline shape_params random_shape(int kind, Rng& rng) {
  shape_params s{};
  s.kind = kind;
  s.cx = 14.0 + rng.uniform(-3.5, 3.5);
  s.cy = 14.0 + rng.uniform(-3.5, 3.5);
  s.size = rng.uniform(6.5, 10.5);
  s.stroke = rng.uniform(1.6, 3.2);
  s.aspect = rng.uniform(0.35, 0.55);
  s.intensity = rng.uniform(0.6, 1.0);
  s.background = rng.uniform(0.0, 0.08);
  s.rotation = rng.uniform(-1.0, 1.0);
  const double theta = shape_angle(kind, s.rotation);
  s.cos_t = std::cos(theta);
  s.sin_t = std::sin(theta);
  return s;
}

}  // namespace detail

/// One ground-truth factor of a data set: its name, the interval its values are drawn from
/// (uniformly), and whether it takes only the integers of that interval (a class).
struct FactorInfo {
  std::string name;
  double low = 0;
  double high = 0;
  bool discrete = false;
};

/// Images with the values of the factors that generated them: row i of `factors` (n × F) holds
/// the F factor values of image i of `data`, in the order of `info`.
struct FactorDataset {
  Dataset data;
  xt::xtensor<double, 2> factors;
  std::vector<FactorInfo> info;
  /// Number of images.
  std::size_t size() const { return data.size(); }
};

/// Column indices of the shapes data's ground-truth factors in `FactorDataset::factors`.
namespace shapes_factor {
inline constexpr std::size_t shape = 0;      ///< the class, 0..9 (disk, ring, ..., ellipse)
inline constexpr std::size_t x = 1;          ///< horizontal offset of the centre from the middle, px
inline constexpr std::size_t y = 2;          ///< vertical offset of the centre (down), px
inline constexpr std::size_t size = 3;       ///< outer radius, px
inline constexpr std::size_t rotation = 4;   ///< the rotation draw in [-1, 1] (the class sets the angle)
inline constexpr std::size_t stroke = 5;     ///< stroke width of the outlined classes, px
inline constexpr std::size_t intensity = 6;  ///< grey level of the shape
inline constexpr std::size_t count = 7;      ///< number of factors
}  // namespace shapes_factor

/// The seven ground-truth factors of the shapes data, in column order (`shapes_factor`), each
/// drawn independently and uniformly from its interval.
inline std::vector<FactorInfo> shapes_factors() {
  return {{"shape", 0, 9, true},         {"x", -3.5, 3.5, false},    {"y", -3.5, 3.5, false},
          {"size", 6.5, 10.5, false},    {"rotation", -1, 1, false}, {"stroke", 1.6, 3.2, false},
          {"intensity", 0.6, 1.0, false}};
}

namespace detail {

// The value of factor `k` in `s` (the inverse of set_shape_factor).
inline double shape_factor(const shape_params& s, std::size_t k) {
  switch (k) {
    case shapes_factor::shape: return s.kind;
    case shapes_factor::x: return s.cx - 14.0;
    case shapes_factor::y: return s.cy - 14.0;
    case shapes_factor::size: return s.size;
    case shapes_factor::rotation: return s.rotation;
    case shapes_factor::stroke: return s.stroke;
    default: return s.intensity;
  }
}

// Sets factor `k` of `s` to `v` (the class is set before drawing: it changes the draw's angle).
inline void set_shape_factor(shape_params& s, std::size_t k, double v) {
  switch (k) {
    case shapes_factor::shape: s.kind = static_cast<int>(v); break;
    case shapes_factor::x: s.cx = 14.0 + v; break;
    case shapes_factor::y: s.cy = 14.0 + v; break;
    case shapes_factor::size: s.size = v; break;
    case shapes_factor::rotation: s.rotation = v; break;
    case shapes_factor::stroke: s.stroke = v; break;
    default: s.intensity = v; break;
  }
}

// Refuses a list of held factors that is not one entry per factor, or a value outside its factor's
// interval (or, for the class, not an integer).
inline void check_fixed_factors(const std::vector<std::optional<double>>& fixed, const char* where) {
  if (fixed.size() != shapes_factor::count)
    throw shape_error(std::string(where) + ": expected one entry per shapes factor (" +
                      std::to_string(shapes_factor::count) + "), found " + std::to_string(fixed.size()));
  const std::vector<FactorInfo> info = shapes_factors();
  for (std::size_t k = 0; k < fixed.size(); ++k) {
    if (!fixed[k]) continue;
    const double v = *fixed[k];
    if (!(v >= info[k].low && v <= info[k].high) || (info[k].discrete && v != std::floor(v)))
      throw option_error(std::string(where) + ": expected factor " + info[k].name + " " +
                         (info[k].discrete ? "an integer " : "") + "in [" + std::to_string(info[k].low) + ", " +
                         std::to_string(info[k].high) + "], found " + std::to_string(v));
  }
}

// Renders `n` shapes into `d` and, when `factors` is given, their factor values (n × F). Factors with
// a value in `fixed` (one entry per factor, or empty for none) are held at it; every random number
// is still drawn, so the images of a call that holds nothing are those of make_shapes.
inline void render_shapes(std::size_t n, std::uint64_t seed, const std::vector<std::optional<double>>& fixed,
                          Dataset& d, xt::xtensor<double, 2>* factors) {
  constexpr std::size_t side = shapes_side;
  constexpr int classes = 10;
  Rng rng(seed ^ 0x6a09e667f3bcc909ULL);  // a stream of its own, apart from a user's Rng(seed)

  std::vector<std::int32_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::int32_t>(i % classes);
  data_shuffle(labels, rng);
  const bool any_fixed = !fixed.empty();
  if (any_fixed && fixed[shapes_factor::shape])
    for (auto& l : labels) l = static_cast<std::int32_t>(*fixed[shapes_factor::shape]);

  d.x = xt::xtensor<float, 2>::from_shape({n, side * side});
  d.labels = xt::xtensor<std::int32_t, 1>::from_shape({n});
  d.num_classes = classes;
  d.class_names = {"disk", "ring",  "square",          "square outline", "triangle",
                   "plus", "cross", "horizontal bars", "vertical bars",  "ellipse"};
  d.image_height = side;
  d.image_width = side;
  if (factors) *factors = xt::xtensor<double, 2>::from_shape({n, shapes_factor::count});

  float* out = d.x.data();
  for (std::size_t i = 0; i < n; ++i) {
    d.labels(i) = labels[i];
    shape_params s = random_shape(labels[i], rng);
    if (any_fixed) {
      for (std::size_t k = 1; k < shapes_factor::count; ++k)
        if (fixed[k]) set_shape_factor(s, k, *fixed[k]);
      const double theta = shape_angle(s.kind, s.rotation);
      s.cos_t = std::cos(theta);
      s.sin_t = std::sin(theta);
    }
    if (factors)
      for (std::size_t k = 0; k < shapes_factor::count; ++k) (*factors)(i, k) = shape_factor(s, k);
    float* img = out + i * side * side;
    for (std::size_t r = 0; r < side; ++r) {
      for (std::size_t c = 0; c < side; ++c) {
        // Sample at the pixel centre; coverage ramps linearly over one pixel across the edge.
        const double dist = shape_distance(s, static_cast<double>(c) + 0.5, static_cast<double>(r) + 0.5);
        const double coverage = std::clamp(0.5 - dist, 0.0, 1.0);
        const double noise = 0.05 * (rng.uniform() + rng.uniform() - 1.0);  // triangular, ±0.05
        const double v = s.background + (s.intensity - s.background) * coverage + noise;
        img[r * side + c] = static_cast<float>(std::clamp(v, 0.0, 1.0));
      }
    }
  }
}

// The test stream of make_shapes_split: a second, well-separated seed (the first draw of Rng(seed)).
inline std::uint64_t shapes_test_seed(std::uint64_t seed) {
  Rng derive(seed);
  return derive.next() ^ 0xbb67ae8584caa73bULL;
}

}  // namespace detail

/// `n` shapes images (N × 784, values in [0, 1], 28 × 28) with labels 0..9 in balanced classes
/// (counts differ by at most one) and shuffled order: disk, ring, square, square outline,
/// triangle, plus, cross, horizontal bars, vertical bars, ellipse.
/// Deterministic: the same `n` and `seed` give the same data set on every platform (the generator is
/// `latent::Rng`, not a std distribution, whose output differs between standard libraries).
/// `make_shapes_with_factors` returns the same images with their ground-truth factors.
inline Dataset make_shapes(std::size_t n, std::uint64_t seed = 0) {
  Dataset d;
  detail::render_shapes(n, seed, {}, d, nullptr);
  return d;
}

/// A (train, test) pair of shapes data sets with `n_train` and `n_test` images, drawn from
/// different random streams of `seed`, so no test image repeats a training image.
inline std::pair<Dataset, Dataset> make_shapes_split(std::size_t n_train, std::size_t n_test, std::uint64_t seed = 0) {
  return {make_shapes(n_train, seed), make_shapes(n_test, detail::shapes_test_seed(seed))};
}

/// latent's ground-truth-factor data set: the images of `make_shapes(n, seed)` (bit for bit) with the
/// seven factors that drew each one (n × 7, columns `shapes_factor::shape` .. `intensity`, described
/// by `shapes_factors()`). Each factor is drawn independently of the others (the class from
/// balanced, shuffled labels); two more draws are nuisances not reported as factors: the ellipse's
/// aspect ratio and the faint background level, and each pixel has ±0.05 triangular noise.
/// Not every factor shows on every class: a disk or ring looks the same at every rotation, and
/// the stroke width only shapes the outlined classes (ring, outline, plus, cross, bars).
inline FactorDataset make_shapes_with_factors(std::size_t n, std::uint64_t seed = 0) {
  FactorDataset f;
  detail::render_shapes(n, seed, {}, f.data, &f.factors);
  f.info = shapes_factors();
  return f;
}

/// The pair of `make_shapes_split(n_train, n_test, seed)` with the factors of every image.
inline std::pair<FactorDataset, FactorDataset> make_shapes_split_with_factors(std::size_t n_train, std::size_t n_test,
                                                                              std::uint64_t seed = 0) {
  return {make_shapes_with_factors(n_train, seed), make_shapes_with_factors(n_test, detail::shapes_test_seed(seed))};
}

/// `n` shapes images whose factors `k` with a value `fixed[k]` are held at it, the others drawn as
/// in `make_shapes` (with nothing held, the images are those of `make_shapes(n, seed)`).
/// `fixed` has one entry per factor (`shapes_factor::count`), `std::nullopt` for a random one.
/// Throws `shape_error` for another number of entries and `option_error` for a value outside its
/// factor's interval (or a class that is not an integer 0..9).
inline FactorDataset make_shapes_fixed(std::size_t n, const std::vector<std::optional<double>>& fixed,
                                       std::uint64_t seed = 0) {
  detail::check_fixed_factors(fixed, "make_shapes_fixed");
  FactorDataset f;
  detail::render_shapes(n, seed, fixed, f.data, &f.factors);
  f.info = shapes_factors();
  return f;
}

/// `n` shapes images that share one value of factor `factor`, drawn from its distribution (a
/// class uniformly from 0..9, a continuous factor uniformly from its interval) by `seed`, with every
/// other factor random: one batch of the FactorVAE and β-VAE scores (`sample_factor_votes`).
/// Throws `option_error` unless `factor < shapes_factor::count`.
inline FactorDataset make_shapes_sharing(std::size_t factor, std::size_t n, std::uint64_t seed = 0) {
  if (factor >= shapes_factor::count)
    throw option_error("make_shapes_sharing: expected a factor index below " + std::to_string(shapes_factor::count) +
                       ", found " + std::to_string(factor));
  const FactorInfo info = shapes_factors()[factor];
  Rng rng(seed ^ 0x3c6ef372fe94f82bULL);  // the value's own stream, apart from the images'
  const double value =
      info.discrete ? info.low + static_cast<double>(rng.below(static_cast<std::size_t>(info.high - info.low) + 1))
                    : rng.uniform(info.low, info.high);
  std::vector<std::optional<double>> fixed(shapes_factor::count);
  fixed[factor] = value;
  return make_shapes_fixed(n, fixed, seed);
}

}  // namespace latent
