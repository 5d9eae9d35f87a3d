// The image autoencoders people train today (issue #23): a VAE with BatchNorm after its strided
// convolutions and a pre-activation residual block as latent diffusion's (GroupNorm → SiLU → 3×3 conv,
// twice, plus the skip) on each side, on Fashion-MNIST in PyTorch's recipe (Adam 1e-3, batch 128,
// pixels / 255, Bernoulli likelihood on logits). benchmarks/resnet_vae_pytorch.py is the same model
// and recipe in PyTorch.
//
//   encoder  Input<1, 28, 28>
//            Conv2D<32, 3, 2, Pad<1>>, BatchNorm, Relu        → 32 × 14 × 14
//            Conv2D<64, 3, 2, Pad<1>>, BatchNorm, Relu        → 64 × 7 × 7
//            ResBlock<64>, Flatten, Gaussian<16>              → μ and log σ² of 16 units
//   decoder  Dense<16, 3136>, Reshape<64, 7, 7>, ResBlock<64>
//            ConvTranspose2D<32, 3, 2, Pad<1, 1>>, BatchNorm, Relu  → 32 × 14 × 14
//            ConvTranspose2D<1, 3, 2, Pad<1, 1>>                    → 1 × 28 × 28 logits
//
// Training steps run in train mode (BatchNorm normalises by the batch, its running statistics move);
// the test −ELBO is computed in eval mode (the running statistics; one draw of z per image).
//
// Usage: resnet_vae_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N] [--save FILE]
//        (default 10 epochs, all data, the machine's threads)
//        resnet_vae_fashion_mnist --from-pytorch STATE.npz OUTPUTS.npz [--test-size N]
//        loads the weights PyTorch trained (benchmarks/resnet_vae_pytorch.py --save-state-dict STATE.npz
//        --latent-names --eval-outputs OUTPUTS.npz), compares latent's eval-mode μ and reconstruction
//        with PyTorch's on OUTPUTS' images (exit 1 beyond 1e-5 of max(1, |PyTorch's|)), and prints
//        the test −ELBO of PyTorch's weights computed by latent.
// Exits 0 with a message when Fashion-MNIST is not installed (Debian: dataset-fashion-mnist).
#include <latent/interchange.hpp>  // load_weights, read_npz: --from-pytorch
#include <latent/latent.hpp>

#include <algorithm>  // std::max, std::copy
#include <chrono>   // timing
#include <cmath>    // std::abs
#include <cstdio>   // std::printf
#include <cstdlib>  // std::strtoul
#include <memory>   // std::unique_ptr
#include <string>   // std::string

using namespace latent;

// clang-format off: the model of issue #23, one layer a line with its output shape
template <std::size_t C>   // a pre-activation residual block, as in latent diffusion's autoencoder
using ResBlock = Residual<Seq<GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>,
                              GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>>>;
struct Encoder : Seq<Input<1, 28, 28>,
                     Conv2D<32, 3, 2, Pad<1>>, BatchNorm, Relu,   // → 32×14×14
                     Conv2D<64, 3, 2, Pad<1>>, BatchNorm, Relu,   // → 64×7×7
                     ResBlock<64>, Flatten, Gaussian<16>> {};
struct Decoder : Seq<Dense<16, 3136>, Reshape<64, 7, 7>, ResBlock<64>,
                     ConvTranspose2D<32, 3, 2, Pad<1, 1>>, BatchNorm, Relu,   // → 32×14×14
                     ConvTranspose2D<1, 3, 2, Pad<1, 1>>> {};                  // → 1×28×28 logits
// clang-format on
using Model = VAE<Encoder, Decoder, Bernoulli>;

