#pragma once
// The libtorch peer for the ResNet VAE workload (issue #23: examples/resnet_vae_fashion_mnist.cpp).
// Declared without torch headers, so that bench_peers.cpp never sees libtorch's includes.

#include <cstddef>  // std::size_t
#include <memory>   // std::unique_ptr

namespace latent::bench {

/// The ResNet VAE trained with libtorch, one Adam step at a time (the benchmark times a fixed number of
/// steps, as the conv VAE's). The model, in PyTorch terms (benchmarks/resnet_vae_pytorch.py is its twin
/// and numbers the layers as latent does):
///   encoder  Conv2d(1,32,3,s2,p1) BatchNorm2d ReLU -> Conv2d(32,64,3,s2,p1) BatchNorm2d ReLU ->
///            ResBlock(64) -> flatten 3136 -> Linear(3136, 32) = [mu (16) | logvar (16)]
///   decoder  Linear(16,3136) -> view(64,7,7) -> ResBlock(64) -> ConvTranspose2d(64,32,3,s2,p1,op1)
///            BatchNorm2d ReLU -> ConvTranspose2d(32,1,3,s2,p1,op1) logits
///   ResBlock(C): x + [GroupNorm(8,C) SiLU Conv2d(C,C,3,p1) GroupNorm(8,C) SiLU Conv2d(C,C,3,p1)](x)
/// 339 745 parameters (checked at construction); BatchNorm momentum 0.1, eps 1e-5; GroupNorm eps 1e-5.
/// Loss: BCE-with-logits summed over the 784 pixels + KL(q || N(0, I)) summed over the 16 code dims,
/// averaged over the batch; z = mu + exp(logvar/2) * eps; Adam(1e-3, (0.9, 0.999), 1e-8); train mode.
class resnet_vae_torch {
 public:
  /// A fresh model: torch::manual_seed(1), then PyTorch's default init (modules created in the Python
  /// twin's order, so both draw the same weights). `data` is n rows of 784 floats in [0, 1], not copied
  /// (it must outlive the object). ATen's pool runs `threads` threads, OpenBLAS one.
  resnet_vae_torch(const float* data, std::size_t n, int threads);
  ~resnet_vae_torch();
  resnet_vae_torch(const resnet_vae_torch&) = delete;
  resnet_vae_torch& operator=(const resnet_vae_torch&) = delete;

  /// One training step on rows [first, first + rows) of the data; returns that batch's mean loss
  /// (the -ELBO estimate per image, before the step).
  double step(std::size_t first, std::size_t rows);

  /// The model's parameter count (339 745).
  [[nodiscard]] std::size_t parameter_count() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace latent::bench
