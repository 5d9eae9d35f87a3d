// Forward + backward of each convolution of the conv VAE at batch 128, one layer at a time: for A/B
// runs of two commits' headers (not built by CMake):
//   g++ -std=c++20 -O3 -DNDEBUG -mavx2 -mfma [-mavx512f -mavx512cd -mavx512vl -mavx512bw -mavx512dq]
//       -Iinclude benchmarks/ab/conv_layers.cpp -o /tmp/conv_layers -lpng -lz -lpthread   (one command;
//       -I<old>/include with `git archive <commit> include | tar -x -C <old>` for the other side)
//   /tmp/conv_layers          per layer: ms per forward + backward (median of 7 timings of 5
//                             repetitions), then the parts, best of 7 × 10: forward, backward without
//                             dX, and what dX adds (µs); CONV_BATCH=8 keeps a layer's data in cache
//   /tmp/conv_layers N        layer N (0–4) once, untimed: for callgrind (less the count of `conv_layers -1`)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <latent/latent.hpp>
#include <vector>
using namespace latent;
using namespace latent::detail;
int only = -2, current = -1;
template <class L>
void layer(const char* name) {
  ++current;
  if (only != -2 && current != only) return;
  const std::size_t n = std::getenv("CONV_BATCH") ? std::strtoul(std::getenv("CONV_BATCH"), nullptr, 10) : 128;
  std::vector<float> p(L::param_count), x(n * L::in_size), y(n * L::out_size), dy(n * L::out_size), dx(n * L::in_size),
      dp(L::param_count);
  unsigned s = 1;
  auto rnd = [&] {
    s = s * 1664525u + 1013904223u;
    return float((s >> 8) % 2001) / 1000.f - 1.f;
  };
  for (auto& v : p) v = 0.1f * rnd();
  for (auto& v : x) v = rnd();
  Context<float> ctx;
  auto step = [&] {
    L::forward(p.data(), x.data(), y.data(), static_cast<float*>(nullptr), n, ctx);
    for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 0.01f * float(i % 7);
    L::backward(p.data(), x.data(), y.data(), static_cast<const float*>(nullptr), dy.data(), dx.data(), dp.data(),
                static_cast<float*>(nullptr), n, ctx);
  };
  step();
  if (only != -2) return;
  std::vector<double> t;
  for (int k = 0; k < 7; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < 5; ++r) step();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 5 * 1e3);
  }
  std::sort(t.begin(), t.end());
  std::printf("%-34s %7.2f ms  (%.1f GFLOP/s)\n", name, t[3], 3 * L::forward_flops * n / t[3] * 1e-6);
  auto best = [](auto&& f) {
    f();
    double b = 1e9;
    for (int k = 0; k < 7; ++k) {
      auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < 10; ++r) f();
      b = std::min(b, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 10);
    }
    return b * 1e6;
  };
  float* none = nullptr;
  const double fw = best([&] { L::forward(p.data(), x.data(), y.data(), none, n, ctx); });
  const double b0 =
      best([&] { L::backward(p.data(), x.data(), y.data(), none, dy.data(), none, dp.data(), none, n, ctx); });
  const double b1 =
      best([&] { L::backward(p.data(), x.data(), y.data(), none, dy.data(), dx.data(), dp.data(), none, n, ctx); });
  std::printf("%-34s   forward %.0f us, backward without dX %.0f us, dX adds %.0f us\n", "", fw, b0, b1 - b0);
}
int main(int argc, char** argv) {
  if (argc > 1) only = std::atoi(argv[1]);
  layer<conv2d_layer<shape<1, 28, 28>, 32, 3, 2, Same, Relu>>("Conv2D 1->32 (28->14)");
  layer<conv2d_layer<shape<32, 14, 14>, 64, 3, 2, Same, Relu>>("Conv2D 32->64 (14->7)");
  layer<conv_transpose2d_layer<shape<64, 7, 7>, 64, 3, 2, Same, Relu>>("ConvTranspose2D 64->64 (7->14)");
  layer<conv_transpose2d_layer<shape<64, 14, 14>, 32, 3, 2, Same, Relu>>("ConvTranspose2D 64->32 (14->28)");
  layer<conv_transpose2d_layer<shape<32, 28, 28>, 1, 3, 1, Same, Identity>>("ConvTranspose2D 32->1 (28->28)");
}