int main(int argc, char** argv) {
  std::size_t epochs = 10, train_size = 0, test_size = 0, threads = 0;
  std::string save_to, torch_state, torch_outputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--train-size" || arg == "--test-size" || arg == "--threads") && i + 1 < argc) {
      (arg == "--train-size"  ? train_size
       : arg == "--test-size" ? test_size
                              : threads) = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--save" && i + 1 < argc) {
      save_to = argv[++i];
    } else if (arg == "--from-pytorch" && i + 2 < argc) {
      torch_state = argv[++i];
      torch_outputs = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "Usage: resnet_vae_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N] [--save FILE]\n"
          "       resnet_vae_fashion_mnist --from-pytorch STATE.npz OUTPUTS.npz [--test-size N]\n");
      return 0;
    } else {
      epochs = std::strtoul(arg.c_str(), nullptr, 10);
    }
  }
  if (epochs == 0) {
    std::fprintf(stderr, "resnet_vae_fashion_mnist: expected a number of epochs >= 1\n");
    return 1;
  }

  Dataset train, test;
  try {
    train = load_fashion_mnist("train");
    test = load_fashion_mnist("test");
  } catch (const io_error& e) {
    std::printf("resnet_vae_fashion_mnist: skipped, Fashion-MNIST is not available (%s)\n", e.what());
    return 0;
  }
  if (train_size > 0 && train_size < train.size()) train = take(train, 0, train_size);
  if (test_size > 0 && test_size < test.size()) test = take(test, 0, test_size);

  auto model = std::make_unique<Model>(/*seed=*/1);
  if (threads > 0) model->set_threads(threads);
  if (!torch_state.empty()) {
    // PyTorch's trained weights and running statistics (num_batches_tracked: int64) by latent's names.
    load_weights(*model, torch_state, {.layout = weight_layout::pytorch});
    const std::vector<NamedTensor> io = read_npz(torch_outputs);
    const auto find = [&](const std::string& name) -> const NamedTensor& {
      for (const auto& t : io)
        if (t.name == name) return t;
      throw format_error(torch_outputs + ": no tensor named " + name);
    };
    const NamedTensor& x = find("x");
    xt::xtensor<float, 2> rows = xt::xtensor<float, 2>::from_shape({x.shape.at(0), Model::input_size});
    std::copy(x.values.begin(), x.values.end(), rows.begin());
    const xt::xtensor<float, 2> mu = model->encode(rows), rec = model->reconstruct(rows);  // eval mode
    double worst = 0;
    for (const auto& [mine, name] : {std::pair{&mu, "mu"}, std::pair{&rec, "reconstruction"}}) {
      const NamedTensor& want = find(name);
      double delta = 0, scale = 1;
      for (std::size_t k = 0; k < mine->size(); ++k) {
        delta = std::max(delta, std::abs(static_cast<double>(mine->data()[k]) - want.values.at(k)));
        scale = std::max(scale, std::abs(want.values.at(k)));
      }
      std::printf("%s of %zu test images: max |latent - PyTorch| = %.3g (scale %.3g)\n", name, x.shape.at(0), delta,
                  scale);
      worst = std::max(worst, delta / scale);
    }
    std::printf("test -ELBO of PyTorch's weights, computed by latent in eval mode: %.2f\n", -model->elbo(test.x, 1));
    if (worst > 1e-5) {
      std::fprintf(stderr, "resnet_vae_fashion_mnist: latent's outputs differ from PyTorch's by %.3g (relative)\n",
                   worst);
      return 1;
    }
    return 0;
  }
  Adam opt(1e-3, 0.9, 0.999, 1e-8);
  std::printf("ResNet VAE (BatchNorm, residual blocks, code 16) on Fashion-MNIST: %zu training, %zu test images, "
              "batch 128; %zu parameters, %zu state values\n",
              train.size(), test.size(), Model::param_count, Model::state_size);
  std::printf("%5s  %12s  %12s  %9s\n", "epoch", "train -ELBO", "test -ELBO", "seconds");
  double total = 0;
  for (std::size_t e = 1; e <= epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    const History h =
        fit(*model, train.x, opt, {.epochs = 1, .batch_size = 128, .seed = e, .progress = Progress::quiet});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += seconds;
    // elbo: eval mode (BatchNorm's running statistics), one draw of z per image.
    std::printf("%5zu  %12.2f  %12.2f  %9.2f\n", e, h.loss.back(), -model->elbo(test.x, e), seconds);
    std::fflush(stdout);
  }
  std::printf("%.1f s in all, %.2f s per epoch\n", total, total / static_cast<double>(epochs));
  if (!save_to.empty()) save(*model, save_to);
}
