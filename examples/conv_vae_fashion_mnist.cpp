// Keras's convolutional VAE (keras-io, examples/generative/vae.py) with a 16-dimensional code, on
// Fashion-MNIST, in PyTorch's recipe (Adam 1e-3, batch 128, pixels / 255, Bernoulli likelihood on logits):
//
//   Keras / PyTorch                                   latent
//   ------------------------------------------------  -------------------------------------------------
//   28 × 28 × 1 input                                 Input<1, 28, 28>   (a row is 784 pixels, C×H×W)
//   Conv2D(32, 3, strides=2, padding="same"), relu    Conv2D<32, 3, 2, Same, Relu>        → 32 × 14 × 14
//   Conv2D(64, 3, strides=2, padding="same"), relu    Conv2D<64, 3, 2, Same, Relu>        → 64 × 7 × 7
//   Flatten; Dense(16), relu                          Flatten, Dense<3136, 16, Relu>
//   Dense(16) z_mean, Dense(16) z_log_var             Gaussian<16>
//   Dense(7·7·64), relu; Reshape((7, 7, 64))          Dense<16, 3136, Relu>, Reshape<64, 7, 7>
//   Conv2DTranspose(64, 3, 2, "same"), relu           ConvTranspose2D<64, 3, 2, Same, Relu> → 64 × 14 × 14
//   Conv2DTranspose(32, 3, 2, "same"), relu           ConvTranspose2D<32, 3, 2, Same, Relu> → 32 × 28 × 28
//   Conv2DTranspose(1, 3, padding="same") (logits)    ConvTranspose2D<1, 3, 1, Same>        → 1 × 28 × 28
//
// 178 545 parameters, as PyTorch's version (benchmarks/conv_vae_pytorch.py, with padding 1 and
// output_padding 1, whose kernels sit one pixel off Keras's "same"; the objective is the same).
// Prints the test set's −ELBO per image (one draw of z per image) and the seconds of each epoch.
//
// Usage: conv_vae_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N]
//        (default 10 epochs, all data, the machine's threads)
// Exits 0 with a message when Fashion-MNIST is not installed (Debian: dataset-fashion-mnist).
#include <latent/data/fashion_mnist.hpp>
#include <latent/latent.hpp>

#include <chrono>   // timing
#include <cstdio>   // std::printf
#include <cstdlib>  // std::strtoul
#include <memory>   // std::unique_ptr
#include <string>   // std::string

using namespace latent;

// clang-format off: the layout of issue #11, one layer a line with its output shape
struct Encoder : Seq<Input<1, 28, 28>,              // channels, height, width
                     Conv2D<32, 3, 2, Same, Relu>,  // filters, kernel, stride, padding: → 32×14×14
                     Conv2D<64, 3, 2, Same, Relu>,  // → 64×7×7
                     Flatten,                       // → 3136
                     Dense<3136, 16, Relu>, Gaussian<16>> {};
struct Decoder : Seq<Dense<16, 3136, Relu>, Reshape<64, 7, 7>, ConvTranspose2D<64, 3, 2, Same, Relu>,  // → 64×14×14
                     ConvTranspose2D<32, 3, 2, Same, Relu>,                                            // → 32×28×28
                     ConvTranspose2D<1, 3, 1, Same>> {};  // → 1×28×28 logits
// clang-format on
using Model = VAE<Encoder, Decoder, Bernoulli>;
static_assert(Model::param_count == 178545);

int main(int argc, char** argv) {
  std::size_t epochs = 10, train_size = 0, test_size = 0, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--train-size" || arg == "--test-size" || arg == "--threads") && i + 1 < argc) {
      (arg == "--train-size"  ? train_size
       : arg == "--test-size" ? test_size
                              : threads) = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--help" || arg == "-h") {
      std::printf("Usage: conv_vae_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N]\n");
      return 0;
    } else {
      epochs = std::strtoul(arg.c_str(), nullptr, 10);
    }
  }
  if (epochs == 0) {
    std::fprintf(stderr, "conv_vae_fashion_mnist: expected a number of epochs >= 1\n");
    return 1;
  }

  Dataset train, test;
  try {
    train = load_fashion_mnist("train");
    test = load_fashion_mnist("test");
  } catch (const io_error& e) {
    std::printf("conv_vae_fashion_mnist: skipped, Fashion-MNIST is not available (%s)\n", e.what());
    return 0;
  }
  if (train_size > 0 && train_size < train.size()) train = take(train, 0, train_size);
  if (test_size > 0 && test_size < test.size()) test = take(test, 0, test_size);

  auto model = std::make_unique<Model>(/*seed=*/1);
  if (threads > 0) model->set_threads(threads);
  Adam opt(1e-3, 0.9, 0.999, 1e-8);  // PyTorch's defaults
  std::printf("Conv VAE (Keras's, code 16) on Fashion-MNIST: %zu training, %zu test images, batch 128\n", train.size(),
              test.size());
  std::printf("%5s  %12s  %12s  %9s\n", "epoch", "train -ELBO", "test -ELBO", "seconds");
  double total = 0;
  for (std::size_t e = 1; e <= epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    const History h =
        fit(*model, train.x, opt, {.epochs = 1, .batch_size = 128, .seed = e, .progress = Progress::quiet});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += seconds;
    std::printf("%5zu  %12.1f  %12.1f  %9.2f\n", e, h.loss.back(), -model->elbo(test.x, e), seconds);
    std::fflush(stdout);
  }
  std::printf("%.1f s in all, %.2f s per epoch\n", total, total / static_cast<double>(epochs));
}
