#pragma once
/// \file
/// `latent::testing::gradient_check`: a layer's, an activation's, a loss's or a whole model's analytic
/// gradient against central differences, in double precision. A testing aid, not included by
/// latent/latent.hpp. Example: examples/custom_layer.cpp.
///
/// The numeric derivative is one Richardson step over central differences, (4·D(h) − D(2h)) / 3 with
/// D(h) = (f(θ+h) − f(θ−h)) / ((θ+h) − (θ−h)) and h = step·max(1, |θ|): it cancels the h² error term,
/// so what is left is round-off, about ε·|f| / h. To keep |f| small, a layer's objective is differenced
/// output by output, Σ g·(y⁺ − y⁻), never as the difference of two large sums.

#include "latent/activations/activation.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/simd.hpp"
#include "latent/layers/signature.hpp"
#include "latent/losses/loss.hpp"
#include "latent/testing/check_result.hpp"
#include "latent/testing/detail/compare.hpp"

#include <algorithm>    // std::max, std::copy
#include <cmath>        // std::abs
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <exception>    // std::exception: a throwing pass is a failure, not an abort
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

namespace latent::testing {

/// Settings of `gradient_check`. The defaults suit smooth layers whose values are of order 1; a layer
/// with a kink (ReLU) may need another `seed` if a draw lands within a step of the kink.
struct gradient_check_options {
  std::size_t rows = 5;              ///< samples per pass (5: not a multiple of any register width)
  std::uint64_t seed = 1;            ///< parameters, inputs, upstream gradient and training noise
  double relative_tolerance = 1e-6;  ///< |analytic − numeric| ≤ absolute + relative·max(|analytic|, |numeric|)
  double absolute_tolerance = 1e-7;
  double step = 1e-5;                       ///< h = step·max(1, |θ|)
  double input_low = -1, input_high = 1;    ///< range of x (a loss's predictions, an activation's z: ×4)
  double target_low = -1, target_high = 1;  ///< range of a loss's targets
  double param_jitter = 0.1;                ///< U(−j, j) added to each parameter after `init` (zero biases hide bugs)
  bool training = true;                     ///< run the passes in training mode (a stochastic layer draws noise)
  double kink_margin = 1e-3;                ///< an activation is not probed closer than this to 0
  std::size_t max_values = 0;               ///< a model: check at most this many parameters, evenly spread (0: all)
};

namespace detail {

/// The Richardson-extrapolated central difference in v[i] of the objective that `eval()` evaluates
/// at the current v, `diff(plus, minus)` subtracting two evaluations.
template <class Eval, class Diff>
double richardson(std::vector<double>& v, std::size_t i, double step, Eval&& eval, Diff&& diff) {
  const double theta = v[i];
  const double h = step * std::max(1.0, std::abs(theta));
  auto central = [&](double s) {
    const double up = theta + s, down = theta - s;
    v[i] = up;
    auto plus = eval();
    v[i] = down;
    auto minus = eval();
    v[i] = theta;
    // The step actually taken: (θ + s) − (θ − s) after rounding, not 2s.
    return diff(plus, minus) / (up - down);
  };
  const double d1 = central(h), d2 = central(2 * h);
  return (4 * d1 - d2) / 3;
}

// ---- layers -------------------------------------------------------------------------------------------
template <class L>
check_result layer_gradient_check(const gradient_check_options& o) {
  check_result r("gradient_check<" + name_of<L>() + ">");
  const std::size_t n = o.rows;
  Rng rng(o.seed);
  std::vector<double> p(L::param_count), x(n * L::in_size), g(n * L::out_size);
  L::init(p.data(), rng);
  for (double& v : p) v += rng.uniform(-o.param_jitter, o.param_jitter);
  fill_uniform(rng, x.data(), x.size(), o.input_low, o.input_high);
  fill_uniform(rng, g.data(), g.size(), -1, 1);
  const std::uint64_t noise_seed = o.seed ^ 0x9e3779b97f4a7c15ULL;

  // One forward pass, its noise drawn from a generator restarted at the same seed every time, so that
  // a stochastic layer sees the same ε in every evaluation.
  struct outcome {
    std::vector<double> y, cache;
    double penalty = 0;
  };
  // A layer with state gets its initial state, its statistics made less trivial (a variance of 1 and
  // a mean of 0 would hide an eval-mode pass that ignores them); in training mode it runs in train mode
  // (the call's rows are the whole batch), with somewhere to add its statistics.
  std::vector<double> state(latent::detail::state_size_of<L>() + 1), stats(latent::detail::step_stats_size_of<L>() + 1);
  if constexpr (latent::detail::stateful<L>) {
    L::init_state(state.data());
    for (std::size_t i = 0; i + 1 < state.size(); ++i) state[i] = state[i] * rng.uniform(0.5, 1.5) + rng.uniform(-0.2, 0.2);
  }
  const auto context = [&](Rng& noise) {
    Context<double> ctx{.training = o.training, .rng = &noise};
    ctx.mode = o.training ? Mode::train : Mode::eval;
    if constexpr (latent::detail::stateful<L>) {
      ctx.state = state.data();
      ctx.stats = stats.data();
    }
    return ctx;
  };
  auto forward = [&] {
    outcome out{std::vector<double>(n * L::out_size), std::vector<double>(n * L::cache_size + 1), 0};
    Rng noise(noise_seed);
    Context<double> ctx = context(noise);
    L::forward(p.data(), x.data(), out.y.data(), out.cache.data(), n, ctx);
    out.penalty = ctx.penalty;
    return out;
  };
  // f(plus) − f(minus) for f = Σ g·y + penalty, output by output.
  auto difference = [&](const outcome& plus, const outcome& minus) {
    double s = plus.penalty - minus.penalty;
    for (std::size_t k = 0; k < g.size(); ++k) s += g[k] * (plus.y[k] - minus.y[k]);
    return s;
  };

  std::vector<double> dp(L::param_count), dx(n * L::in_size), dy = g, scratch(n * L::scratch_size + 1);
  try {
    const outcome base = forward();
    Rng noise(noise_seed);
    Context<double> ctx = context(noise);
    L::backward(p.data(), x.data(), base.y.data(), base.cache.data(), dy.data(), dx.data(), dp.data(), scratch.data(),
                n, ctx);
  } catch (const std::exception& e) {
    r.fail_outright(std::string("expected forward and backward to run, found an exception: ") + e.what());
    return r;
  }
  const tolerance tol{o.relative_tolerance, o.absolute_tolerance};
  for (std::size_t i = 0; i < p.size(); ++i)
    tol.compare(r, "dparams[" + std::to_string(i) + "]", richardson(p, i, o.step, forward, difference), dp[i],
                "central difference", "backward");
  for (std::size_t i = 0; i < x.size(); ++i)
    tol.compare(r, "dx[" + std::to_string(i) + "] (row " + std::to_string(i / L::in_size) + ")",
                richardson(x, i, o.step, forward, difference), dx[i], "central difference", "backward");
  r.summary = std::to_string(L::param_count) + " parameter and " + std::to_string(x.size()) +
              " input derivatives of sum(g * y) + penalty over " + std::to_string(n) + " rows, in double, " +
              (o.training ? "training" : "inference") + " mode, seed " + std::to_string(o.seed) + "; tolerance " +
              brief(o.absolute_tolerance) + " + " + brief(o.relative_tolerance) + " * |value|";
  return r;
}

// ---- activations --------------------------------------------------------------------------------------
template <class A>
check_result activation_gradient_check(const gradient_check_options& o) {
  check_result r("gradient_check<" + name_of<A>() + ">");
  Rng rng(o.seed);
  // Fixed points on both sides of 0, then random ones, 4× the input range; never within the margin
  // of 0, where ReLU-like activations have their kink.
  std::vector<double> z;
  for (double v : {-3.0, -1.0, -0.25, -0.01, 0.01, 0.25, 1.0, 3.0}) z.push_back(v);
  while (z.size() < 37) {
    const double v = rng.uniform(4 * o.input_low, 4 * o.input_high);
    if (std::abs(v) >= o.kink_margin) z.push_back(v);
  }
  // The derivative as the activation gives it: of the output, or (SiLU, GELU) of the input.
  const auto derivative = [](auto zi, auto yi) {
    if constexpr (latent::detail::derivative_takes_input<A>)
      return A::derivative_of_input(zi);
    else
      return A::derivative(yi);
  };
  const auto multiply_by_derivative = [](auto* dv, const auto* zv, const auto* yv, std::size_t count) {
    if constexpr (latent::detail::derivative_takes_input<A>)
      kernels::multiply_by_input_derivative<A>(dv, zv, count);
    else
      kernels::multiply_by_derivative<A>(dv, yv, count);
  };
  const char* form = latent::detail::derivative_takes_input<A> ? "derivative_of_input(" : "derivative(apply(";
  const tolerance tol{o.relative_tolerance, o.absolute_tolerance};
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double numeric = richardson(
        z, i, o.step, [&] { return A::apply(z[i]); }, [](double a, double b) { return a - b; });
    tol.compare(r, std::string(form).append(exact(z[i])).append(latent::detail::derivative_takes_input<A> ? ")" : "))"),
                numeric, derivative(z[i], A::apply(z[i])), "central difference of apply", "derivative");
  }
  // The SIMD forms (what Dense calls on full registers) must agree with the scalar forms (its tail):
  // the kernels apply them to whole registers first and to the remaining values one by one.
  // (xsimd's vector erf/erfc agree with the C library's to a few 1e-12 in double, not to the last bit.)
  const tolerance close{1e-11, 1e-300};
  const tolerance close_float{1e-5, 1e-30};
  std::vector<double> y(z.size()), d(z.size(), 1.0);
  kernels::apply_activation<A>(z.data(), y.data(), z.size());
  multiply_by_derivative(d.data(), z.data(), y.data(), z.size());
  std::vector<float> zf(z.begin(), z.end()), yf(z.size()), df(z.size(), 1.0f);
  kernels::apply_activation<A>(zf.data(), yf.data(), zf.size());
  multiply_by_derivative(df.data(), zf.data(), yf.data(), zf.size());
  for (std::size_t i = 0; i < z.size(); ++i) {
    // Appended rather than "(" + exact(...): g++ 12 reports a false -Wrestrict inside
    // operator+(const char*, string&&) once it is inlined (GCC bug 105651).
    std::string at = "(";
    at.append(exact(z[i])).append(")");
    close.compare(r, "apply" + at + " in double", A::apply(z[i]), y[i], "scalar", "SIMD register");
    close.compare(r, "derivative" + at + " in double", derivative(z[i], y[i]), d[i], "scalar", "SIMD register");
    close_float.compare(r, "apply" + at + " in float", A::apply(zf[i]), yf[i], "scalar", "SIMD register");
    close_float.compare(r, "derivative" + at + " in float", derivative(zf[i], yf[i]), df[i], "scalar",
                        "SIMD register");
  }
  r.summary = "derivative(apply(z)) against central differences of apply at " + std::to_string(z.size()) +
              " points; SIMD against scalar forms in double (1e-11 relative) and float (1e-5)";
  return r;
}

// ---- losses -------------------------------------------------------------------------------------------
template <class L>
check_result loss_gradient_check(const gradient_check_options& o) {
  check_result r("gradient_check<" + name_of<L>() + ">");
  const std::size_t n = o.rows, d = 13;  // 13: full registers and a tail in float and double
  Rng rng(o.seed);
  std::vector<double> p(n * d), t(n * d), grad(n * d, 0.0);
  fill_uniform(rng, p.data(), p.size(), o.input_low, o.input_high);
  fill_uniform(rng, t.data(), t.size(), o.target_low, o.target_high);
  const double scale = 0.37;  // not 1: a gradient that ignores `scale` must fail
  double value = 0, returned = 0, per_sample = 0;
  try {
    value = L::value(p.data(), t.data(), n, d);
    returned = L::value_and_gradient(p.data(), t.data(), grad.data(), n, d, scale);
    for (std::size_t s = 0; s < n; ++s) per_sample += L::value(p.data() + s * d, t.data() + s * d, 1, d);
  } catch (const std::exception& e) {
    r.fail_outright(std::string("expected value and value_and_gradient to run, found an exception: ") + e.what());
    return r;
  }
  const tolerance same{1e-12, 1e-300};
  same.compare(r, "value_and_gradient's value", value, returned, "value", "value_and_gradient");
  same.compare(r, "value over the batch", per_sample, value, "sum of one-sample values", "value over n rows");
  const tolerance tol{o.relative_tolerance, o.absolute_tolerance};
  for (std::size_t i = 0; i < p.size(); ++i) {
    // Separable over samples: differencing only the sample that holds element i keeps the other
    // samples' rounding out of the difference.
    const std::size_t s = i / d;
    const double numeric = richardson(
        p, i, o.step, [&] { return L::value(p.data() + s * d, t.data() + s * d, 1, d); },
        [](double a, double b) { return a - b; });
    tol.compare(r, "gradient[" + std::to_string(i) + "]", scale * numeric, grad[i], "scale * central difference",
                "value_and_gradient");
  }
  r.summary = "value = sum of the per-sample values, and value_and_gradient's gradient = scale * d value / d "
              "prediction, over " +
              std::to_string(n) + " x " + std::to_string(d) + " predictions";
  return r;
}

}  // namespace detail

