// The Keras seed model trained through `fit` (1000 × 100, 100 epochs, batch 32, Adam, one thread):
// best of 5 runs in ms, for A/B runs of two commits' headers (not built by CMake), e.g.
//   git archive <commit> include | tar -x -C /tmp/old
//   g++ -std=gnu++20 -O3 -DNDEBUG -mavx2 -mfma [AVX-512 flags] -I/tmp/old/include benchmarks/ab/seed_fit.cpp \
//       -o /tmp/seed_fit_old -lpng -lz -lpthread       (and -Iinclude for the work tree), then alternate them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <latent/latent.hpp>
using namespace latent;
struct Enc : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct Dec : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
int main() {
  Rng r(1);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({1000, 100});
  for (auto& v : x) v = static_cast<float>(r.uniform());
  double best = 1e9, loss = 0;
  for (int k = 0; k < 5; ++k) {
    Autoencoder<Enc, Dec, MSE> m(42);
    Adam opt;
    const auto t0 = std::chrono::steady_clock::now();
    const History h =
        fit(m, x, opt, {.epochs = 100, .batch_size = 32, .seed = 7, .progress = Progress::quiet, .threads = 1});
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    loss = h.loss.back();
  }
  std::printf("%.2f ms %g\n", best, loss);
}
