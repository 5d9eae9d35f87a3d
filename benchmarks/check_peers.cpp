// Correctness of the peers (not timing): the hand-written loop learns, and it computes what libtorch
// computes -- same data, same initial weights, same batch order, so the final losses agree to float
// rounding. Exit status 0 on success; registered as a ctest when testing is enabled.

#include "peers/common.hpp"
#include "peers/seed_handwritten.hpp"
#ifdef LATENT_HAVE_TORCH
#include "peers/seed_torch.hpp"
#endif

#include <cmath>   // std::abs
#include <cstdio>  // std::printf

int main() {
  namespace lb = latent::bench;
  const auto data = lb::make_seed_data(lb::seed_rows, lb::seed_sizes[0], lb::seed_data_seed);
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    failures += ok ? 0 : 1;
  };

  const double first = lb::run_seed_handwritten(data.data(), lb::seed_rows, 1, 1);
  const double last = lb::run_seed_handwritten(data.data(), lb::seed_rows, 100, 1);
  std::printf("hand-written: epoch 1 loss %.6f, epoch 100 loss %.6f\n", first, last);
  check(last < first - 0.1, "the hand-written loop learns (loss drops by more than 0.1 over 100 epochs)");
  check(lb::run_seed_handwritten(data.data(), lb::seed_rows, 100, 1) == last, "the hand-written loop is deterministic");

#ifdef LATENT_HAVE_TORCH
  const double torch_last = lb::run_seed_torch(data.data(), lb::seed_rows, 100, 1);
  std::printf("libtorch: epoch 100 loss %.6f\n", torch_last);
  check(std::abs(torch_last - last) < 1e-4 * last, "hand-written and libtorch losses agree to 1e-4 (relative)");
#endif
  return failures == 0 ? 0 : 1;
}
