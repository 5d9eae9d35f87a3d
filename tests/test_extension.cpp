// User extensions as first-class citizens (issue #10): a layer, an activation, a loss, a regulariser and
// a container written by a user, to the documented contract only, train, save, load, resume and pass the
// latent::testing checks; the law "two threads give the gradient of one" holds for every layer and
// every model kind; and the checks themselves fail on broken layers.
#include <doctest/doctest.h>

#include <latent/latent.hpp>
#include <latent/testing/testing.hpp>

#include "support/affine_layer.hpp"
#include "support/check_macros.hpp"
#include "support/type_names.hpp"  // doctest's names for Dense<7, 13, A> and ChainSeq

#include <xtensor/xtensor.hpp>  // xt::xtensor: the models' data

#include <algorithm>   // std::equal, std::max
#include <cmath>       // std::abs, std::tanh, std::sin
#include <cstddef>     // std::size_t
#include <cstdint>     // std::uint64_t
#include <filesystem>  // std::filesystem: the checkpoint's temporary path
#include <random>      // std::random_device: unique temporary names
#include <string>      // std::string
#include <vector>      // std::vector

// The file's own names live in namespace test_extension: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_extension {

namespace user {

using latent::Context;
using latent::Rng;

// ---- a layer written exactly to the documented protocol -------------------------------------------------
// y = x ⊙ s + b, element-wise; parameters [s (N) | b (N)] (tests/support/affine_layer.hpp).
using test_support::Affine;
// The same sizes and maths under another name: files of one must not load into the other.
template <std::size_t N>
struct Rescale : Affine<N> {
  static constexpr const char* name = "Rescale";
};

// ---- an activation, a loss, a regulariser ---------------------------------------------------------------
// f(z) = z / (1 + |z|); f' = 1 / (1 + |z|)² = (1 − |y|)².
struct Softsign {
  static constexpr const char* name = "Softsign";
  template <class V>
  static V apply(const V& z) noexcept {
    return z / (V(1) + latent::kernels::math::abs(z));
  }
  template <class V>
  static V derivative(const V& y) noexcept {
    const V m = V(1) - latent::kernels::math::abs(y);
    return m * m;
  }
};

// Mean absolute error over a sample's d values; its slope at p = t is taken as 0.
struct L1 {
  static constexpr const char* name = "L1";
  template <class T>
  static double value(const T* p, const T* t, std::size_t n, std::size_t d) {
    double s = 0;
    for (std::size_t i = 0; i < n * d; ++i) s += std::abs(static_cast<double>(p[i]) - t[i]);
    return s / static_cast<double>(d);
  }
  template <class T>
  static double value_and_gradient(const T* p, const T* t, T* g, std::size_t n, std::size_t d, T scale) {
    const T slope = scale / static_cast<T>(d);
    for (std::size_t i = 0; i < n * d; ++i) g[i] = p[i] > t[i] ? slope : (p[i] < t[i] ? -slope : T(0));
    return value(p, t, n, d);
  }
  template <class T>
  static void to_mean(T*, std::size_t) {}
};

// The MMD penalty of a Wasserstein autoencoder: λ · MMD²(codes, draws from N(0, I)) with the inverse
// multiquadratic kernel k(a, b) = C / (C + |a − b|²), C = 2z; the unbiased estimate, and its exact
// gradient with respect to the codes. A penalty over the whole batch: not splittable over threads.
struct MMD {
  static constexpr const char* name = "MMD";
  double weight = 1.0;

