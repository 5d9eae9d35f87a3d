#pragma once
/// \file
/// `latent::Rng`: the one random generator of the library (weight initialisation, shuffling, noise).

#include <cmath>    // std::sqrt, std::log, std::cos
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t

namespace latent {

/// A small, fast, seedable generator (xoshiro256**, seeded through splitmix64).
///
/// latent draws its own uniform and normal numbers instead of using `<random>`'s distributions, whose
/// output is implementation-defined: the same seed gives the same weights on every platform.
class Rng {
 public:
  /// Seeds the generator; the same seed gives the same sequence.
  explicit Rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

  /// The generator's complete state, for checkpoints: restoring it continues the same sequence.
  /// Files store it field by field (io/binary_file.hpp), never as memory: the struct's padding bytes
  /// are undefined, and a loaded `has_spare` is checked to be 0 or 1 before it becomes a bool.
  struct State {
    std::uint64_t words[4];
    double spare;
    bool has_spare;
  };
  State state() const noexcept { return {{state_[0], state_[1], state_[2], state_[3]}, spare_, has_spare_}; }
  void set_state(const State& s) noexcept {
    for (int i = 0; i < 4; ++i) state_[i] = s.words[i];
    spare_ = s.spare;
    has_spare_ = s.has_spare;
  }

  /// Restarts the sequence from `seed`.
  void reseed(std::uint64_t seed) noexcept {
    std::uint64_t x = seed;
    for (auto& s : state_) s = splitmix(x);
    has_spare_ = false;
  }

  /// The next 64 random bits.
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n), without modulo bias (Lemire's method); `n` must be > 0.
  std::size_t below(std::size_t n) noexcept {
    std::uint64_t x = next();
    __uint128_t m = static_cast<__uint128_t>(x) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - static_cast<std::uint64_t>(n)) % n;
      while (low < threshold) {
        x = next();
        m = static_cast<__uint128_t>(x) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::size_t>(m >> 64);
  }

  /// Standard normal, by the Box–Muller transform (pairs are cached).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 0;
    while (u <= 0) u = uniform();  // log(0) is -inf
    const double v = uniform();
    const double r = std::sqrt(-2.0 * std::log(u));
    constexpr double two_pi = 6.283185307179586476925286766559;
    spare_ = r * std::sin(two_pi * v);
    has_spare_ = true;
    return r * std::cos(two_pi * v);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static constexpr std::uint64_t splitmix(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4]{};
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace latent
