#pragma once
// The VQ-VAE reference recipe of issue #25 (item 6): pythae's MNIST VQ-VAE configuration (256 codes of
// 16 values, β 0.25, EMA decay 0.99, Adam 1e-3, batch 100) on Fashion-MNIST, with a small conv encoder to
// a 7 × 7 grid of 16 channels and a matching decoder. benchmarks/vq_recipe.cpp trains it (the full
// 10-epoch recipe), bench_latent_vq.cpp times its steps and its distance product, and
// benchmarks/vq_pytorch.py is the same model in PyTorch:
//
//   encoder  Conv2d(1,32,3,s2,p1) ReLU -> Conv2d(32,64,3,s2,p1) ReLU -> Conv2d(64,16,1)   (16 × 7 × 7)
//   quantise each of the 49 positions: the nearest of 256 codes of 16 values (EMA codebook)
//   decoder  ConvT(16,64,3,s2,p1,op1) ReLU -> ConvT(64,32,3,s2,p1,op1) ReLU -> ConvT(32,1,3,s1,p1) Sigmoid
//   loss     MSE (mean over the 784 pixels) + 0.25 · commitment (mean over the 49 × 16 code values),
//            averaged over the batch                                              (47 889 parameters)

#include <latent/latent.hpp>
#include <latent/layers/vector_quantizer.hpp>
#include <latent/models/vq_vae.hpp>

#include <array>    // std::array
#include <cstddef>  // std::size_t

namespace latent::bench {

inline constexpr std::size_t vq_codes = 256, vq_dim = 16, vq_side = 7, vq_positions = vq_side * vq_side;
inline constexpr std::size_t vq_batch = 100;  // pythae's MNIST base_training_config.json
inline constexpr double vq_lr = 1e-3;         // idem
inline constexpr std::size_t vq_parameters = 47'889;
/// The timing rows (bench_latent_vq.cpp, vq_pytorch.py --bench-steps): untimed and timed steps.
inline constexpr std::size_t vq_warmup_steps = 3, vq_bench_steps = 20;

/// pythae's EMA codebook (decay 0.99, ε 1e-5) with latent's dead-code restarts below τ = 1.
struct VqRestarts : VQEMASettings {
  static constexpr double restart_below = 1.0;
};

template <class S>
struct VqEncoder : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Same, Relu>, Conv2D<64, 3, 2, Same, Relu>,
                       Conv2D<vq_dim, 1, 1, Valid, Identity>, VectorQuantizerWith<vq_codes, vq_dim, S>> {};
struct VqDecoder : Seq<Reshape<vq_dim, vq_side, vq_side>, ConvTranspose2D<64, 3, 2, Same, Relu>,
                       ConvTranspose2D<32, 3, 2, Same, Relu>, ConvTranspose2D<1, 3, 1, Same, Sigmoid>> {};
/// S = VqRestarts (latent's recipe) or VQEMASettings (pythae's, no restarts).
template <class S>
using VqModel = VQVAE<VqEncoder<S>, VqDecoder, MSE>;

/// The products of one sample, as the conv VAE's are counted (per output position for a convolution,
/// per input position for a transposed one): positions × c_in × c_out × k².
struct vq_layer {
  std::size_t positions, c_in, c_out, k;
  constexpr double macs() const noexcept { return static_cast<double>(positions * c_in * c_out * k * k); }
};
inline constexpr std::array<vq_layer, 6> vq_layers{{
    {14 * 14, 1, 32, 3},   // Conv2d(1,32,3,s2,p1): 28x28 -> 14x14
    {7 * 7, 32, 64, 3},    // Conv2d(32,64,3,s2,p1): 14x14 -> 7x7
    {7 * 7, 64, 16, 1},    // Conv2d(64,16,1)
    {7 * 7, 16, 64, 3},    // ConvT(16,64,3,s2): 7x7 -> 14x14
    {14 * 14, 64, 32, 3},  // ConvT(64,32,3,s2): 14x14 -> 28x28
    {28 * 28, 32, 1, 3},   // ConvT(32,1,3,s1)
}};
/// The distance product of one sample: 49 positions × 256 codes × 16 values, multiply and add.
inline constexpr double vq_distance_flops_per_sample = 2.0 * vq_positions * vq_codes * vq_dim;
/// Training FLOPs of one sample: 2 × (3 × the layers' MACs − the first layer's, whose input needs no
/// gradient) plus the forward distance product (the quantiser has no product in its backward pass).
constexpr double vq_flops_per_sample() noexcept {
  double macs = 0;
  for (const auto& layer : vq_layers) macs += layer.macs();
  return 2.0 * (3.0 * macs - vq_layers[0].macs()) + vq_distance_flops_per_sample;
}
static_assert(vq_flops_per_sample() == 32'087'552.0);

}  // namespace latent::bench
