#pragma once
// The libtorch peer for the seed workload. Declared without torch headers so that callers (the
// benchmark binary) compile with the project's warnings and never see libtorch's includes.

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t

namespace latent::bench {

/// Trains the seed autoencoder with libtorch (torch::nn::Linear, torch::optim::Adam with eps 1e-7) at
/// one intra-op thread on `data` (n rows of 100 floats) for `epochs` epochs: batch 32, last partial
/// batch kept, reshuffled every epoch. Weights, data order and maths are those of
/// run_seed_handwritten. Returns the last epoch's mean loss.
double run_seed_torch(const float* data, std::size_t n, int epochs, std::uint64_t seed);

}  // namespace latent::bench