  template <class T>
  double code_penalty(const T* q, T* dq, std::size_t n, std::size_t z, T grad_scale, Rng& rng) const {
    if (n < 2) return 0;
    const double c = 2.0 * static_cast<double>(z);
    std::vector<double> p(n * z);
    for (double& v : p) v = rng.normal();
    auto dist2 = [&](const auto* a, const auto* b) {
      double s = 0;
      for (std::size_t k = 0; k < z; ++k) s += (static_cast<double>(a[k]) - b[k]) * (static_cast<double>(a[k]) - b[k]);
      return s;
    };
    const double nn = static_cast<double>(n), pairs = nn * (nn - 1);
    double pp = 0, qq = 0, pq = 0;
    // ∂(returned)/∂q_i, returned = n · λ · MMD²: ∂k(a, b)/∂a = −2C (a − b) / (C + |a − b|²)².
    std::vector<double> g(n * z, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        if (i != j) {
          pp += c / (c + dist2(&p[i * z], &p[j * z]));
          const double dq2 = dist2(q + i * z, q + j * z);
          qq += c / (c + dq2);
          const double f = -2 * c / ((c + dq2) * (c + dq2)) * 2 / pairs;  // both (i, j) and (j, i)
          for (std::size_t k = 0; k < z; ++k) g[i * z + k] += f * (static_cast<double>(q[i * z + k]) - q[j * z + k]);
        }
        const double dpq = dist2(q + i * z, &p[j * z]);
        pq += c / (c + dpq);
        const double f = -2 * c / ((c + dpq) * (c + dpq)) * (-2 / (nn * nn));
        for (std::size_t k = 0; k < z; ++k) g[i * z + k] += f * (static_cast<double>(q[i * z + k]) - p[j * z + k]);
      }
    const double mmd = pp / pairs + qq / pairs - 2 * pq / (nn * nn);
    for (std::size_t i = 0; i < n * z; ++i)
      dq[i] += static_cast<T>(static_cast<double>(grad_scale) * nn * weight * g[i]);
    return nn * weight * mmd;
  }
};

// ---- a container -------------------------------------------------------------------------------------
// Three layers in a chain. Its backward ping-pongs the boundary gradients between two scratch buffers
// and copies the last into dx: layer A's input gradient overwrites the buffer that held layer B's dy.
// Correct on one thread; it does not opt in to deferred weight gradients, so a multi-threaded step does
// not let its children defer (a deferred dz of B would be overwritten before the step ends).
template <class A, class B, class C>
struct PingPong {
  static_assert(A::cache_size == 0 && B::cache_size == 0 && C::cache_size == 0 && A::scratch_size == 0 &&
                    B::scratch_size == 0 && C::scratch_size == 0,
                "PingPong holds cache-free layers");
  static constexpr const char* name = "PingPong";
  static constexpr std::size_t in_size = A::in_size, out_size = C::out_size;
  static constexpr std::size_t param_count = A::param_count + B::param_count + C::param_count;
  static constexpr std::size_t width = std::max({A::in_size, A::out_size, B::out_size});
  static constexpr std::size_t cache_size = A::out_size + B::out_size;  // the two inner outputs
  static constexpr std::size_t scratch_size = 2 * width;                // the two ping-pong buffers

  template <class T>
  static void init(T* p, Rng& rng) {
    A::init(p, rng);
    B::init(p + A::param_count, rng);
    C::init(p + A::param_count + B::param_count, rng);
  }
  template <class T>
  static void forward(const T* p, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    T* h1 = cache;
    T* h2 = cache + n * A::out_size;
    T* none = nullptr;  // cache-free children
    A::forward(p, x, h1, none, n, ctx);
    B::forward(p + A::param_count, h1, h2, none, n, ctx);
    C::forward(p + A::param_count + B::param_count, h2, y, none, n, ctx);
  }
  template <class T>
  static void backward(const T* p, const T* x, const T* y, const T* cache, T* dy, T* dx, T* dp, T* scratch,
                       std::size_t n, Context<T>& ctx) {
    const T* h1 = cache;
    const T* h2 = cache + n * A::out_size;
    T* ping = scratch;
    T* pong = scratch + n * width;
    const T* no_cache = nullptr;
    T* no_scratch = nullptr;
    C::backward(p + A::param_count + B::param_count, h2, y, no_cache, dy, ping, dp + A::param_count + B::param_count,
                no_scratch, n, ctx);
    B::backward(p + A::param_count, h1, h2, no_cache, ping, pong, dp + A::param_count, no_scratch, n, ctx);
    // Back to the first buffer: B's dy is no longer needed — unless B deferred its weight gradient.
    A::backward(p, x, h1, no_cache, pong, ping, dp, no_scratch, n, ctx);
    if (dx != nullptr)
      for (std::size_t i = 0; i < n * in_size; ++i) dx[i] = ping[i];
  }
};
// The same container claiming what it does not keep: on two threads its children defer, and B's dz is
// overwritten before the step ends. The thread check must catch it.
template <class A, class B, class C>
struct LyingPingPong : PingPong<A, B, C> {
  static constexpr const char* name = "LyingPingPong";
  static constexpr bool defers_weight_gradients = true;
};

// ---- broken layers: the checks must fail on them -----------------------------------------------------
// Affine with a bias gradient twice too large.
template <std::size_t N>
struct WrongBackward : Affine<N> {
  static constexpr const char* name = "WrongBackward";
  template <class T>
  static void backward(const T* params, const T* x, const T* y, const T* cache, T* dy, T* dx, T* dparams, T* s,
                       std::size_t n, Context<T>& ctx) {
    Affine<N>::backward(params, x, y, cache, dy, dx, dparams, s, n, ctx);
    for (std::size_t j = 0; j < N; ++j) dparams[N + j] *= T(2);
  }
};
// Affine that writes one value past the end of y.
template <std::size_t N>
struct WritesPastY : Affine<N> {
  static constexpr const char* name = "WritesPastY";
  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    Affine<N>::forward(params, x, y, cache, n, ctx);
    y[n * N] = T(0);
  }
};

}  // namespace user

