#pragma once
// Helpers several test programs share: exact comparison of two containers' bits, and small data sets with
// structure (random rows, 8 × 8 bar images).
#include <latent/core/random.hpp>

#include <xtensor/xtensor.hpp>

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <cstring>  // std::memcmp

namespace latent_test {

/// True when a and b (anything with size() and data(): vectors, spans, xtensors) hold the same values bit
/// for bit. (memcmp of no bytes still needs valid pointers: an empty span's data() may be null.)
template <class A, class B>
bool same_bits(const A& a, const B& b) {
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(*a.data())) == 0);
}

/// n × d rows of independent normal values, scale · N(0, 1) + shift, from a generator seeded with `seed`.
template <class T>
xt::xtensor<T, 2> random_rows(std::size_t n, std::size_t d, std::uint64_t seed, double scale = 1, double shift = 0) {
  latent::Rng rng(seed);
  xt::xtensor<T, 2> x = xt::xtensor<T, 2>::from_shape({n, d});
  for (auto& v : x) v = static_cast<T>(rng.normal() * scale + shift);
  return x;
}

/// n 8 × 8 images (rows of 64 values, 0 or 1) of one bar each, one of 8 rows or 8 columns, with 4 % of the
/// pixels flipped: data with structure for the models on image parts.
inline xt::xtensor<float, 2> bar_images(std::size_t n, std::uint64_t seed) {
  latent::Rng rng(seed);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, 64});
  for (std::size_t r = 0; r < n; ++r) {
    const auto k = static_cast<std::size_t>(rng.uniform() * 16) % 16;
    for (std::size_t j = 0; j < 64; ++j) {
      const bool on = k < 8 ? j / 8 == k : j % 8 == k - 8;
      x(r, j) = (rng.uniform() < 0.04) != on ? 1.0f : 0.0f;
    }
  }
  return x;
}

}  // namespace latent_test
