#pragma once
/// \file
/// `latent::testing::save_load_check`: a model survives `save` and `load` exactly, and a model of
/// another architecture refuses its file. A testing aid, not included by latent/latent.hpp.
/// Example: examples/custom_layer.cpp.

#include "latent/core/error.hpp"
#include "latent/interchange/save_load.hpp"
#include "latent/testing/check_result.hpp"
#include "latent/testing/detail/compare.hpp"

#include <algorithm>     // std::equal, std::max
#include <atomic>        // std::atomic: unique temporary names within a process
#include <chrono>        // std::chrono: unique temporary names across processes
#include <cmath>         // std::abs
#include <concepts>      // std::invocable
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <exception>     // std::exception: a failure is reported, not thrown
#include <filesystem>    // std::filesystem: the temporary file
#include <random>        // std::random_device: unique temporary names across processes
#include <string>        // std::string
#include <system_error>  // std::error_code: removing the temporary never throws
#include <type_traits>   // std::is_void_v
#include <vector>        // std::vector

namespace latent::testing {

/// Settings of `save_load_check`.
struct save_load_check_options {
  std::uint64_t fresh_seed = 0x5a7e;  ///< seed of the fresh models the file is loaded into
  std::string directory = {};         ///< where the temporary file goes (empty: the system's temp directory)
};

namespace detail {
/// A path no other check (in this or another process) uses at the same time.
inline std::string unique_temporary(const std::string& directory) {
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t stamp = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const std::uint64_t id = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ stamp ^ (counter++ << 48);
  const std::filesystem::path dir =
      directory.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(directory);
  return (dir / ("latent-save-load-check-" + std::to_string(id) + ".bin")).string();
}
}  // namespace detail

/// Saves `model` to a unique temporary file, loads it into a fresh `Model` (built from another seed)
/// and checks that every parameter and every value of `outputs(model)` — any callable returning a
/// container of numbers, e.g. `[&](const auto& m) { return m.reconstruct(x); }` — is identical after
/// the load. With `Other` (a model of another architecture), also checks that loading the file into
/// an `Other` throws `latent::format_error` and leaves its parameters as they were. The file is
/// removed afterwards. Returns what it found; never aborts.
template <class Other = void, class Model, class Outputs>
  requires std::invocable<Outputs&, const Model&>
check_result save_load_check(const Model& model, Outputs&& outputs, const save_load_check_options& options = {}) {
  check_result r("save_load_check(" + Model::architecture() + ")");
  const std::string path = detail::unique_temporary(options.directory);
  auto exact_facts = [&r](const auto& expected, const auto& found, const std::string& what) {
    std::size_t i = 0, differ = 0;
    auto f = found.begin();
    for (auto e = expected.begin(); e != expected.end() && f != found.end(); ++e, ++f, ++i) {
      const double d = std::abs(static_cast<double>(*e) - static_cast<double>(*f));
      r.worst_difference = std::max(r.worst_difference, d);
      if (!(d == 0) && differ++ == 0)
        r.fail(what + "[" + std::to_string(i) + "]: expected " + detail::exact(static_cast<double>(*e)) +
               " (before save), found " + detail::exact(static_cast<double>(*f)) + " (after load)");
      ++r.checked;
    }
    if (differ > 1) r.failed += differ - 1;
    if (differ > 0) r.worst_error = std::max(r.worst_error, r.worst_difference);
  };
  try {
    save(model, path);
    Model fresh(options.fresh_seed);
    const bool fresh_differs =
        !std::equal(model.parameters().begin(), model.parameters().end(), fresh.parameters().begin());
    load(fresh, path);
    exact_facts(model.parameters(), fresh.parameters(), "parameters");
    exact_facts(outputs(model), outputs(fresh), "outputs");
    r.summary = std::to_string(Model::param_count) + " parameters and the outputs compared exactly after a load";
    if (!fresh_differs) r.summary += " (the fresh model started with the same parameters: pick another fresh_seed)";
    if constexpr (!std::is_void_v<Other>) {
      Other other(options.fresh_seed);
      const std::vector<double> before(other.parameters().begin(), other.parameters().end());
      ++r.checked;
      try {
        load(other, path);
        r.fail("expected " + Other::architecture() + " to refuse a file of " + Model::architecture() +
               " with latent::format_error, found that it loaded it");
      } catch (const format_error&) {
        if (!std::equal(before.begin(), before.end(), other.parameters().begin()))
          r.fail("expected the refusing model's parameters unchanged, found them changed");
      } catch (const std::exception& e) {
        r.fail(std::string("expected latent::format_error from loading into another architecture, found: ") + e.what());
      }
      r.summary += "; " + Other::architecture() + " refuses the file";
    }
  } catch (const std::exception& e) {
    r.fail_outright(std::string("expected save and load to succeed, found an exception: ") + e.what());
  }
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return r;
}

/// The same, comparing `model.reconstruct(x)` (or, for a model without `reconstruct`, `encode(x)`).
template <class Other = void, class Model, class X>
  requires requires(const Model& m, const X& x) { m.encode(x); }
check_result save_load_check(const Model& model, const X& x, const save_load_check_options& options = {}) {
  return save_load_check<Other>(
      model,
      [&x](const Model& m) {
        if constexpr (requires { m.reconstruct(x); })
          return m.reconstruct(x);
        else
          return m.encode(x);
      },
      options);
}

}  // namespace latent::testing
