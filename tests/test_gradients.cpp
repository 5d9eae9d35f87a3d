// Finite-difference gradient checks in double precision: the laws every activation, layer, loss and
// model obeys, each written once and instantiated over a type list with TEST_CASE_TEMPLATE.
//
// The method, shared by every law:
//  - the numeric derivative is built from central differences D(h) = (f(θ+h) − f(θ−h)) / ((θ+h) − (θ−h))
//    with a relative step h = 1e-6·max(1, |θ|) (the denominator is the step actually taken after
//    rounding), and one Richardson step (4·D(h) − D(2h))/3 that cancels the h² truncation term, so that
//    only round-off is left;
//  - the analytic value a and the numeric value b agree when |a − b| / max(|a| + |b|, tiny) < 1e-6.
//  - the round-off of D(h) is about ε·S/(2h), where S is the magnitude of what is differenced. To keep
//    S small the objectives are differences of outputs element by element (Σ w·(y⁺ − y⁻), a single
//    sample's loss), never a difference of two large sums whose unrelated roundings would not cancel.
//  - tiny: for activations and losses tiny = 1e-300, a pure relative check (both values 0, as for a
//    dead ReLU unit, count as agreement). For layers and whole models round-off is not negligible
//    against every component: a weight gradient can be 10⁻⁶ of the loss (seen: components of 6e-8
//    beside a mean loss of 0.1), which no difference with this step resolves to 1e-6 in double. There
//    tiny = η/1e-6 with η = 16·ε·S/(2h), S = Σ_{outputs reached}|w|·max|y| for a layer, |mean loss| for
//    a model. Over seven seeds the largest |a − b| / (ε·S/(2h)) measured was 4.1, so 16 leaves a factor
//    4. A component above tiny is checked to 1e-6 relative, one below it to η absolute, and every
//    report counts the components below tiny (set LATENT_GRADIENT_STATS=1 to print the statistics).
//    While writing this file, the components that failed a purely relative check were recomputed with
//    a Richardson difference with h = 1e-3: they agreed with the analytic gradient to 1e-7 or better,
//    so they were round-off, not library errors.
//  - kinks (ReLU, leaky ReLU at 0; ELU's second derivative at 0): inputs and parameters are drawn again
//    (from the next seed) until no pre-activation of a kinked activation is within 1e-3 of 0, 500 times
//    the largest step (2h); a step then never crosses a kink. The probe that measures the margin
//    recomputes the pre-activations independently, layer by layer (`forward_probe`).
#include <doctest/doctest.h>

#include "support/type_names.hpp"  // doctest's names for Dense<7, 13, A> and ChainSeq

#include "latent/activations/elu.hpp"
#include "latent/activations/identity.hpp"
#include "latent/activations/leaky_relu.hpp"
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/activations/softplus.hpp"
#include "latent/activations/tanh.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/bce.hpp"
#include "latent/losses/bce_with_logits.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: the model's data

#include <algorithm>    // std::max, std::min, std::copy, std::all_of
#include <cmath>        // std::abs, std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <cstdlib>      // std::getenv: LATENT_GRADIENT_STATS prints every comparison's statistics
#include <limits>       // std::numeric_limits
#include <sstream>      // std::ostringstream: failure reports
#include <string>       // std::string
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

// The file's own names live in namespace test_gradients: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_gradients {

namespace {

using namespace latent;

constexpr double tolerance = 1e-6;      // relative, see the header comment
constexpr double tiny = 1e-300;         // only keeps 0/0 defined
constexpr double roundoff_factor = 16;  // η = 16·ε·S/(2h), see the header comment
constexpr double machine_epsilon = std::numeric_limits<double>::epsilon();
constexpr double kink_margin = 1e-3;  // minimum |pre-activation| of a kinked activation
constexpr double infinity = std::numeric_limits<double>::infinity();

double relative_error(double a, double b, double floor = tiny) {
  return std::abs(a - b) / std::max(std::abs(a) + std::abs(b), floor);
}

// The step for a value θ, and the pair of perturbed values.
double step_for(double theta) { return 1e-6 * std::max(1.0, std::abs(theta)); }

// A central difference: its value, the step (θ+h) − (θ−h) actually taken and, when the objective knows
// it, the magnitude S of what was differenced for this component (< 0: the comparison's S).
struct difference {
  double value;
  double step;
  double scale = -1;
};
// What an objective's difference function may return instead of a plain double: f⁺ − f⁻ and its S.
struct difference_with_scale {
  double value;
  double scale;
};

// Collects analytic/numeric pairs; reports the worst and the first few failures. `scale` is S, the
// magnitude of the differenced quantity (0: a pure relative check).
struct comparison {
  std::string what;
  double scale;
  double worst = 0, worst_roundoff = 0;
  std::size_t checked = 0, failed = 0, floored = 0;
  std::string worst_roundoff_at;
  std::ostringstream failures;