using namespace latent;
namespace lt = latent::testing;

namespace {

// Data with structure: a two-dimensional manifold in `D` dimensions (smooth functions of two factors).
template <class T, std::size_t D>
xt::xtensor<T, 2> manifold(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<T, 2> x = xt::xtensor<T, 2>::from_shape({n, D});
  for (std::size_t r = 0; r < n; ++r) {
    const double a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    for (std::size_t j = 0; j < D; ++j)
      x(r, j) = static_cast<T>(0.5 * std::tanh(std::sin(0.7 * j + 1) * a + std::cos(1.3 * j) * b) +
                               0.05 * rng.uniform(-1, 1));
  }
  return x;
}

// Values in (0, 1): data for the likelihoods of the VAEs.
xt::xtensor<double, 2> probabilities(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({n, d});
  for (auto& v : x) v = 0.05 + 0.9 * rng.uniform();
  return x;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("latent-test-extension-" + std::to_string(std::random_device{}()) + "-" + name))
      .string();
}

struct AffineEnc : Seq<user::Affine<12>, Dense<12, 8, Tanh>, Dense<8, 2>> {};
struct RescaleEnc : Seq<user::Rescale<12>, Dense<12, 8, Tanh>, Dense<8, 2>> {};
struct SmallDec : Seq<Dense<2, 8, Tanh>, Dense<8, 12>> {};

}  // namespace

// ======================================================================================================
TEST_CASE("a user layer written to the documented protocol trains, saves, loads and resumes; another name refuses") {
  static_assert(Layer<user::Affine<12>>);
  static_assert(Layer<user::Affine<12>, double>);
  static_assert(!detail::defers_weight_gradients_v<user::Affine<12>>);
  CHECK(signature<user::Affine<12>>() == "Affine<12,12,24>");
  LATENT_CHECK_RESULT(lt::gradient_check<user::Affine<12>>());
  LATENT_CHECK_RESULT(lt::shape_check<user::Affine<12>>());
  LATENT_CHECK_RESULT(lt::shape_check<user::Affine<12>, double>());

  using Model = Autoencoder<AffineEnc, SmallDec, MSE>;
  const auto data = manifold<float, 12>(256, 1);
  Model model(3);
  Adam opt(1e-2);
  const History h = fit(model, data, opt, {.epochs = 15, .batch_size = 32, .progress = Progress::quiet});
  INFO("loss " << h.loss.front() << " -> " << h.loss.back());
  CHECK(h.loss.back() < 0.5 * h.loss.front());

  // Parameters and reconstructions identical after a load; the same sizes under another name refuse.
  using Other = Autoencoder<RescaleEnc, SmallDec, MSE>;
  CHECK(Model::architecture() != Other::architecture());
  LATENT_CHECK_RESULT(lt::save_load_check<Other>(model, data));

  // A checkpointed run stopped after 2 epochs and resumed ends bit-identical to a straight run.
  const std::string path = temp_path("checkpoint.bin");
  const FitOptions options{.epochs = 4, .batch_size = 32, .seed = 5, .progress = Progress::quiet};
  Model straight(1);
  Adam o1(1e-2);
  const History full = fit(straight, data, o1, options);
  Model first(1);
  Adam o2(1e-2);
  FitOptions part = options;
  part.epochs = 2;
  part.checkpoint = path;
  fit(first, data, o2, part);
  Model resumed(77);
  Adam o3(1e-2);
  FitOptions rest = options;
  rest.checkpoint = path;
  rest.resume = true;
  const History resumed_history = fit(resumed, data, o3, rest);
  CHECK(resumed_history.loss == full.loss);
  CHECK(std::equal(straight.parameters().begin(), straight.parameters().end(), resumed.parameters().begin()));
  // Another architecture refuses the checkpoint too.
  Other other(1);
  CHECK_THROWS_AS(load(other, path), format_error);
  std::filesystem::remove(path);
}

