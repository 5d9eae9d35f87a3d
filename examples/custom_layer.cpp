// Extending latent: a user layer (LayerNorm), a user activation (Softsign), a user loss (L1) and a user
// regulariser that draws random numbers (the MMD penalty of a Wasserstein autoencoder), each written to
// the documented contract, checked with latent::testing, trained on the built-in shapes images through
// RegularisedAutoencoder, saved and reloaded.
//
//     custom_layer [--epochs N]     (default 3; exits non-zero if a check fails)
#include <latent/latent.hpp>
#include <latent/testing/testing.hpp>  // not part of latent.hpp: a testing aid

#include <cmath>    // std::sqrt, std::abs
#include <cstddef>  // std::size_t
#include <cstdio>   // std::printf
#include <cstdlib>  // std::strtoul
#include <cstring>  // std::strcmp
#include <vector>   // std::vector: the MMD's prior draws and gradient

namespace user {

using latent::Context;
using latent::Rng;

// ---- a layer -------------------------------------------------------------------------------------------
// Layer normalisation over a sample's N features with a learned gain γ and bias β:
// y = γ ⊙ x̂ + β, x̂ = (x − mean) / sqrt(var + ε). Parameters [γ (N) | β (N)]; the cache keeps x̂ and
// 1/sqrt(var + ε) per sample, what backward needs. It names itself (saved files record "LayerNorm"),
// and does not opt in to deferred weight gradients: nothing to gain, and correct on any thread count.
template <std::size_t N>
struct LayerNorm {
  static constexpr const char* name = "LayerNorm";
  static constexpr std::size_t in_size = N, out_size = N, param_count = 2 * N;
  static constexpr std::size_t cache_size = N + 1, scratch_size = 0;
  static constexpr double epsilon = 1e-5;

  template <class T>
  static void init(T* params, Rng&) {
    for (std::size_t j = 0; j < N; ++j) params[j] = T(1), params[N + j] = T(0);
  }
  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>&) {
    for (std::size_t r = 0; r < n; ++r) {
      const T* xr = x + r * N;
      T* xhat = cache + r * (N + 1);
      double mean = 0, var = 0;
      for (std::size_t j = 0; j < N; ++j) mean += xr[j];
      mean /= N;
      for (std::size_t j = 0; j < N; ++j) var += (xr[j] - mean) * (xr[j] - mean);
      const double inv = 1 / std::sqrt(var / N + epsilon);
      for (std::size_t j = 0; j < N; ++j) {
        xhat[j] = static_cast<T>((xr[j] - mean) * inv);
        y[r * N + j] = params[j] * xhat[j] + params[N + j];
      }
      xhat[N] = static_cast<T>(inv);
    }
  }
  // dγ = Σ dy ⊙ x̂, dβ = Σ dy; with g = dy ⊙ γ: dx = inv · (g − mean(g) − x̂ · mean(g ⊙ x̂)).
  template <class T>
  static void backward(const T* params, const T*, const T*, const T* cache, T* dy, T* dx, T* dparams, T*, std::size_t n,
                       Context<T>&) {
    for (std::size_t j = 0; j < 2 * N; ++j) dparams[j] = T(0);
    for (std::size_t r = 0; r < n; ++r) {
      const T* xhat = cache + r * (N + 1);
      const T* d = dy + r * N;
      double mean_g = 0, mean_gx = 0;
      for (std::size_t j = 0; j < N; ++j) {
        dparams[j] += d[j] * xhat[j];
        dparams[N + j] += d[j];
        mean_g += d[j] * params[j];
        mean_gx += d[j] * params[j] * xhat[j];
      }
      if (dx == nullptr) continue;  // the first layer of a model needs no input gradient
      mean_g /= N;
      mean_gx /= N;
      for (std::size_t j = 0; j < N; ++j)
        dx[r * N + j] = static_cast<T>(xhat[N] * (d[j] * params[j] - mean_g - xhat[j] * mean_gx));
    }
  }
};

// ---- an activation -------------------------------------------------------------------------------------
// Softsign, f(z) = z / (1 + |z|), with f' = (1 − |y|)² in terms of the output y. Written once with
// latent::kernels::math, it runs on float, double and their SIMD registers (what Dense calls).
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

// ---- a loss --------------------------------------------------------------------------------------------
// Mean absolute error over a sample's d values (its slope at p = t taken as 0).
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
  static void to_mean(T*, std::size_t) {}  // the decoder's output is the reconstruction
};

// ---- a regulariser that needs random draws ---------------------------------------------------------------
// The MMD penalty of a Wasserstein autoencoder (Tolstikhin et al.): λ · MMD²(codes, draws from N(0, I)),
// unbiased, with the inverse multiquadratic kernel k(a, b) = C / (C + |a − b|²), C = 2z. The draws come
// from the step's generator, so a run is reproducible from its seed. It couples the batch's codes, so
// it does not declare itself splittable: the model does not split its step over threads.
struct MMD {
  static constexpr const char* name = "MMD";
  double weight = 1.0;