  explicit comparison(std::string w, double s = 0) : what(std::move(w)), scale(s) { failures.precision(17); }

  void add(const char* kind, std::size_t index, double analytic, difference numeric) {
    const double unit = machine_epsilon * (numeric.scale >= 0 ? numeric.scale : scale) / numeric.step;  // ε·S/(2h)
    const double floor = std::max(tiny, roundoff_factor * unit / tolerance);
    const double e = relative_error(analytic, numeric.value, floor);
    ++checked;
    worst = std::max(worst, e);
    if (std::abs(analytic) + std::abs(numeric.value) < floor) ++floored;
    if (unit > 0 && std::abs(analytic - numeric.value) / unit > worst_roundoff) {
      worst_roundoff = std::abs(analytic - numeric.value) / unit;
      std::ostringstream o;
      o.precision(17);
      o << kind << "[" << index << "]: analytic " << analytic << ", numeric " << numeric.value << ", eps S / 2h "
        << unit;
      worst_roundoff_at = o.str();
    }
    if (!(e < tolerance)) {
      if (failed < 8)
        failures << "  " << kind << "[" << index << "]: analytic " << analytic << ", numeric " << numeric.value
                 << ", relative error " << e << " (floor " << floor << ")\n";
      ++failed;
    }
  }
  void report() const {
    INFO(what << ": " << checked << " values, worst relative error " << worst << ", " << floored
              << " below the round-off floor, worst |a - b| / (eps S / 2h) = " << worst_roundoff << "\n"
              << failures.str());
    CHECK(checked > 0);
    CHECK(failed == 0);
    if (std::getenv("LATENT_GRADIENT_STATS") != nullptr)
      MESSAGE(what << ": " << checked << " values, worst " << worst << ", below the floor " << floored
                   << ", worst round-off ratio " << worst_roundoff << " at " << worst_roundoff_at);
  }
};

// The central difference of an objective at v[i] with step h: eval() evaluates it with the current v,
// diff(plus, minus) subtracts two evaluations (element by element where it can).
template <class Eval, class Diff>
difference central_difference_with_step(std::vector<double>& v, std::size_t i, double h, Eval& eval, Diff& diff) {
  const double theta = v[i];
  const double up = theta + h, down = theta - h;
  v[i] = up;
  auto plus = eval();
  v[i] = down;
  auto minus = eval();
  v[i] = theta;
  const auto d = diff(plus, minus);
  if constexpr (std::is_same_v<decltype(d), const difference_with_scale>)
    return {d.value / (up - down), up - down, d.scale};
  else
    return {d / (up - down), up - down};
}

// The numeric derivative: central differences with steps h and 2h, combined by one Richardson step,
// (4·D(h) − D(2h))/3, which cancels the h² truncation term. What is left is round-off, about 1.5 times
// that of D(h) alone, which the comparison's floor accounts for (its `step` is D(h)'s).
template <class Eval, class Diff>
difference central_difference(std::vector<double>& v, std::size_t i, Eval&& eval, Diff&& diff) {
  const double h = step_for(v[i]);
  const difference d1 = central_difference_with_step(v, i, h, eval, diff);
  const difference d2 = central_difference_with_step(v, i, 2 * h, eval, diff);
  return {(4 * d1.value - d2.value) / 3, d1.step, std::max(d1.scale, d2.scale)};
}

std::vector<double> uniform_values(Rng& rng, std::size_t count, double lo, double hi) {
  std::vector<double> v(count);
  for (auto& e : v) e = rng.uniform(lo, hi);
  return v;
}

// ------------------------------------------------------------------------------------------------------
// Activations whose derivative is continuous and smooth everywhere; any other is treated as having a
// kink at 0 (the conservative choice for an activation added later).
template <class A>
inline constexpr bool smooth_v =
    std::is_same_v<A, Identity> || std::is_same_v<A, Sigmoid> || std::is_same_v<A, Tanh> || std::is_same_v<A, Softplus>;

// Independent forward pass that also measures the kink margin: recomputes the pre-activations of every
// Dense (through Dense<In, Out, Identity>) and applies the activation with its scalar form. Returns the
// smallest |pre-activation| of a kinked activation (infinity when there is none); writes y.
template <class L>
double forward_probe(const double* p, const double* x, std::size_t n, std::vector<double>& y);

template <class... Rs>
double probe_chain(detail::type_list<Rs...>, const double* p, const double* x, std::size_t n, std::vector<double>& y) {
  double margin = infinity;
  std::size_t offset = 0;
  std::vector<double> in(x, x + n * detail::seq_ops<detail::type_list<Rs...>>::in_size);
  ((margin = std::min(margin, forward_probe<Rs>(p + offset, in.data(), n, y)), offset += Rs::param_count, in = y), ...);
  return margin;
}

template <class L>
double forward_probe(const double* p, const double* x, std::size_t n, std::vector<double>& y) {
  if constexpr (requires { typename L::layers; }) {
    return probe_chain(typename L::layers{}, p, x, n, y);
  } else {
    using Act = typename L::activation;
    using Linear = Dense<L::in_size, L::out_size, Identity>;
    static_assert(Linear::param_count == L::param_count, "forward_probe knows Dense-like layers and Seqs");
    y.assign(n * L::out_size, 0.0);
    Context<double> ctx;
    Linear::forward(p, x, y.data(), static_cast<double*>(nullptr), n, ctx);
    double margin = infinity;
    for (double& z : y) {
      if (!smooth_v<Act>) margin = std::min(margin, std::abs(z));
      z = Act::apply(z);
    }
    return margin;
  }
}

// ======================================================================================================
// Law 1: an activation's derivative, written in terms of its output, is the derivative of apply:
// derivative(apply(z)) = d apply / dz, for the scalar form and for the vector kernels
// (multiply_by_derivative on a vector of ones; 13 values = full registers plus a tail).
template <class A>
void check_activation_derivative() {
  Rng rng(7);
  std::vector<double> z;
  // Points in [−4, 4] away from the kink, plus fixed ones on either side of it; beyond |z| ≈ 4, 1 − y
  // for Sigmoid and Tanh loses digits to cancellation in both the formula and the difference.
  for (double v : {-4.0, -2.5, -1.0, -0.3, -0.01, 0.01, 0.3, 1.0, 2.5, 4.0}) z.push_back(v);
  while (z.size() < 41) {
    const double v = rng.uniform(-4, 4);
    if (std::abs(v) >= kink_margin) z.push_back(v);
  }
  std::vector<double> y(z.size()), vec_deriv(z.size(), 1.0);
  kernels::apply_activation<A>(z.data(), y.data(), z.size());
  kernels::multiply_by_derivative<A>(vec_deriv.data(), y.data(), z.size());

  comparison scalar("scalar derivative"), vectorised("vector derivative");
  for (std::size_t i = 0; i < z.size(); ++i) {
    const difference numeric = central_difference(
        z, i, [&] { return A::apply(z[i]); }, [](double a, double b) { return a - b; });
    scalar.add("z", i, A::derivative(A::apply(z[i])), numeric);
    vectorised.add("z", i, vec_deriv[i], numeric);
  }
  scalar.report();
  vectorised.report();
}

// Documented reference points, independent of the library's formulas.
TEST_CASE("activations: values at reference points") {
  CHECK(Relu::apply(-2.0) == 0.0);
  CHECK(Relu::apply(3.0) == 3.0);
  CHECK(LeakyRelu::apply(-2.0) == doctest::Approx(-0.6).epsilon(1e-15));
  CHECK(Sigmoid::apply(0.0) == 0.5);
  CHECK(Tanh::apply(0.5) == doctest::Approx(0.46211715726000974).epsilon(1e-15));
  CHECK(Softplus::apply(0.0) == doctest::Approx(0.69314718055994531).epsilon(1e-15));
  CHECK(Softplus::apply(800.0) == 800.0);  // no overflow
  CHECK(Softplus::apply(-800.0) == 0.0);
  CHECK(Elu::apply(-1.0) == doctest::Approx(-0.63212055882855767).epsilon(1e-15));  // e^−1 − 1
  CHECK(Sigmoid::apply(-800.0) == 0.0);                                             // documented: never NaN
}

TEST_CASE_TEMPLATE("law: activation derivative = finite difference of apply", A, Identity, Relu, LeakyRelu, Sigmoid,
                   Tanh, Softplus, Elu) {
  check_activation_derivative<A>();
}

// ======================================================================================================
// Law 2: a layer's backward pass is the derivative of its forward pass. With a random linear functional
// L = Σ w·y of the output, backward(dy = w) must give dL/dparams and dL/dx.
template <class L>
struct layer_problem {
  static constexpr std::size_t n = 7;  // rows: a 6- or 4-row tile plus a remainder; 3 pairs plus one in gemm_nt
  std::vector<double> p, x, w;
  double margin = 0;