/// Checks the gradient of `X` in double precision against central differences and returns what it
/// found (never aborts). `X` is
/// - a **layer** (`Layer<X, double>`): parameters from `X::init` with a seeded generator (then
///   jittered), random x and upstream gradient g; the objective is Σ g·y plus any penalty the layer adds
///   to `Context::penalty` (grad_scale = 1); `backward`'s dparams and dx are compared with its central
///   differences. In training mode the context's generator is restarted at the same seed for every
///   forward pass, so a stochastic layer (a `Gaussian` head) is checked with its noise held fixed;
/// - an **activation**: derivative(apply(z)) against differences of apply, and its SIMD forms against
///   its scalar forms;
/// - a **loss** (`Loss<X, double>`): the returned value, the sum over samples, and
///   gradient = scale · ∂value/∂prediction.
template <class X>
check_result gradient_check(const gradient_check_options& options = {}) {
  if constexpr (Layer<X, double>) {
    return detail::layer_gradient_check<X>(options);
  } else if constexpr (Activation<X>) {
    return detail::activation_gradient_check<X>(options);
  } else if constexpr (Loss<X, double>) {
    return detail::loss_gradient_check<X>(options);
  } else {
    static_assert(diag::dependent_false<X>,
                  "latent::testing::gradient_check<X>: X must be a layer (for double), an activation or a loss");
    return check_result{};
  }
}