  template <class T>
  double code_penalty(const T* q, T* dq, std::size_t n, std::size_t z, T grad_scale, Rng& rng) const {
    if (n < 2) return 0;
    const double c = 2.0 * static_cast<double>(z), nn = static_cast<double>(n), pairs = nn * (nn - 1);
    std::vector<double> p(n * z), g(n * z, 0.0);
    for (double& v : p) v = rng.normal();
    auto dist2 = [z](const auto* a, const auto* b) {
      double s = 0;
      for (std::size_t k = 0; k < z; ++k) s += (static_cast<double>(a[k]) - b[k]) * (static_cast<double>(a[k]) - b[k]);
      return s;
    };
    double pp = 0, qq = 0, pq = 0;
    // ∂k(a, b)/∂a = −2C (a − b) / (C + |a − b|²)², collected into g = ∂MMD²/∂q.
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        if (i != j) {
          pp += c / (c + dist2(&p[i * z], &p[j * z]));
          const double d2 = dist2(q + i * z, q + j * z);
          qq += c / (c + d2);
          const double f = -2 * c / ((c + d2) * (c + d2)) * 2 / pairs;  // the pair appears as (i, j) and (j, i)
          for (std::size_t k = 0; k < z; ++k) g[i * z + k] += f * (static_cast<double>(q[i * z + k]) - q[j * z + k]);
        }
        const double d2 = dist2(q + i * z, &p[j * z]);
        pq += c / (c + d2);
        const double f = -2 * c / ((c + d2) * (c + d2)) * (-2 / (nn * nn));
        for (std::size_t k = 0; k < z; ++k) g[i * z + k] += f * (static_cast<double>(q[i * z + k]) - p[j * z + k]);
      }
    // The hook returns the penalty summed over the rows (n · λ · MMD², so that /n is its part of the
    // batch-mean loss) and adds grad_scale times its gradient to dq.
    for (std::size_t i = 0; i < n * z; ++i)
      dq[i] += static_cast<T>(static_cast<double>(grad_scale) * nn * weight * g[i]);
    return nn * weight * (pp / pairs + qq / pairs - 2 * pq / (nn * nn));
  }
};

}  // namespace user

using namespace latent;

struct Encoder : Seq<Dense<784, 64, user::Softsign>, user::LayerNorm<64>, Dense<64, 8>> {};
struct Decoder : Seq<Dense<8, 64, user::Softsign>, Dense<64, 784, Sigmoid>> {};
using Model = RegularisedAutoencoder<Encoder, Decoder, user::MMD, user::L1>;

int main(int argc, char** argv) {
  std::size_t epochs = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
      epochs = std::strtoul(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: custom_layer [--epochs N]\n  expected --epochs N, found '%s'\n", argv[i]);
      return 2;
    }
  }
  int failures = 0;
  auto report = [&failures](const testing::check_result& r) {
    std::printf("%s\n", r.message().c_str());
    if (!r) ++failures;
  };

  // The user's parts, checked on their own.
  report(testing::gradient_check<user::LayerNorm<16>>());
  report(testing::shape_check<user::LayerNorm<16>>());
  report(testing::thread_check<user::LayerNorm<16>>());
  report(testing::gradient_check<user::Softsign>());
  report(testing::gradient_check<Dense<7, 5, user::Softsign>>());
  report(testing::gradient_check<user::L1>());
  {
    // The whole objective — L1, Softsign, LayerNorm and the MMD penalty with its draws held fixed — in
    // double against central differences.
    struct SmallEnc : Seq<Dense<10, 6, user::Softsign>, user::LayerNorm<6>, Dense<6, 3>> {};
    struct SmallDec : Seq<Dense<3, 6, user::Softsign>, Dense<6, 10, Sigmoid>> {};
    RegularisedAutoencoder<SmallEnc, SmallDec, user::MMD, user::L1, double> small(1, {.weight = 2.0});
    xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({8, 10});
    Rng rng(2);
    for (auto& v : x) v = rng.uniform(0.1, 0.9);
    report(testing::gradient_check(small, [&] { return small.gradient(x.data(), 8); }));
  }

  // Training: a Wasserstein autoencoder with an L1 reconstruction loss on the shapes images.
  const auto [train, test] = make_shapes_split(2000, 500, 1);
  Model model(7, {.weight = 1.0});
  Adam opt(2e-3);
  const double before = model.loss(test.x);
  const History h = fit(model, train.x, opt, {.epochs = epochs, .batch_size = 64, .progress = Progress::quiet});
  std::printf("%s\n", Model::architecture().c_str());
  std::printf("test L1 before training: %.5f\n", before);
  for (std::size_t e = 0; e < h.loss.size(); ++e)
    std::printf("epoch %zu: training loss (L1 + MMD) %.5f\n", e + 1, h.loss[e]);
  const double after = model.loss(test.x);
  std::printf("test L1 after %zu epochs: %.5f\n", epochs, after);
  if (epochs > 0 && !(after < before)) {
    std::printf("FAILED: expected the test loss to go down, found %.5f -> %.5f\n", before, after);
    ++failures;
  }

  // Saved and reloaded: the same parameters and reconstructions; an MSE model refuses the file.
  report(testing::save_load_check<RegularisedAutoencoder<Encoder, Decoder, user::MMD>>(model, test.x));

  if (failures == 0)
    std::printf("all checks passed\n");
  else
    std::printf("%d checks FAILED\n", failures);
  return failures == 0 ? 0 : 1;
}