  // Draws parameters (the layer's own initialisation, then every value shifted by U(−0.2, 0.2) so that
  // biases are not 0), inputs and weights from `seed`, and again from the next seeds until the kink
  // margin holds.
  explicit layer_problem(std::uint64_t seed) {
    for (int attempt = 0; attempt < 100; ++attempt, ++seed) {
      Rng rng(seed);
      p.assign(L::param_count, 0.0);
      L::init(p.data(), rng);
      for (double& v : p) v += rng.uniform(-0.2, 0.2);
      x = uniform_values(rng, n * L::in_size, -1, 1);
      w = uniform_values(rng, n * L::out_size, -1, 1);
      std::vector<double> y;
      margin = forward_probe<L>(p.data(), x.data(), n, y);
      if (margin >= kink_margin) return;
    }
  }

  std::vector<double> forward() const {
    std::vector<double> y(n * L::out_size), cache(n * L::cache_size + 1);
    Context<double> ctx;
    L::forward(p.data(), x.data(), y.data(), cache.data(), n, ctx);
    return y;
  }
  // Σ_k w_k (y⁺_k − y⁻_k): outputs a perturbation does not reach cancel exactly, so only the rounding of
  // the outputs it reaches enters the difference: S = Σ_{reached} |w_k| · max_k |y_k|. (The largest of all
  // outputs, not each reached |y_k|: an output near 0 by cancellation, e.g. 5e-4 from O(1) terms, still
  // carries the rounding of its O(1) terms.)
  difference_with_scale functional_difference(const std::vector<double>& plus, const std::vector<double>& minus) const {
    double s = 0, weights = 0, largest = 0;
    for (std::size_t k = 0; k < w.size(); ++k) {
      s += w[k] * (plus[k] - minus[k]);
      if (plus[k] != minus[k]) weights += std::abs(w[k]);
      largest = std::max({largest, std::abs(plus[k]), std::abs(minus[k])});
    }
    return {s, weights * largest};
  }
};

template <class L>
void check_layer_gradients(std::uint64_t seed) {
  layer_problem<L> prob(seed);
  REQUIRE(prob.margin >= kink_margin);
  constexpr std::size_t n = layer_problem<L>::n;

  // The layer's passes.
  std::vector<double> y(n * L::out_size), cache(n * L::cache_size + 1),
      dy = prob.w, dx(n * L::in_size), dp(L::param_count), scratch(n * L::scratch_size + 1);
  Context<double> ctx;
  L::forward(prob.p.data(), prob.x.data(), y.data(), cache.data(), n, ctx);
  L::backward(prob.p.data(), prob.x.data(), y.data(), cache.data(), dy.data(), dx.data(), dp.data(), scratch.data(), n,
              ctx);

  // The forward pass is the composition of its layers (the probe recomputes it independently).
  std::vector<double> probe;
  forward_probe<L>(prob.p.data(), prob.x.data(), n, probe);
  comparison composed("forward = composition of the layers");
  for (std::size_t k = 0; k < y.size(); ++k) composed.add("y", k, y[k], {probe[k], 1.0});
  composed.report();

  const auto eval = [&] { return prob.forward(); };
  const auto diff = [&](const auto& a, const auto& b) { return prob.functional_difference(a, b); };
  comparison params("dL/dparams"), inputs("dL/dx");  // S per component, from functional_difference
  for (std::size_t i = 0; i < L::param_count; ++i)
    params.add("param", i, dp[i], central_difference(prob.p, i, eval, diff));
  for (std::size_t i = 0; i < n * L::in_size; ++i) inputs.add("x", i, dx[i], central_difference(prob.x, i, eval, diff));
  params.report();
  inputs.report();
}

// Law 3 (shapes): forward with n rows writes exactly n × out_size values and backward exactly
// param_count parameter gradients and n × in_size input gradients. Every buffer is surrounded by guard
// values that must stay untouched, starts one element past a 64-byte boundary (so no load or store may
// assume alignment) and is filled with a sentinel that every written value must replace.
struct guarded {
  static constexpr std::size_t guard = 19;
  static constexpr double sentinel = -1234.5;
  std::vector<double> storage;
  std::size_t size;
  explicit guarded(std::size_t count) : storage(count + 2 * guard + 1, sentinel), size(count) {}
  double* data() { return storage.data() + guard + 1; }
  bool guards_intact() const {
    for (std::size_t i = 0; i < guard + 1; ++i)
      if (storage[i] != sentinel) return false;
    for (std::size_t i = guard + 1 + size; i < storage.size(); ++i)
      if (storage[i] != sentinel) return false;
    return true;
  }
  bool all_written() const {
    for (std::size_t i = guard + 1; i < guard + 1 + size; ++i)
      if (storage[i] == sentinel || !std::isfinite(storage[i])) return false;
    return true;
  }
};

template <class L>
void check_layer_shapes() {
  for (std::size_t n : {1, 2, 5, 7, 13}) {
    CAPTURE(n);
    Rng rng(n);
    guarded p(L::param_count), x(n * L::in_size), y(n * L::out_size), cache(n * L::cache_size), dy(n * L::out_size),
        dx(n * L::in_size), dp(L::param_count), scratch(n * L::scratch_size);
    L::init(p.data(), rng);
    for (std::size_t i = 0; i < x.size; ++i) x.data()[i] = rng.uniform(-1, 1);
    for (std::size_t i = 0; i < dy.size; ++i) dy.data()[i] = rng.uniform(-1, 1);
    Context<double> ctx;
    L::forward(p.data(), x.data(), y.data(), cache.data(), n, ctx);
    CHECK(y.all_written());
    CHECK(y.guards_intact());
    CHECK(cache.guards_intact());
    CHECK(x.guards_intact());
    L::backward(p.data(), x.data(), y.data(), cache.data(), dy.data(), dx.data(), dp.data(), scratch.data(), n, ctx);
    CHECK(dp.all_written());
    CHECK(dp.guards_intact());
    CHECK(dx.all_written());
    CHECK(dx.guards_intact());
    CHECK(dy.guards_intact());
    CHECK(scratch.guards_intact());
    CHECK(p.guards_intact());
  }
}

// The layers: Dense with every activation on sizes that are not multiples of any vector width, sizes
// that are, widths that need several column blocks (24, 33, 100), single rows and columns, a Seq, a
// nested Seq, and the seed architecture's halves under strong names.
struct SeedEncoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct SeedDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
struct SeedLogitDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Identity>> {};
using ChainSeq = Seq<Dense<7, 13, Tanh>, Dense<13, 5, Relu>, Dense<5, 9, Identity>>;
using NestedSeq = Seq<Seq<Dense<6, 11, Elu>, Dense<11, 4, Softplus>>, Dense<4, 10, LeakyRelu>,
                      Seq<Seq<Dense<10, 3, Sigmoid>>, Dense<3, 8, Tanh>>>;

}  // namespace

}  // namespace test_gradients
TYPE_TO_STRING_AS("Identity", test_gradients::Identity);
TYPE_TO_STRING_AS("Relu", test_gradients::Relu);
TYPE_TO_STRING_AS("LeakyRelu", test_gradients::LeakyRelu);
TYPE_TO_STRING_AS("Sigmoid", test_gradients::Sigmoid);
TYPE_TO_STRING_AS("Tanh", test_gradients::Tanh);
TYPE_TO_STRING_AS("Softplus", test_gradients::Softplus);
TYPE_TO_STRING_AS("Elu", test_gradients::Elu);
TYPE_TO_STRING_AS("Dense<1, 1, Tanh>", test_gradients::Dense<1, 1, test_gradients::Tanh>);
TYPE_TO_STRING_AS("Dense<3, 17, Sigmoid>", test_gradients::Dense<3, 17, test_gradients::Sigmoid>);
TYPE_TO_STRING_AS("Dense<8, 8, Elu>", test_gradients::Dense<8, 8, test_gradients::Elu>);
TYPE_TO_STRING_AS("Dense<16, 24, Softplus>", test_gradients::Dense<16, 24, test_gradients::Softplus>);
TYPE_TO_STRING_AS("Dense<5, 33, LeakyRelu>", test_gradients::Dense<5, 33, test_gradients::LeakyRelu>);
TYPE_TO_STRING_AS("Dense<100, 20, Relu>", test_gradients::Dense<100, 20, test_gradients::Relu>);
TYPE_TO_STRING_AS("Dense<20, 100, Sigmoid>", test_gradients::Dense<20, 100, test_gradients::Sigmoid>);
TYPE_TO_STRING_AS("NestedSeq", test_gradients::NestedSeq);
TYPE_TO_STRING_AS("SeedEncoder", test_gradients::SeedEncoder);
TYPE_TO_STRING_AS("SeedDecoder", test_gradients::SeedDecoder);
TYPE_TO_STRING_AS("SeedLogitDecoder", test_gradients::SeedLogitDecoder);
namespace test_gradients {

#define LATENT_TEST_LAYERS                                                                                             \
  Dense<7, 13, Identity>, Dense<7, 13, Relu>, Dense<7, 13, LeakyRelu>, Dense<7, 13, Sigmoid>, Dense<7, 13, Tanh>,      \
      Dense<7, 13, Softplus>, Dense<7, 13, Elu>, Dense<1, 1, Tanh>, Dense<3, 17, Sigmoid>, Dense<8, 8, Elu>,           \
      Dense<16, 24, Softplus>, Dense<5, 33, LeakyRelu>, Dense<100, 20, Relu>, Dense<20, 100, Sigmoid>, ChainSeq,       \
      NestedSeq, SeedEncoder, SeedDecoder, SeedLogitDecoder

TEST_CASE_TEMPLATE("law: layer backward = finite difference of forward (dparams and dx)", L, LATENT_TEST_LAYERS) {
  check_layer_gradients<L>(2024);
}

TEST_CASE_TEMPLATE("law: layer passes write exactly their shapes", L, LATENT_TEST_LAYERS) { check_layer_shapes<L>(); }

namespace {

// ======================================================================================================
// Law 4: a loss's gradient is the derivative of its value: value_and_gradient writes
// grad = scale · ∂value/∂pred and returns value; value is the sum over samples of per-sample losses.
// Each loss brings the region in which it is checked.
struct mse_case {
  using loss = MSE;
  static void draw(Rng& rng, double& p, double& t) {
    p = rng.uniform(-2, 2);
    t = rng.uniform(-2, 2);
  }
};
// Probabilities in [0.01, 0.99], far inside the clamp [1e-7, 1 − 1e-7]; targets in [0, 1] including the
// exact labels 0 and 1.
struct bce_case {
  using loss = BCE;
  static void draw(Rng& rng, double& p, double& t) {
    p = rng.uniform(0.01, 0.99);
    const std::size_t kind = rng.below(4);
    t = kind == 0 ? 0.0 : kind == 1 ? 1.0 : rng.uniform(0, 1);
  }
};
// Logits up to |a| = 40 (e^40 ≈ 2e17: e^−|a| is below ε relative to 1) and targets in [0, 1]. For
// exact labels the logit's sign is drawn against the label (t = 0 with a ≫ 0 and t = 1 with a ≪ 0):
// the gradient is then ±1 and must be exact. The matched case (t = 1 with a ≫ 0), whose true gradient is
// −σ(−a) ≈ −e^−a, is checked separately with an absolute bound (see below).
struct bce_with_logits_case {
  using loss = BCEWithLogits;
  static void draw(Rng& rng, double& a, double& t) {
    const std::size_t kind = rng.below(4);
    const double magnitude = rng.below(2) == 0 ? rng.uniform(0, 4) : rng.uniform(4, 40);
    if (kind == 0) {
      t = 0.0;
      a = magnitude;
    } else if (kind == 1) {
      t = 1.0;
      a = -magnitude;
    } else {
      t = rng.uniform(0, 1);
      a = rng.below(2) == 0 ? magnitude : -magnitude;
    }
  }
};

template <class Case>
void check_loss_gradient() {
  using Loss = typename Case::loss;
  constexpr std::size_t n = 5, d = 13;  // d: two double registers and a tail, one float register and a tail
  Rng rng(99);
  std::vector<double> p(n * d), t(n * d), g(n * d, -1.0);
  for (std::size_t i = 0; i < n * d; ++i) Case::draw(rng, p[i], t[i]);
  const double scale = 0.37;

  const double value = Loss::value(p.data(), t.data(), n, d);
  const double returned = Loss::value_and_gradient(p.data(), t.data(), g.data(), n, d, scale);
  CHECK(returned == doctest::Approx(value).epsilon(1e-15));
  // The value is the sum over samples of the per-sample losses.
  double per_sample = 0;
  for (std::size_t r = 0; r < n; ++r) per_sample += Loss::value(p.data() + r * d, t.data() + r * d, 1, d);
  CHECK(value == doctest::Approx(per_sample).epsilon(1e-14));

  comparison grads("scale · d value / d pred");
  for (std::size_t i = 0; i < n * d; ++i) {
    // The loss is separable over samples: differencing the one sample that contains element i keeps
    // the rounding of the other samples' terms out of the difference.
    const std::size_t row = i / d;
    const auto eval = [&] { return Loss::value(p.data() + row * d, t.data() + row * d, 1, d); };
    const difference fd = central_difference(p, i, eval, [](double a, double b) { return a - b; });
    grads.add("pred", i, g[i], {scale * fd.value, fd.step});
  }
  grads.report();
}

}  // namespace

}  // namespace test_gradients
TYPE_TO_STRING_AS("mse_case", test_gradients::mse_case);
TYPE_TO_STRING_AS("bce_case", test_gradients::bce_case);
TYPE_TO_STRING_AS("bce_with_logits_case", test_gradients::bce_with_logits_case);
namespace test_gradients {

TEST_CASE_TEMPLATE("law: loss gradient = scale · finite difference of value", Case, mse_case, bce_case,
                   bce_with_logits_case) {
  check_loss_gradient<Case>();
}

// BCEWithLogits on saturated, correctly classified logits (t = 1, a ≫ 0 or t = 0, a ≪ 0): the true
// gradient is ∓σ(−|a|)/d, below ε. The slope σ(a) − t is computed by a subtraction that cancels, so it is
// exact only in absolute terms: |g − g_true| ≤ ε·scale/d. (A relative check would require evaluating it
// as (1 − t)·σ(a) − t·σ(−a); see the report.) The value must still be the exact tiny e^−|a|.
TEST_CASE("BCEWithLogits: saturated, correctly classified logits") {
  constexpr std::size_t d = 4;
  const double a[d] = {20.0, 38.0, -20.0, -38.0}, t[d] = {1.0, 1.0, 0.0, 0.0};
  double g[d];
  const double scale = 1.0;
  const double value = BCEWithLogits::value_and_gradient(a, t, g, 1, d, scale);
  double expected_value = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const double sigma_minus = 1.0 / (1.0 + std::exp(std::abs(a[j])));  // σ(−|a|), exact to ε relative
    expected_value += std::log1p(sigma_minus / (1 - sigma_minus)) / d;  // log1p(e^−|a|)
    const double expected_gradient = (t[j] == 1.0 ? -sigma_minus : sigma_minus) / d;
    CAPTURE(j);
    CHECK(std::abs(g[j] - expected_gradient) <= std::numeric_limits<double>::epsilon() * scale / d);
  }
  CHECK(value == doctest::Approx(expected_value).epsilon(1e-12));
}

