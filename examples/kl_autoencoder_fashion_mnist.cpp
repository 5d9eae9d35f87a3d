// A small autoencoder in the shape of latent diffusion's KL autoencoder (diffusers' AutoencoderKL) on
// Fashion-MNIST (issue #23): a spatial code of 4 × 7 × 7 for 28 × 28 images — SpatialGaussian gives
// μ and log σ² at every position, as latent diffusion's 1×1 quant_conv —, two pre-activation residual
// blocks per level (GroupNorm → SiLU → 3×3 conv, twice, plus the skip), strided convolutions down,
// nearest upsampling plus a convolution up, one self-attention block in the middle, GroupNorm and SiLU
// before the last convolution, and a KL weight of 1e-6 as its recipe (a nearly deterministic code that
// keeps detail). The likelihood is Bernoulli on logits (latent diffusion trains with L1, a perceptual
// loss and a discriminator, which this small example leaves out).
//
//   encoder  28×28: Conv 16, 2 × ResBlock<16>  →  Conv 32 stride 2  →  14×14: 2 × ResBlock<32>
//            →  Conv 32 stride 2  →  7×7: ResBlock<32>, SpatialAttention, ResBlock<32>
//            →  GroupNorm, SiLU, Conv 8  →  SpatialGaussian<4>: code 4 × 7 × 7
//   decoder  Input<4, 7, 7>  →  Conv 32, ResBlock<32>, SpatialAttention, ResBlock<32>, 2 × ResBlock<32>
//            →  Upsample ×2, Conv 32  →  14×14: 2 × ResBlock<32>  →  Upsample ×2, Conv 16
//            →  28×28: 2 × ResBlock<16>  →  GroupNorm, SiLU, Conv 1 (logits)
//
// Writes reconstructions of test images (top: originals, bottom: reconstructions) to a PNG.
//
// Usage: kl_autoencoder_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N] [--out FILE]
//        (default 3 epochs of the first 10 000 training images, 2 000 test images,
//        --out kl-autoencoder-reconstructions.png)
// Exits 0 with a message when Fashion-MNIST is not installed (Debian: dataset-fashion-mnist).
#include <latent/latent.hpp>
#include <latent/plot.hpp>

#include <chrono>   // timing
#include <cstdio>   // std::printf
#include <cstdlib>  // std::strtoul
#include <memory>   // std::unique_ptr
#include <string>   // std::string

using namespace latent;

// clang-format off: one stage a line
template <std::size_t C>
using ResBlock = Residual<Seq<GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>, GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>>>;
using Attention = SpatialAttention<8>;
struct Encoder : Seq<Input<1, 28, 28>,
                     Conv2D<16, 3, 1, Same>, ResBlock<16>, ResBlock<16>,          // 16 × 28 × 28
                     Conv2D<32, 3, 2, Pad<1>>, ResBlock<32>, ResBlock<32>,        // 32 × 14 × 14
                     Conv2D<32, 3, 2, Pad<1>>,                                    // 32 × 7 × 7
                     ResBlock<32>, Attention, ResBlock<32>,                       // the middle
                     GroupNorm<8>, Silu, Conv2D<8, 3, 1, Same>, SpatialGaussian<4>> {};  // code 4 × 7 × 7
struct Decoder : Seq<Input<4, 7, 7>,
                     Conv2D<32, 3, 1, Same>, ResBlock<32>, Attention, ResBlock<32>,  // the middle
                     ResBlock<32>, ResBlock<32>,                                     // 32 × 7 × 7
                     Upsample2D<2>, Conv2D<32, 3, 1, Same>, ResBlock<32>, ResBlock<32>,  // 32 × 14 × 14
                     Upsample2D<2>, Conv2D<16, 3, 1, Same>, ResBlock<16>, ResBlock<16>,  // 16 × 28 × 28
                     GroupNorm<8>, Silu, Conv2D<1, 3, 1, Same>> {};                      // logits
// clang-format on
using Model = VAE<Encoder, Decoder, Bernoulli>;
static_assert(Model::code_size == 4 * 7 * 7);

int main(int argc, char** argv) {
  std::size_t epochs = 3, train_size = 10000, test_size = 2000, threads = 0;
  std::string out = "kl-autoencoder-reconstructions.png";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--train-size" || arg == "--test-size" || arg == "--threads") && i + 1 < argc) {
      (arg == "--train-size"  ? train_size
       : arg == "--test-size" ? test_size
                              : threads) = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      std::printf("Usage: kl_autoencoder_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N] "
                  "[--out FILE]\n");
      return 0;
    } else {
      epochs = std::strtoul(arg.c_str(), nullptr, 10);
    }
  }
  if (epochs == 0) {
    std::fprintf(stderr, "kl_autoencoder_fashion_mnist: expected a number of epochs >= 1\n");
    return 1;
  }
  Dataset train, test;
  try {
    train = load_fashion_mnist("train");
    test = load_fashion_mnist("test");
  } catch (const io_error& e) {
    std::printf("kl_autoencoder_fashion_mnist: skipped, Fashion-MNIST is not available (%s)\n", e.what());
    return 0;
  }
  if (train_size > 0 && train_size < train.size()) train = take(train, 0, train_size);
  if (test_size > 0 && test_size < test.size()) test = take(test, 0, test_size);

  auto model = std::make_unique<Model>(/*seed=*/1);
  model->set_beta(1e-6);  // latent diffusion's KL weight
  if (threads > 0) model->set_threads(threads);
  Adam opt(1e-3);
  std::printf("KL autoencoder (latent diffusion's shape, code 4x7x7) on Fashion-MNIST: %zu training, %zu test "
              "images, batch 64; %zu parameters\n",
              train.size(), test.size(), Model::param_count);
  std::printf("%5s  %14s  %14s  %12s  %9s\n", "epoch", "train loss", "test BCE/image", "test KL", "seconds");
  for (std::size_t e = 1; e <= epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    const History h = fit(*model, train.x, opt, {.epochs = 1, .batch_size = 64, .seed = e, .progress = Progress::quiet});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto [reconstruction, kl] = model->elbo_terms(test.x, e);
    std::printf("%5zu  %14.2f  %14.2f  %12.2f  %9.2f\n", e, h.loss.back(), reconstruction, kl, seconds);
    std::fflush(stdout);
  }
  // Eight test images and their reconstructions (means of p(x|z) at z = μ(x), eval mode).
  const Dataset shown = take(test, 0, 8);
  const xt::xtensor<float, 2> back = model->reconstruct(shown.x);
  xt::xtensor<float, 2> both = xt::xtensor<float, 2>::from_shape({16, 784});
  std::copy(shown.x.begin(), shown.x.end(), both.begin());
  std::copy(back.begin(), back.end(), both.begin() + 8 * 784);
  write_png(out, image_grid(both, 28, 28, 8));
  std::printf("wrote %s (top: test images, bottom: reconstructions)\n", out.c_str());
}