/// Checks a model's gradient (a model whose scalar type is double) against central differences of its
/// loss. `loss_and_gradient()` computes the gradient into `model.gradients()` and returns the loss,
/// e.g. `[&] { return model.gradient(x.data(), n); }`. The model's noise is reseeded (`set_noise_seed`)
/// before every evaluation, so a model with training noise is checked with that noise held fixed; on
/// the model's thread setting (`set_threads(2)` checks the two-thread step, whose slices draw noise
/// from generators derived from the same seed). Checks `max_values` parameters spread evenly over the
/// packed vector (0: all).
template <class Model, class LossAndGradient>
check_result gradient_check(Model& model, LossAndGradient&& loss_and_gradient,
                            const gradient_check_options& options = {}) {
  static_assert(std::is_same_v<typename Model::scalar_type, double>,
                "latent::testing::gradient_check(model, ...): differences need a model in double precision, "
                "e.g. Autoencoder<Encoder, Decoder, MSE, double>");
  const std::size_t threads = model.threads();
  check_result r("gradient_check(" + Model::architecture() + ", " +
                 (threads == 0 ? std::string("automatic threads") : std::to_string(threads) + " threads") + ")");
  auto params = model.parameters();
  const std::vector<double> kept(params.begin(), params.end());
  auto evaluate = [&]() -> double {
    model.set_noise_seed(options.seed);
    return static_cast<double>(loss_and_gradient());
  };
  std::vector<double> analytic;
  std::vector<double> theta(params.begin(), params.end());
  try {
    evaluate();
    analytic.assign(model.gradients().begin(), model.gradients().end());
    const std::size_t total = params.size();
    const std::size_t stride = options.max_values == 0 || options.max_values >= total ? 1 : total / options.max_values;
    const detail::tolerance tol{options.relative_tolerance, options.absolute_tolerance};
    auto eval_at = [&] {
      std::copy(theta.begin(), theta.end(), params.begin());
      return evaluate();
    };
    for (std::size_t i = 0; i < total; i += stride)
      tol.compare(r, "gradient[" + std::to_string(i) + "]",
                  detail::richardson(theta, i, options.step, eval_at, [](double a, double b) { return a - b; }),
                  analytic[i], "central difference of the loss", "gradient()");
  } catch (const std::exception& e) {
    r.fail_outright(std::string("expected the gradient to be computed, found an exception: ") + e.what());
  }
  // The model leaves as it came, its gradient the analytic one at the original parameters.
  std::copy(kept.begin(), kept.end(), params.begin());
  try {
    evaluate();
  } catch (const std::exception&) {
    // already reported above
  }
  r.summary = std::to_string(r.checked) + " of " + std::to_string(params.size()) + " parameters, noise seed " +
              std::to_string(options.seed) + "; tolerance " + detail::brief(options.absolute_tolerance) + " + " +
              detail::brief(options.relative_tolerance) + " * |value|";
  return r;
}

}  // namespace latent::testing