// BCE's gradient is 0 where the probability is clamped (documented: the gradient of the clamped formula).
TEST_CASE("BCE: zero gradient in the clamped region, finite value") {
  const double p[4] = {0.0, 1e-9, 1.0, 1 - 1e-9}, t[4] = {1.0, 0.5, 0.0, 0.5};
  double g[4];
  const double value = BCE::value_and_gradient(p, t, g, 1, 4, 1.0);
  CHECK(std::isfinite(value));
  for (double gi : g) CHECK(gi == 0.0);
}

namespace {

// ======================================================================================================
// Law 5: a whole Autoencoder's gradient(x, n) is the derivative of its mean loss. The loss is evaluated
// by model.loss (the inference path), which must agree with the value gradient() returns.
template <class Enc, class Dec, class Loss>
struct model_case {
  using encoder = Enc;
  using decoder = Dec;
  using loss = Loss;
};

// Small chains that use every activation between them; BCEWithLogits ends in Identity.
using SmallEncoder = Seq<Dense<7, 5, Tanh>, Dense<5, 3, Elu>>;
using SmallDecoder = Seq<Dense<3, 6, LeakyRelu>, Dense<6, 7, Sigmoid>>;
using SmallLogitDecoder = Seq<Dense<3, 6, Softplus>, Dense<6, 7, Identity>>;

template <class Case>
void check_model_gradient() {
  using Enc = typename Case::encoder;
  using Dec = typename Case::decoder;
  using Loss = typename Case::loss;
  using Model = Autoencoder<Enc, Dec, Loss, double>;
  constexpr std::size_t n = 5, d = Model::input_size;

  Model model(11);
  // Inputs in [0, 1] (they are also the BCE targets), drawn again until the kink margin holds and, for
  // BCE, every output is at least 1e-4 inside the clamp.
  std::vector<double> x;
  bool ok = false;
  for (std::uint64_t seed = 1; seed < 100 && !ok; ++seed) {
    Rng rng(seed);
    x = uniform_values(rng, n * d, 0, 1);
    std::vector<double> code, out;
    const std::vector<double> p(model.parameters().begin(), model.parameters().end());
    const double m1 = forward_probe<Enc>(p.data(), x.data(), n, code);
    const double m2 = forward_probe<Dec>(p.data() + Enc::param_count, code.data(), n, out);
    ok = std::min(m1, m2) >= kink_margin;
    if constexpr (std::is_same_v<Loss, BCE>)
      ok = ok && std::all_of(out.begin(), out.end(), [](double v) { return v >= 1e-4 && v <= 1 - 1e-4; });
  }
  REQUIRE(ok);
  xt::xtensor<double, 2> xt_x = xt::xtensor<double, 2>::from_shape({n, d});
  std::copy(x.begin(), x.end(), xt_x.data());

  const double mean_loss = model.gradient(x.data(), n);
  const std::vector<double> analytic(model.gradients().begin(), model.gradients().end());
  CHECK(model.loss(xt_x) == doctest::Approx(mean_loss).epsilon(1e-13));

  std::vector<double> params(model.parameters().begin(), model.parameters().end());
  const auto eval = [&] {
    std::copy(params.begin(), params.end(), model.parameters().begin());
    return model.loss(xt_x);
  };
  comparison grads("d mean loss / d params", std::abs(mean_loss));
  for (std::size_t i = 0; i < Model::param_count; ++i)
    grads.add("param", i, analytic[i], central_difference(params, i, eval, [](double a, double b) { return a - b; }));
  grads.report();
}

}  // namespace

