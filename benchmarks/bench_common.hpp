#pragma once
// What bench_peers and bench_latent share: the seed data, the Fashion-MNIST path and the training
// counters (so that report.py reads every row the same way).

#include "peers/common.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>  // std::getenv
#include <string>   // std::string
#include <vector>   // std::vector

#ifndef LATENT_FASHION_MNIST_DIR
#define LATENT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#endif

namespace latent::bench {

inline constexpr int seed_epochs = 100;
inline constexpr std::uint64_t seed_init = 1;
inline constexpr int vae_batch = 128;

inline const std::vector<float>& seed_data() {
  static const std::vector<float> data = make_seed_data(seed_rows, seed_sizes[0], seed_data_seed);
  return data;
}

/// Fashion-MNIST's directory; LATENT_FASHION_MNIST_DIR (environment) overrides the configured path.
inline std::string fashion_mnist_dir() {
  const char* dir = std::getenv("LATENT_FASHION_MNIST_DIR");
  return dir != nullptr ? dir : LATENT_FASHION_MNIST_DIR;
}
inline std::string fashion_mnist_path() { return fashion_mnist_dir() + "/train-images-idx3-ubyte.gz"; }

/// Counters shared by the training benchmarks. With kInvert a rate becomes "seconds per unit"; a unit
/// of 1e-6 steps makes it microseconds per step.
inline void set_training_counters(benchmark::State& state, double steps, double flops, double loss) {
  state.counters["us_per_step"] =
      benchmark::Counter(steps * 1e-6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["steps"] = steps;
  state.counters["final_loss"] = loss;
}

inline void seed_counters(benchmark::State& state, double loss) {
  const double steps = seed_epochs * static_cast<double>(steps_per_epoch(seed_rows, seed_batch));
  set_training_counters(state, steps, seed_epochs * seed_rows * seed_flops_per_sample, loss);
}

}  // namespace latent::bench
