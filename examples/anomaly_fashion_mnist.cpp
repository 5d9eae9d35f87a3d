// Anomaly detection with a VAE, one of the most common uses of an autoencoder: train on the garments of
// Fashion-MNIST only (T-shirt, trouser, pullover, dress, coat, shirt), then score every test image by
// its −ELBO (`elbo_per_sample`): shoes and bags (sandal, sneaker, bag, ankle boot), never seen in
// training, should score higher. Prints the ROC AUC of the score for "is not a garment" (1 is a perfect
// ranking, 0.5 chance), and the AUC of each unseen class against the test garments.
//
// The training uses the controls of `fit` a Keras user reaches for: a validation split, early stopping
// with the best weights restored, AdamW with a cosine schedule and warm-up.
//
// Usage: anomaly_fashion_mnist [epochs] [--train-size N] [--test-size N]   (default 20 epochs, all data)
// Exits 0 with a message when Fashion-MNIST is not installed (Debian: dataset-fashion-mnist).
#include <latent/data/fashion_mnist.hpp>
#include <latent/latent.hpp>

#include <cstdio>   // std::printf
#include <cstdlib>  // std::strtoul
#include <memory>   // std::unique_ptr
#include <string>   // std::string
#include <vector>   // std::vector

using namespace latent;

struct Encoder : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
struct Decoder : Seq<Dense<20, 400, Relu>, Dense<400, 784, Identity>> {};
using Model = VAE<Encoder, Decoder, Bernoulli>;

int main(int argc, char** argv) {
  std::size_t epochs = 20, train_size = 0, test_size = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--train-size" || arg == "--test-size") && i + 1 < argc) {
      (arg == "--train-size" ? train_size : test_size) = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--help" || arg == "-h") {
      std::printf("Usage: anomaly_fashion_mnist [epochs] [--train-size N] [--test-size N]\n");
      return 0;
    } else {
      epochs = std::strtoul(arg.c_str(), nullptr, 10);
    }
  }
  if (epochs == 0) {
    std::fprintf(stderr, "anomaly_fashion_mnist: expected a number of epochs >= 1\n");
    return 1;
  }

  Dataset train, test;
  try {
    train = load_fashion_mnist("train");
    test = load_fashion_mnist("test");
  } catch (const io_error& e) {
    std::printf("anomaly_fashion_mnist: skipped, Fashion-MNIST is not available (%s)\n", e.what());
    return 0;
  }
  if (train_size > 0 && train_size < train.size()) train = take(train, 0, train_size);
  if (test_size > 0 && test_size < test.size()) test = take(test, 0, test_size);
  const std::vector<std::int32_t> garments{0, 1, 2, 3, 4, 6};
  const Dataset normal = select_classes(train, garments);

  auto model = std::make_unique<Model>(/*seed=*/1);
  const std::size_t batch = 128;
  const std::size_t steps_per_epoch = (normal.size() - normal.size() / 10 + batch - 1) / batch;
  AdamW opt(1e-3, /*weight_decay=*/1e-4, /*decay_biases=*/false);
  opt.set_schedule(CosineDecay{.steps = epochs * steps_per_epoch, .warmup = steps_per_epoch});
  std::printf("VAE 784-400-20 trained on the %zu garments of %zu Fashion-MNIST training images "
              "(10%% held out for early stopping), %zu test images scored\n",
              normal.size(), train.size(), test.size());
  std::fflush(stdout);  // before fit's progress on stderr
  const History h = fit(*model, normal.x, opt,
                        {.epochs = epochs,
                         .batch_size = batch,
                         .seed = 1,
                         .progress = Progress::lines,
                         .validation_split = 0.1,
                         .callbacks = {EarlyStopping{.patience = 3}}});
  std::printf("trained %zu epochs (%.1f s)%s%s; the model has the weights of epoch %zu\n", h.epochs(),
              h.total_seconds(), h.stopped_early() ? ", " : "", h.stop_reason.c_str(),
              h.best_epoch != 0 ? h.best_epoch : h.epochs());

  // The anomaly score: −ELBO of each test image (nats), from one draw of z per image.
  const xt::xtensor<double, 1> elbo = model->elbo_per_sample(test.x, /*seed=*/1);
  xt::xtensor<double, 1> score = -elbo;
  std::vector<bool> unseen(test.size());
  double normal_mean = 0, unseen_mean = 0;
  std::size_t n_unseen = 0;
  for (std::size_t i = 0; i < test.size(); ++i) {
    const std::int32_t c = test.labels(i);
    unseen[i] = c == 5 || c == 7 || c == 8 || c == 9;
    (unseen[i] ? unseen_mean : normal_mean) += score(i);
    n_unseen += unseen[i] ? 1 : 0;
  }
  std::printf("mean -ELBO: garments %.1f, shoes and bags %.1f nats\n",
              normal_mean / static_cast<double>(test.size() - n_unseen), unseen_mean / static_cast<double>(n_unseen));
  std::printf("ROC AUC, shoes and bags vs garments: %.4f\n", roc_auc(score, unseen));
  for (const std::int32_t c : {5, 7, 8, 9}) {
    std::vector<std::size_t> rows;
    std::vector<bool> positive;
    for (std::size_t i = 0; i < test.size(); ++i)
      if (test.labels(i) == c || !unseen[i]) {
        rows.push_back(i);
        positive.push_back(test.labels(i) == c);
      }
    xt::xtensor<double, 1> s = xt::xtensor<double, 1>::from_shape({rows.size()});
    for (std::size_t i = 0; i < rows.size(); ++i) s(i) = score(rows[i]);
    std::printf("  %-12s vs garments: %.4f\n", test.class_names[static_cast<std::size_t>(c)].c_str(),
                roc_auc(s, positive));
  }
}
