#pragma once
// The libtorch peer for the convolutional VAE workload (issue #11: Keras's conv VAE on Fashion-MNIST).
// Declared without torch headers, so that bench_peers.cpp never sees libtorch's includes.

#include <cstddef>  // std::size_t
#include <memory>   // std::unique_ptr

namespace latent::bench {

/// The conv VAE trained with libtorch, one Adam step at a time (the benchmark times a fixed number of
/// steps, not an epoch). The model, in PyTorch terms (benchmarks/conv_vae_pytorch.py is its twin):
///   encoder  Conv2d(1,32,3,stride 2,pad 1) ReLU -> Conv2d(32,64,3,s2,p1) ReLU -> flatten 3136 ->
///            Linear(3136,16) ReLU -> Linear(16,16) mu, Linear(16,16) logvar
///   decoder  Linear(16,3136) ReLU -> view(64,7,7) -> ConvTranspose2d(64,64,3,s2,p1,output_padding 1) ReLU
///            -> ConvTranspose2d(64,32,3,s2,p1,op1) ReLU -> ConvTranspose2d(32,1,3,s1,p1) logits
/// 178 545 parameters (checked at construction). Loss: BCE-with-logits summed over the 784 pixels +
/// KL(q || N(0, I)) summed over the 16 code dims, averaged over the batch; z = mu + exp(logvar/2) * eps;
/// Adam(lr 1e-3).
class conv_vae_torch {
 public:
  /// A fresh model: torch::manual_seed(1), then PyTorch's default init (modules created in the Python
  /// twin's order, so both draw the same weights), Adam(lr 1e-3). `data` is n rows of 784 floats in
  /// [0, 1], not copied (it must outlive the object). ATen's pool runs `threads` threads, OpenBLAS one.
  conv_vae_torch(const float* data, std::size_t n, int threads);
  ~conv_vae_torch();
  conv_vae_torch(const conv_vae_torch&) = delete;
  conv_vae_torch& operator=(const conv_vae_torch&) = delete;

  /// One training step on rows [first, first + rows) of the data; returns that batch's mean loss
  /// (the -ELBO estimate per image, before the step).
  double step(std::size_t first, std::size_t rows);

  /// The model's parameter count (178 545).
  [[nodiscard]] std::size_t parameter_count() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace latent::bench
