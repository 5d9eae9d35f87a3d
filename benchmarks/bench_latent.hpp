#pragma once
// What the translation units of bench_latent share: Fashion-MNIST's training images (loaded once) and
// the rows registered at run time from main when the data set is present.

#include <xtensor/xtensor.hpp>  // xt::xtensor

namespace latent::bench {

/// Fashion-MNIST's 60 000 training images, 784 floats in [0, 1] each, loaded once (bench_latent.cpp).
const xt::xtensor<float, 2>& fashion_train();

/// Registers the ResNet VAE's training rows, "resnetvae/<name>-1t" and "-2t" (bench_latent_resnet.cpp).
void register_resnet_vae_training();

/// Registers the VQ-VAE recipe's training rows, "vq/<name>-1t" and "-2t" (bench_latent_vq.cpp).
void register_vq_training();

}  // namespace latent::bench
