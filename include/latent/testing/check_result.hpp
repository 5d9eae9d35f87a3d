#pragma once
/// \file
/// `latent::testing::check_result`: what a latent::testing check found.
///
/// latent::testing is a testing aid for people who write their own layers, activations, losses and
/// models: it is not included by latent/latent.hpp (include latent/testing/testing.hpp). Every check
/// returns a `check_result` and never aborts, so it serves a doctest case (`CHECK(r)` with
/// `INFO(r.message())`) as well as a plain `main` (`if (!r) { std::cerr << r.message(); return 1; }`).
/// Example: examples/custom_layer.cpp.

#include <cstddef>  // std::size_t
#include <cstdio>   // std::snprintf: figures in messages
#include <string>   // std::string
#include <utility>  // std::move
#include <vector>   // std::vector

namespace latent::testing {

/// The outcome of one check: whether it passed, the figures it measured and, for each failure, a
/// sentence saying what was expected and what was found.
///
/// The figures: `checked` values (or buffers, or facts) were compared and `failed` of them disagreed;
/// `worst_error` is the largest disagreement in units of the check's tolerance (a value passes when it
/// is at most 1; exact checks report 0 or, on a mismatch, the mismatch itself), and `worst_difference`
/// the largest plain |expected − found|. `summary` states the measurement in words.
struct check_result {
  std::string name;                   ///< what was checked, e.g. "gradient_check<user::Affine<4>>"
  std::size_t checked = 0;            ///< values, buffers or facts compared
  std::size_t failed = 0;             ///< of which disagreed
  double worst_error = 0;             ///< the largest error in units of the tolerance (passes when ≤ 1)
  double worst_difference = 0;        ///< the largest |expected − found|
  std::string summary;                ///< the measurement in words (tolerances, sizes, seeds)
  std::vector<std::string> failures;  ///< the first few failures, each "expected ..., found ..."

  explicit check_result(std::string check_name = {}) : name(std::move(check_name)) {}

  /// True when nothing failed and something was checked: a check that compared nothing proves nothing.
  bool passed() const noexcept { return failed == 0 && failures.empty() && checked > 0; }
  explicit operator bool() const noexcept { return passed(); }

  /// Records a failure (only the first `kept_failures` sentences are kept; all are counted).
  void fail(std::string sentence) {
    ++failed;
    if (failures.size() < kept_failures) failures.push_back(std::move(sentence));
  }
  /// Records a failure that is not one compared value (a thrown exception, a missing thread).
  void fail_outright(std::string sentence) {
    ++checked;
    fail(std::move(sentence));
  }

  /// One line when it passed ("name: passed: summary"); otherwise that line with FAILED, then one line
  /// per kept failure.
  std::string message() const {
    std::string m = name;
    m.append(passed() ? ": passed" : ": FAILED");
    m.append(" (").append(std::to_string(failed)).append(" of ").append(std::to_string(checked));
    m.append(" failed; worst ").append(format(worst_error)).append(" x tolerance, |difference| ");
    m.append(format(worst_difference)).append(")");
    if (!summary.empty()) m.append(": ").append(summary);
    if (checked == 0 && failures.empty()) m.append("\n  expected at least one value to compare, found none");
    for (const std::string& f : failures) m.append("\n  ").append(f);
    if (failed > failures.size())
      m.append("\n  ... and ").append(std::to_string(failed - failures.size())).append(" more");
    return m;
  }

  static constexpr std::size_t kept_failures = 8;

 private:
  // Six significant digits are enough to read a tolerance ratio or a gradient in a report.
  static std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", v);
    return buffer;
  }
};

}  // namespace latent::testing