// ======================================================================================================
TEST_CASE("a user activation in a Dense and a user loss in an Autoencoder train and pass the gradient check") {
  static_assert(Activation<user::Softsign>);
  static_assert(Loss<user::L1>);
  static_assert(Loss<user::L1, double>);
  LATENT_CHECK_RESULT(lt::gradient_check<user::Softsign>());
  LATENT_CHECK_RESULT(lt::gradient_check<Dense<7, 13, user::Softsign>>());
  LATENT_CHECK_RESULT(lt::gradient_check<user::L1>());

  struct Enc : Seq<Dense<12, 8, user::Softsign>, Dense<8, 2>> {};
  struct Dec : Seq<Dense<2, 8, user::Softsign>, Dense<8, 12>> {};
  const auto data = manifold<float, 12>(256, 2);
  Autoencoder<Enc, Dec, user::L1> model(4);
  Adam opt(1e-2);
  const History h = fit(model, data, opt, {.epochs = 15, .batch_size = 32, .progress = Progress::quiet});
  INFO("loss " << h.loss.front() << " -> " << h.loss.back());
  CHECK(h.loss.back() < 0.6 * h.loss.front());

  // The whole model's gradient in double, L1 and Softsign included, against central differences.
  Autoencoder<Enc, Dec, user::L1, double> exact(4);
  const auto x = manifold<double, 12>(6, 3);
  LATENT_CHECK_RESULT(lt::gradient_check(exact, [&] { return exact.gradient(x.data(), 6); }));
}

// ======================================================================================================
namespace {
using PP = user::PingPong<Dense<6, 9, Tanh>, Dense<9, 7, user::Softsign>, Dense<7, 5, Identity>>;
using LyingPP = user::LyingPingPong<Dense<6, 9, Tanh>, Dense<9, 7, user::Softsign>, Dense<7, 5, Identity>>;
}  // namespace

TEST_CASE("a user container that reuses its buffers in backward, not opting in, is right on two threads") {
  REQUIRE(detail::thread_pool::instance().size() >= 2);
  static_assert(Layer<PP>);
  static_assert(!detail::defers_weight_gradients_v<PP>);
  LATENT_CHECK_RESULT(lt::gradient_check<PP>());  // right on one thread
  LATENT_CHECK_RESULT(lt::shape_check<PP>());
  // Two threads: the container's children do not defer (Context::deferred is hidden from it), as the
  // encoder's whole and inside a Seq. Before the contract hid it, this was off by up to 8e-3.
  LATENT_CHECK_RESULT(lt::thread_check<PP>());
  // The same code claiming to keep its buffers is caught by the same check.
  const lt::check_result lying = lt::thread_check<LyingPP>();
  INFO(lying.message());
  CHECK(!lying);
  CHECK(lying.worst_error > 1);
}

