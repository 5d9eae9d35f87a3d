// Forward + backward of three Dense layers at batch 128 (GFLOP/s, best of 7 timings of 50 steps): the
// A/B of a kernel change against older headers (README, Speed). Not built by CMake. For an A/B, build it
// twice, against `git archive <old> include` unpacked in /tmp/old and against this tree, and run the
// two binaries in turn:
//   g++ -std=c++20 -O3 -DNDEBUG -mavx2 -mfma -mavx512f -mavx512cd -mavx512vl -mavx512bw -mavx512dq
//       -DLATENT_AVX512_HALF_RATE -Iinclude benchmarks/ab/dense_layer.cpp -o /tmp/dense_new   (one command)
#include <chrono>
#include <cstdio>
#include <latent/latent.hpp>
#include <vector>
using namespace latent;
template <std::size_t In, std::size_t Out>
double run() {
  using L = Dense<In, Out, Relu>;
  constexpr std::size_t B = 128;
  std::vector<float> p(L::param_count), g(L::param_count), x(B * In), y(B * Out), dy(B * Out), dx(B * In);
  Rng rng(1);
  L::init(p.data(), rng);
  for (auto& v : x) v = float(rng.uniform());
  Context<float> ctx;
  float* none = nullptr;
  auto step = [&] {
    L::forward(p.data(), x.data(), y.data(), none, B, ctx);
    for (std::size_t i = 0; i < B * Out; ++i) dy[i] = y[i] - 0.5f;
    L::backward(p.data(), x.data(), y.data(), none, dy.data(), dx.data(), g.data(), none, B, ctx);
  };
  step();
  double best = 1e9;
  for (int k = 0; k < 7; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < 50; ++r) step();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 50);
  }
  return 6.0 * B * In * Out / best * 1e-9;
}
int main() {
  std::printf("784x400 %.1f  400x784 %.1f  20x400 %.1f\n", run<784, 400>(), run<400, 784>(), run<20, 400>());
}
