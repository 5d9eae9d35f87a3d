// The VQ-VAE reference recipe of issue #25 (item 6) in latent: the model of vq_recipe.hpp trained on
// Fashion-MNIST's 60 000 training images for --epochs epochs (default 10) by `fit` (batch 100, Adam 1e-3,
// reshuffled every epoch), with latent's dead-code restarts (τ = 1; --no-restarts: pythae's EMA recipe).
// After every epoch one JSON line: the epoch's training seconds (fit's History), the mean training loss,
// the test reconstruction error (mean squared error per pixel over the 10 000 test images, eval mode:
// `loss`), and the codebook's usage (fraction of the 256 codes used) and perplexity over the test
// images' 49 codes each; then a summary line. benchmarks/vq_pytorch.py prints the same for PyTorch.
//
//   build-bench/benchmarks/vq_recipe --epochs 10 --threads 1            (about 4 minutes here)
//   build-bench/benchmarks/vq_recipe --epochs 10 --threads 1 --no-restarts
#include "vq_recipe.hpp"

#include <latent/data/fashion_mnist.hpp>

#include <algorithm>  // std::sort
#include <cstdint>    // std::uint64_t
#include <cstdio>     // std::printf, std::fprintf, std::fflush
#include <cstdlib>    // std::strtoul, std::strtoull, std::exit
#include <exception>  // std::exception
#include <string>     // std::string
#include <vector>     // std::vector

namespace {

using namespace latent;

struct Options {
  std::size_t epochs = 10, threads = 1;
  std::uint64_t seed = 1;
  bool restarts = true;
  std::string data = fashion_mnist_dir();
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t k = v.size() / 2;
  return v.empty() ? 0.0 : v.size() % 2 ? v[k] : 0.5 * (v[k - 1] + v[k]);
}

template <class S>
int run(const Options& o) {
  using Model = bench::VqModel<S>;
  static_assert(Model::param_count == bench::vq_parameters);
  const Dataset train = load_fashion_mnist("train", o.data);
  const Dataset test = load_fashion_mnist("test", o.data);
  Model model(o.seed);
  Adam opt(bench::vq_lr);
  const char* peer = o.restarts ? "latent-restarts" : "latent-ema";
  std::vector<double> seconds;
  double mse = 0, usage = 0, perplexity = 0;
  for (std::size_t e = 1; e <= o.epochs; ++e) {
    const History h = fit(model, train.x, opt,
                          {.epochs = 1, .batch_size = bench::vq_batch, .seed = o.seed + e, .progress = Progress::quiet,
                           .threads = o.threads});
    seconds.push_back(h.seconds.back());
    mse = model.loss(test.x);
    const auto codes = model.encode_indices(test.x);
    usage = codebook_usage(codes, Model::codes);
    perplexity = codebook_perplexity(codes, Model::codes);
    std::printf("{\"peer\": \"%s\", \"epoch\": %zu, \"seconds\": %.3f, \"train_loss\": %.6g, \"test_mse\": %.6g, "
                "\"usage\": %.4f, \"codes_used\": %.0f, \"perplexity\": %.3f, \"threads\": %zu}\n",
                peer, e, h.seconds.back(), h.loss.back(), mse, usage, usage * Model::codes, perplexity, o.threads);
    std::fflush(stdout);
  }
  std::printf("{\"summary\": \"vq/%s training\", \"epochs\": %zu, \"threads\": %zu, \"batch\": %zu, "
              "\"parameters\": %zu, \"median_epoch_seconds\": %.3f, \"final_test_mse\": %.6g, \"final_usage\": %.4f, "
              "\"final_perplexity\": %.3f}\n",
              peer, o.epochs, o.threads, bench::vq_batch, bench::vq_parameters, median(seconds), mse, usage,
              perplexity);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vq_recipe: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--epochs") o.epochs = std::strtoul(value(), nullptr, 10);
    else if (a == "--threads") o.threads = std::strtoul(value(), nullptr, 10);
    else if (a == "--seed") o.seed = std::strtoull(value(), nullptr, 10);
    else if (a == "--data") o.data = value();
    else if (a == "--no-restarts") o.restarts = false;
    else if (a == "--restarts") o.restarts = true;
    else {
      std::fprintf(stderr, "usage: vq_recipe [--epochs N (10)] [--threads T (1)] [--seed S (1)] [--no-restarts] "
                           "[--data DIR]\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  try {
    return o.restarts ? run<bench::VqRestarts>(o) : run<VQEMASettings>(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vq_recipe: %s\n", e.what());
    return 1;
  }
}