// ======================================================================================================
// Law: for every layer and every model kind, a training step's gradient on two threads equals the
// gradient on one, to float rounding (relative 1e-4 per component, plus 1e-6 of the largest one).
namespace {
using ChainSeq = Seq<Dense<7, 13, Tanh>, Dense<13, 5, Relu>, Dense<5, 9, Identity>>;
using NestedSeq = Seq<Seq<Dense<6, 11, Elu>, Dense<11, 4, Softplus>>, Dense<4, 10, LeakyRelu>,
                      Seq<Seq<Dense<10, 3, Sigmoid>>, user::Affine<3>>>;
using UserSeq = Seq<user::Affine<6>, PP, Dense<5, 7, user::Softsign>>;
}  // namespace

}  // namespace test_extension
TYPE_TO_STRING_AS("Dense<7, 13, user::Softsign>", test_extension::Dense<7, 13, test_extension::user::Softsign>);
TYPE_TO_STRING_AS("NestedSeq", test_extension::NestedSeq);
TYPE_TO_STRING_AS("UserSeq", test_extension::UserSeq);
TYPE_TO_STRING_AS("user::Affine<9>", test_extension::user::Affine<9>);
TYPE_TO_STRING_AS("PP", test_extension::PP);
namespace test_extension {

TEST_CASE_TEMPLATE("law: a layer's two-thread gradient equals its one-thread gradient", L, Dense<7, 13, Identity>,
                   Dense<7, 13, Relu>, Dense<7, 13, LeakyRelu>, Dense<7, 13, Sigmoid>, Dense<7, 13, Tanh>,
                   Dense<7, 13, Softplus>, Dense<7, 13, Elu>, Dense<7, 13, user::Softsign>, ChainSeq, NestedSeq,
                   UserSeq, user::Affine<9>, PP) {
  REQUIRE(detail::thread_pool::instance().size() >= 2);
  LATENT_CHECK_RESULT(lt::thread_check<L>());
}

namespace {
struct AEnc : Seq<Dense<9, 6, Tanh>, Dense<6, 4, Sigmoid>> {};
struct ADec : Seq<Dense<4, 6, Softplus>, Dense<6, 9, Identity>> {};
struct VEnc : Seq<Dense<9, 8, Tanh>, Seq<Dense<8, 6, Softplus>>, Gaussian<3>> {};
struct VDec : Seq<Dense<3, 7, Tanh>, Dense<7, 9, Identity>> {};
struct CEnc : Seq<Dense<12, 7, Tanh>, Gaussian<3>> {};  // 9 + 3 classes
struct CDec : Seq<Dense<6, 7, Tanh>, Dense<7, 9, Identity>> {};

constexpr std::size_t law_rows = 64;

// Models without training noise (or with it off): one thread against two, in float.
template <class Model>
lt::check_result one_against_two(Model model) {
  const auto x = manifold<float, Model::input_size>(law_rows, 11);
  return lt::thread_check(model, x.data(), law_rows);
}
// Models with training noise: each slice draws its own, so the two-thread gradient is another sample.
// Checked instead against central differences of the two-thread loss (noise reseeded for every
// evaluation, so the slices draw the same noise each time), in double.
template <class Model, class Step>
lt::check_result two_threads_against_differences(Model& model, Step&& step) {
  model.set_threads(2);
  return lt::gradient_check(model, step);
}

struct AutoencoderCase {
  static lt::check_result run() { return one_against_two(Autoencoder<AEnc, ADec, MSE>(1)); }
};
struct DenoisingNoiseOffCase {  // the noise off: the same (clean) input however the batch is split
  static lt::check_result run() {
    return one_against_two(DenoisingAutoencoder<AEnc, ADec, MSE>(2, {.gaussian_stddev = 0, .mask_fraction = 0}));
  }
};
struct DenoisingCase {  // the noise on: against differences
  static lt::check_result run() {
    DenoisingAutoencoder<AEnc, ADec, MSE, double> m(2, {.gaussian_stddev = 0.3, .mask_fraction = 0.2});
    const auto x = probabilities(7, 9, 1);
    return two_threads_against_differences(m, [&] { return m.gradient(x.data(), 7); });
  }
};
struct SparseCase {
  static lt::check_result run() {
    return one_against_two(SparseAutoencoder<AEnc, ADec, MSE>(3, {.l1 = 0.05, .target = 0.1, .kl_weight = 0.3}));
  }
};
struct ContractiveCase {
  static lt::check_result run() { return one_against_two(ContractiveAutoencoder<AEnc, ADec, MSE>(4, {.weight = 0.5})); }
};
struct VAECase {
  static lt::check_result run() {
    VAE<VEnc, VDec, Bernoulli, double> m(5);
    const auto x = probabilities(7, 9, 2);
    return two_threads_against_differences(m, [&] { return m.gradient(x.data(), 7); });
  }
};
struct IWAECase {
  static lt::check_result run() {
    IWAE<VEnc, VDec, 3, Bernoulli, double> m(6);
    const auto x = probabilities(7, 9, 3);
    return two_threads_against_differences(m, [&] { return m.gradient(x.data(), 7); });
  }
};
struct ConditionalVAECase {
  static lt::check_result run() {
    ConditionalVAE<CEnc, CDec, 3, Bernoulli, double> m(7);
    const auto x = probabilities(7, 9, 4);
    xt::xtensor<double, 2> c = xt::zeros<double>({7, 3});
    for (std::size_t r = 0; r < 7; ++r) c(r, r % 3) = 1;
    return two_threads_against_differences(m, [&] { return m.gradient(x.data(), c.data(), 7); });
  }
};
// MMD is a penalty over the whole batch: the regulariser does not declare itself splittable, so the
// model does not split its step and the law holds by construction; the prior draws come from the
// step's generator, so the gradient is also checked against differences (noise reseeded).
struct RegularisedMMDCase {
  static lt::check_result run() {
    RegularisedAutoencoder<AEnc, ADec, user::MMD> f(8, {.weight = 2.0});
    lt::check_result r = one_against_two(f);
    if (!r) return r;
    RegularisedAutoencoder<AEnc, ADec, user::MMD, MSE, double> m(8, {.weight = 2.0});
    const auto x = probabilities(7, 9, 5);
    return two_threads_against_differences(m, [&] { return m.gradient(x.data(), 7); });
  }
};
}  // namespace

}  // namespace test_extension
TYPE_TO_STRING_AS("AutoencoderCase", test_extension::AutoencoderCase);
TYPE_TO_STRING_AS("DenoisingNoiseOffCase", test_extension::DenoisingNoiseOffCase);
TYPE_TO_STRING_AS("DenoisingCase", test_extension::DenoisingCase);
TYPE_TO_STRING_AS("SparseCase", test_extension::SparseCase);
TYPE_TO_STRING_AS("ContractiveCase", test_extension::ContractiveCase);
TYPE_TO_STRING_AS("VAECase", test_extension::VAECase);
TYPE_TO_STRING_AS("IWAECase", test_extension::IWAECase);
TYPE_TO_STRING_AS("ConditionalVAECase", test_extension::ConditionalVAECase);
TYPE_TO_STRING_AS("RegularisedMMDCase", test_extension::RegularisedMMDCase);
namespace test_extension {

TEST_CASE_TEMPLATE("law: every model kind's two-thread gradient is right (one thread, or differences with noise)", Case,
                   AutoencoderCase, DenoisingNoiseOffCase, DenoisingCase, SparseCase, ContractiveCase, VAECase,
                   IWAECase, ConditionalVAECase, RegularisedMMDCase) {
  REQUIRE(detail::thread_pool::instance().size() >= 2);
  LATENT_CHECK_RESULT(Case::run());
}

TEST_CASE("a user regulariser that draws from the step's generator trains through RegularisedAutoencoder") {
  struct Enc : Seq<Dense<12, 8, Tanh>, Dense<8, 2>> {};
  const auto data = manifold<float, 12>(256, 6);
  RegularisedAutoencoder<Enc, SmallDec, user::MMD> model(9, {.weight = 1.0});
  CHECK(decltype(model)::architecture().find("MMD") != std::string::npos);
  Adam opt(1e-2);
  const History h = fit(model, data, opt, {.epochs = 15, .batch_size = 32, .progress = Progress::quiet});
  INFO("loss " << h.loss.front() << " -> " << h.loss.back());
  CHECK(h.loss.back() < 0.6 * h.loss.front());
  // The same seed gives the same draws, so the same penalty.
  RegularisedAutoencoder<Enc, SmallDec, user::MMD> a(9), b(9);
  CHECK(a.gradient(data.data(), 32) == b.gradient(data.data(), 32));
  LATENT_CHECK_RESULT(lt::save_load_check(model, data));
}

// ======================================================================================================
TEST_CASE("the latent::testing checks fail on broken layers, saying what was expected and found") {
  const lt::check_result wrong = lt::gradient_check<user::WrongBackward<4>>();
  CHECK(!wrong);
  CHECK(wrong.failed == 4);  // the four bias gradients; the scale and input gradients are right
  CHECK(wrong.worst_error > 1e3);
  CHECK(wrong.message().find("dparams[4]") != std::string::npos);
  CHECK(wrong.message().find("expected") != std::string::npos);

  const lt::check_result past = lt::shape_check<user::WritesPastY<4>>();
  CHECK(!past);
  CHECK(past.message().find("past the end") != std::string::npos);
  CHECK(past.message().find("forward") != std::string::npos);
  // The right layer passes both.
  CHECK(static_cast<bool>(lt::gradient_check<user::Affine<4>>()));
  CHECK(static_cast<bool>(lt::shape_check<user::Affine<4>>()));
  // An empty check proves nothing and does not pass.
  CHECK(!lt::check_result("nothing"));
}
}  // namespace test_extension
