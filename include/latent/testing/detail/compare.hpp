#pragma once
/// \file
/// Internals of latent::testing: the tolerance test every numeric check shares, buffers with canaries
/// and seeded random fills.

#include "latent/core/concepts.hpp"
#include "latent/core/random.hpp"
#include "latent/layers/signature.hpp"
#include "latent/testing/check_result.hpp"

#include <algorithm>    // std::max, std::fill
#include <cmath>        // std::abs, std::isfinite, std::isnan
#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <cstdio>       // std::snprintf: values in failure sentences
#include <limits>       // std::numeric_limits
#include <string>       // std::string
#include <string_view>  // std::string_view: names
#include <vector>       // std::vector

namespace latent::testing::detail {

/// Seventeen significant digits: a failure sentence must show values that differ in their last bits.
inline std::string exact(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

/// Four significant digits: tolerances and seeds in a summary.
inline std::string brief(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

/// Compares values with |expected − found| ≤ absolute + relative·max(|expected|, |found|), recording
/// each comparison's figures in a `check_result` and each failure as a sentence.
struct tolerance {
  double relative;
  double absolute;

  double allowed(double expected, double found) const noexcept {
    return absolute + relative * std::max(std::abs(expected), std::abs(found));
  }
  /// One comparison: `what` names the value ("dparams[3]"), `expected_is` how the expectation was
  /// obtained ("central difference", "one thread").
  void compare(check_result& r, const std::string& what, double expected, double found, const char* expected_is,
               const char* found_is) const {
    ++r.checked;
    const double diff = std::abs(expected - found);
    const double allow = allowed(expected, found);
    const double ratio = allow > 0 ? diff / allow : (diff == 0 ? 0.0 : std::numeric_limits<double>::infinity());
    const bool ok = std::isfinite(expected) && std::isfinite(found) && diff <= allow;
    if (!(ratio <= r.worst_error)) r.worst_error = std::isnan(ratio) ? std::numeric_limits<double>::infinity() : ratio;
    if (!(diff <= r.worst_difference))
      r.worst_difference = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff;
    if (!ok)
      r.fail(what + ": expected " + exact(expected) + " (" + expected_is + "), found " + exact(found) + " (" +
             found_is + "); |difference| " + exact(diff) + " exceeds the tolerance " + exact(allow));
  }
};

/// What a report calls `X`: a layer's signature, else its `name`, else its type as the compiler spells it.
template <class X>
std::string name_of() {
  if constexpr (latent::detail::layer_sizes<X>)
    return latent::signature<X>();
  else if constexpr (requires {
                       { X::name } -> std::convertible_to<std::string_view>;
                     })
    return std::string(std::string_view(X::name));
  else
    return latent::detail::type_name<X>();
}

/// Uniform values in [lo, hi).
template <class T>
void fill_uniform(Rng& rng, T* v, std::size_t count, double lo, double hi) {
  for (std::size_t i = 0; i < count; ++i) v[i] = static_cast<T>(rng.uniform(lo, hi));
}

/// A buffer of `size` values between two runs of canaries. It starts one element past the storage's
/// start, so a layer may not assume alignment, and every value starts as the canary, so that a value
/// the layer should have written but did not is seen too.
template <class T>
class guarded_buffer {
 public:
  static constexpr std::size_t guard = 17;
  /// A value no layer computes by accident (and exact in float and double).
  static constexpr T canary = T(-1234.5);

  explicit guarded_buffer(std::size_t size) : storage_(size + 2 * guard, canary), size_(size) {}

  T* data() noexcept { return storage_.data() + guard; }
  const T* data() const noexcept { return storage_.data() + guard; }
  std::size_t size() const noexcept { return size_; }
  /// Canaries overwritten before the buffer and after it.
  std::size_t overwritten_before() const noexcept { return count_changed(0, guard); }
  std::size_t overwritten_after() const noexcept { return count_changed(guard + size_, storage_.size()); }
  /// Values of the buffer still holding the canary or not finite (that is: not written).
  std::size_t unwritten() const noexcept {
    std::size_t c = 0;
    for (std::size_t i = guard; i < guard + size_; ++i)
      if (storage_[i] == canary || !std::isfinite(static_cast<double>(storage_[i]))) ++c;
    return c;
  }
  /// Values of the buffer that differ from the canary (written).
  std::size_t written() const noexcept { return size_ - count_same(guard, guard + size_); }
  void reset() { std::fill(storage_.begin(), storage_.end(), canary); }

 private:
  std::size_t count_changed(std::size_t a, std::size_t b) const noexcept { return (b - a) - count_same(a, b); }
  std::size_t count_same(std::size_t a, std::size_t b) const noexcept {
    std::size_t c = 0;
    for (std::size_t i = a; i < b; ++i)
      if (storage_[i] == canary) ++c;
    return c;
  }
  std::vector<T> storage_;
  std::size_t size_;
};

}  // namespace latent::testing::detail
