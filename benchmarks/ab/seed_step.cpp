// Seed-model training steps timed in one process: benchmarks/ab/run.sh builds it against two commits.
#include <chrono>
#include <cstdio>
#include <latent/latent.hpp>
using namespace latent;
struct Enc : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct Dec : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
int main() {
  Rng r(1);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({1024, 100});
  for (auto& v : x) v = static_cast<float>(r.normal());
  Autoencoder<Enc, Dec, MSE> m(42);
  Adam opt(1e-3f);
  double s = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) s += m.train_batch(x.data() + (i % 32) * 32 * 100, 32, opt);
  auto t1 = std::chrono::steady_clock::now();
  std::printf("%.3f us/step %g\n", std::chrono::duration<double, std::micro>(t1 - t0).count() / 20000, s);
}
