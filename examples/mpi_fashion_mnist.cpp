// The reference VAE (PyTorch's example, 784-400-20) trained data-parallel on MPI: each rank trains on
// its own shard of Fashion-MNIST's training images (rows [r·N/R, (r+1)·N/R)), the global batch is 128,
// and every rank ends with the same weights. Rank 0 prints the epochs and the test set's −ELBO.
//
//   mpirun -np 2 build/examples/mpi_fashion_mnist 10                 two ranks on this machine
//   mpirun -np 8 --hostfile hosts build/examples/mpi_fashion_mnist   eight ranks on the hosts listed
//   (as root add --allow-run-as-root; on a 2-core machine --oversubscribe --bind-to none)
//
// Usage: mpi_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N] [--save PATH]
// (default 10 epochs, all data, the model's automatic threads per rank; --save: rank 0 saves the
// trained model there). Exits 0 with a message when
// Fashion-MNIST is not installed.
#include <latent/data/fashion_mnist.hpp>
#include <latent/latent.hpp>
#include <latent/mpi.hpp>

#include <algorithm>  // std::sort
#include <cstdio>     // std::printf
#include <cstdlib>    // std::strtoul
#include <memory>     // std::unique_ptr
#include <string>     // std::string
#include <vector>     // std::vector

using namespace latent;

struct Encoder : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
struct Decoder : Seq<Dense<20, 400, Relu>, Dense<400, 784, Identity>> {};
using Model = VAE<Encoder, Decoder, Bernoulli>;

int main(int argc, char** argv) {
  mpi::Session mpi(argc, argv);
  std::size_t epochs = 10, train_size = 0, test_size = 0, threads = 0;
  std::string save_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--save" && i + 1 < argc) {
      save_path = argv[++i];
      continue;
    }
    if ((arg == "--train-size" || arg == "--test-size" || arg == "--threads") && i + 1 < argc) {
      (arg == "--train-size"  ? train_size
       : arg == "--test-size" ? test_size
                              : threads) = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--help" || arg == "-h") {
      if (mpi.rank() == 0)
        std::printf("Usage: mpi_fashion_mnist [epochs] [--train-size N] [--test-size N] [--threads N] [--save PATH]\n");
      return 0;
    } else {
      epochs = std::strtoul(arg.c_str(), nullptr, 10);
    }
  }
  if (epochs == 0) {
    if (mpi.rank() == 0) std::fprintf(stderr, "mpi_fashion_mnist: expected a number of epochs >= 1\n");
    return 1;
  }
  Dataset train, test;
  try {
    train = load_fashion_mnist("train");
    test = load_fashion_mnist("test");
  } catch (const io_error& e) {
    if (mpi.rank() == 0) std::printf("mpi_fashion_mnist: skipped, Fashion-MNIST is not available (%s)\n", e.what());
    return 0;
  }
  if (train_size > 0 && train_size < train.size()) train = take(train, 0, train_size);
  if (test_size > 0 && test_size < test.size()) test = take(test, 0, test_size);
  // This rank's shard.
  const std::size_t R = mpi.size(), r = mpi.rank(), first = train.size() * r / R;
  const Dataset shard = take(train, first, train.size() * (r + 1) / R - first);

  auto model = std::make_unique<Model>(/*seed=*/1);  // rank 0's weights are broadcast at the start
  Adam opt(1e-3, 0.9, 0.999, 1e-8);
  if (r == 0) {
    std::printf("VAE 784-400-20 on Fashion-MNIST: %zu ranks, %zu training images (%zu on rank 0), global batch 128, "
                "%s threads per rank\n",
                R, train.size(), shard.size(), threads == 0 ? "automatic" : std::to_string(threads).c_str());
    std::fflush(stdout);
  }
  const History h = fit(*model, shard.x, opt,
                        {.epochs = epochs,
                         .batch_size = 128,
                         .seed = 1,
                         .progress = Progress::lines,
                         .threads = threads,
                         .communicator = mpi.world()});
  if (r == 0) {
    double total = 0;
    for (double s : h.seconds) total += s;
    std::printf(
        "%.2f s per epoch (median of %zu: %.2f s); test -ELBO %.1f nats\n", total / static_cast<double>(epochs),
        h.seconds.size(),
        [&] {
          std::vector<double> s = h.seconds;
          std::sort(s.begin(), s.end());
          return s[s.size() / 2];
        }(),
        -model->elbo(test.x, 1));
    if (!save_path.empty()) save(*model, save_path);
  }
}
