#pragma once
// The libtorch peer for the VAE workload (PyTorch's examples/vae). Declared without torch headers.

#include <cstddef>  // std::size_t

namespace latent::bench {

/// One training epoch of the examples/vae model with libtorch on `data` (n rows of 784 floats in
/// [0, 1]): encoder 784-400 ReLU -> (mu, logvar) 400-20 each, z = mu + exp(logvar/2) * eps, decoder
/// 20-400 ReLU -> 400-784 logits; loss = BCE-with-logits summed over pixels + KL(q || N(0, I)) summed
/// over latent dims, averaged over the batch; Adam(lr 1e-3). Shuffled, last partial batch kept, at
/// `threads` intra-op threads. A fresh model (torch::manual_seed(1), PyTorch's default init) per call.
/// Returns the epoch's mean loss per sample.
double run_vae_epoch_torch(const float* data, std::size_t n, int batch, int threads);

}  // namespace latent::bench
