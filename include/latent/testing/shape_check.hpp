#pragma once
/// \file
/// `latent::testing::shape_check`: a layer's passes write exactly the values their sizes promise.
/// A testing aid, not included by latent/latent.hpp. Example: examples/custom_layer.cpp.

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/testing/check_result.hpp"
#include "latent/testing/detail/compare.hpp"

#include <algorithm>    // std::copy, std::equal
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <exception>    // std::exception: a throwing pass is a failure, not an abort
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

namespace latent::testing {

/// Settings of `shape_check`.
struct shape_check_options {
  /// Batch sizes to run: 1, sizes below and above a register's width, and odd ones.
  std::vector<std::size_t> rows = {1, 2, 5, 7, 13};
  std::uint64_t seed = 1;  ///< parameters, inputs and training noise
  bool training = true;    ///< run the passes in training mode (a stochastic layer draws noise)
};

/// Checks the bookkeeping of layer `L` in scalars `T` with canaries around every buffer (every buffer
/// also starts off any alignment boundary and filled with canaries):
/// - `init` writes exactly `param_count` values;
/// - `forward` on n rows writes all n·out_size values of y and nothing past them, at most n·cache_size
///   values of its cache, and leaves x and the parameters as they were;
/// - `backward` writes all `param_count` values of dparams and all n·in_size values of dx, nothing past
///   them, at most n·scratch_size values of scratch and nothing past dy; with dx null (the first layer
///   of a model) it gives the same dparams.
/// Returns what it found; never aborts.
template <class L, class T = float>
check_result shape_check(const shape_check_options& options = {}) {
  static_assert(Layer<L, T>, "latent::testing::shape_check<L, T>: L must be a layer for scalars T");
  using buffer = detail::guarded_buffer<T>;
  check_result r("shape_check<" + detail::name_of<L>() + ", " + (std::is_same_v<T, float> ? "float" : "double") + ">");
  // One fact: `ok`, or a failure sentence "n = ..: <what>: expected ..., found ...".
  auto fact = [&r](bool ok, std::size_t n, const std::string& sentence) {
    ++r.checked;
    if (!ok) {
      r.fail("n = " + std::to_string(n) + ": " + sentence);
      r.worst_error = 1;  // exact facts: one mismatch is a full tolerance's worth
    }
  };
  // The sentence for a buffer that must be written `must_fill` values and not beyond its end.
  auto buffer_facts = [&](const buffer& b, std::size_t n, const char* pass, const char* what, std::size_t size,
                          const char* size_rule, bool must_fill) {
    const std::size_t before = b.overwritten_before(), after = b.overwritten_after();
    fact(before == 0 && after == 0, n,
         std::string(pass) + ": expected no value written outside the " + std::to_string(size) + " values of " + what +
             " (" + size_rule + "), found " + std::to_string(before) + " before and " + std::to_string(after) +
             " past the end");
    if (must_fill)
      fact(b.unwritten() == 0, n,
           std::string(pass) + ": expected all " + std::to_string(size) + " values of " + what + " (" + size_rule +
               ") written, finite, found " + std::to_string(b.unwritten()) + " not written or not finite");
  };

  for (const std::size_t n : options.rows) {
    try {
      Rng rng(options.seed + n);
      buffer p(L::param_count), x(n * L::in_size), y(n * L::out_size), cache(n * L::cache_size), dy(n * L::out_size),
          dx(n * L::in_size), dp(L::param_count), scratch(n * L::scratch_size);
      L::init(p.data(), rng);
      buffer_facts(p, n, "init", "the parameters", L::param_count, "param_count", true);
      detail::fill_uniform(rng, x.data(), x.size(), -1, 1);
      detail::fill_uniform(rng, dy.data(), dy.size(), -1, 1);
      const std::vector<T> x_kept(x.data(), x.data() + x.size()), p_kept(p.data(), p.data() + p.size()),
          dy_kept(dy.data(), dy.data() + dy.size());

      const std::uint64_t noise_seed = options.seed ^ 0x5eedULL;
      Rng noise(noise_seed);
      Context<T> ctx{.training = options.training, .rng = &noise};
      L::forward(p.data(), x.data(), y.data(), cache.data(), n, ctx);
      buffer_facts(y, n, "forward", "y", n * L::out_size, "n * out_size", true);
      buffer_facts(cache, n, "forward", "the cache", n * L::cache_size, "n * cache_size", false);
      fact(std::equal(x_kept.begin(), x_kept.end(), x.data()) && x.overwritten_after() == 0, n,
           "forward: expected x unchanged, found it changed");
      fact(std::equal(p_kept.begin(), p_kept.end(), p.data()), n,
           "forward: expected the parameters unchanged, found them changed");

      Rng back_noise(noise_seed);
      Context<T> back{.training = options.training, .rng = &back_noise};
      L::backward(p.data(), x.data(), y.data(), cache.data(), dy.data(), dx.data(), dp.data(), scratch.data(), n, back);
      buffer_facts(dp, n, "backward", "dparams", L::param_count, "param_count", true);
      buffer_facts(dx, n, "backward", "dx", n * L::in_size, "n * in_size", true);
      buffer_facts(scratch, n, "backward", "the scratch", n * L::scratch_size, "n * scratch_size", false);
      buffer_facts(dy, n, "backward", "dy", n * L::out_size, "n * out_size", false);
      buffer_facts(cache, n, "backward", "the cache", n * L::cache_size, "n * cache_size", false);

      // dx null: the first layer of a model. The same dparams, from the same inputs and dy.
      buffer dp2(L::param_count), scratch2(n * L::scratch_size);
      std::copy(dy_kept.begin(), dy_kept.end(), dy.data());
      Rng null_noise(noise_seed);
      Context<T> null_ctx{.training = options.training, .rng = &null_noise};
      L::backward(p.data(), x.data(), y.data(), cache.data(), dy.data(), static_cast<T*>(nullptr), dp2.data(),
                  scratch2.data(), n, null_ctx);
      buffer_facts(dp2, n, "backward with dx null", "dparams", L::param_count, "param_count", true);
      const detail::tolerance same{std::is_same_v<T, float> ? 1e-5 : 1e-12, 0};
      check_result dp_same;
      for (std::size_t i = 0; i < L::param_count; ++i)
        same.compare(dp_same, "dparams[" + std::to_string(i) + "]", dp.data()[i], dp2.data()[i], "with dx",
                     "with dx null");
      fact(dp_same.failed == 0, n,
           "backward with dx null: expected the same dparams as with dx, found " + std::to_string(dp_same.failed) +
               " different" + (dp_same.failures.empty() ? std::string() : ", e.g. " + dp_same.failures.front()));
    } catch (const std::exception& e) {
      r.fail_outright("n = " + std::to_string(n) + ": expected the passes to run, found an exception: " + e.what());
    }
  }
  r.summary = "init, forward and backward with canaries around every buffer, " + std::to_string(options.rows.size()) +
              " batch sizes (" + std::to_string(L::in_size) + " in, " + std::to_string(L::out_size) + " out, " +
              std::to_string(L::param_count) + " parameters, cache " + std::to_string(L::cache_size) + " and scratch " +
              std::to_string(L::scratch_size) + " per sample)";
  return r;
}

}  // namespace latent::testing