using SmallMSE = model_case<SmallEncoder, SmallDecoder, MSE>;
using SmallBCE = model_case<SmallEncoder, SmallDecoder, BCE>;
using SmallLogits = model_case<SmallEncoder, SmallLogitDecoder, BCEWithLogits>;
using SeedMSE = model_case<SeedEncoder, SeedDecoder, MSE>;
using SeedBCE = model_case<SeedEncoder, SeedDecoder, BCE>;
using SeedLogits = model_case<SeedEncoder, SeedLogitDecoder, BCEWithLogits>;
}  // namespace test_gradients
TYPE_TO_STRING_AS("SmallMSE", test_gradients::SmallMSE);
TYPE_TO_STRING_AS("SmallBCE", test_gradients::SmallBCE);
TYPE_TO_STRING_AS("SmallLogits", test_gradients::SmallLogits);
TYPE_TO_STRING_AS("SeedMSE", test_gradients::SeedMSE);
TYPE_TO_STRING_AS("SeedBCE", test_gradients::SeedBCE);
TYPE_TO_STRING_AS("SeedLogits", test_gradients::SeedLogits);
namespace test_gradients {

TEST_CASE_TEMPLATE("law: Autoencoder::gradient = finite difference of the mean loss", Case, SmallMSE, SmallBCE,
                   SmallLogits, SeedMSE, SeedBCE, SeedLogits) {
  check_model_gradient<Case>();
}
}  // namespace test_gradients
