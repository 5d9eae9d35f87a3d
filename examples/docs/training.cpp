// docs/training.md, compiled and run: each function holds the lines that page quotes, on a small model
// and a few hundred images of the built-in shapes data, so the whole program runs in a fraction of a
// second. tests/docs/check_docs.py checks that the page's blocks are excerpts of this file.
#include <latent/latent.hpp>

#include <cmath>       // std::isfinite
#include <cstdio>      // std::printf
#include <filesystem>  // a scratch directory for the files the examples write
#include <iostream>    // std::cout
#include <random>      // std::random_device: a unique scratch directory
#include <string>      // std::string
#include <vector>      // std::vector

using namespace latent;

struct Encoder : Seq<Dense<784, 32, Relu>, Dense<32, 4>> {};
struct Decoder : Seq<Dense<4, 32, Relu>, Dense<32, 784, Sigmoid>> {};
using Model = Autoencoder<Encoder, Decoder, MSE>;

struct VaeEncoder : Seq<Dense<784, 32, Relu>, Gaussian<4>> {};
struct VaeDecoder : Seq<Dense<4, 32, Relu>, Dense<32, 784>> {};
using Vae = VAE<VaeEncoder, VaeDecoder, Bernoulli>;

void basics() {
  const auto [train_set, test_set] = make_shapes_split(400, 100, /*seed=*/1);
  const Dataset validation_set = take(test_set, 0, 50);
  const xt::xtensor<float, 2>&train = train_set.x, &validation = validation_set.x, &test = test_set.x;
  Model model(/*seed=*/1);
  // clang-format off
  Adam opt;                                   // Keras defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7
  SGD sgd(0.01, /*momentum=*/0.9);            // Keras's form; nesterov as third argument
  opt.set_clip_norm(1.0);                     // optional gradient-norm clipping (Keras's clipnorm)
  History h = fit(model, train, opt, {.epochs = 10, .batch_size = 128}, validation);
  double test_loss = evaluate(model, test);   // = model.loss(test)
  // clang-format on
  std::printf("basics: %zu epochs, validation loss %.4f, test loss %.4f\n", h.epochs(), h.val_loss.back(), test_loss);
}

void controls() {
  const auto [train, test] = make_shapes_split(600, 200, /*seed=*/2);
  std::vector<bool> is_anomaly(test.size());  // here: the classes 8 and 9 against the rest
  for (std::size_t i = 0; i < test.size(); ++i) is_anomaly[i] = test.labels(i) >= 8;
  Vae model(/*seed=*/1);
  const std::size_t steps_per_epoch = (train.size() - train.size() / 10 + 127) / 128;
  // clang-format off
  AdamW opt(1e-3, /*weight_decay=*/0.01, /*decay_biases=*/false);    // decoupled weight decay
  opt.set_schedule(CosineDecay{.steps = 20 * steps_per_epoch, .warmup = steps_per_epoch});
  History h = fit(model, train.x, opt,
                  {.epochs = 20, .batch_size = 128,
                   .validation_split = 0.1,                                  // the last 10 % of the rows
                   .callbacks = {EarlyStopping{.patience = 3},               // restores the best epoch's weights
                                 SaveBestModel{"best.latent"}, HistoryLogger{"history.csv"},
                                 [](FitState& s) { if (s.val_loss() < 100) s.stop("good enough"); }}});
  if (h.stopped_early()) std::cout << h.stop_reason << ", best epoch " << h.best_epoch << '\n';
  xt::xtensor<double, 1> score = -model.elbo_per_sample(test.x);          // rank anomalies
  double auc = roc_auc(score, is_anomaly);                                // std::vector<bool>
  // clang-format on
  std::printf("controls: %zu epochs, ROC AUC %.3f\n", h.epochs(), auc);
}

void callbacks_and_history() {
  const Dataset train = make_shapes(300, /*seed=*/3);
  Model model(/*seed=*/1);
  Adam opt;
  // clang-format off
  auto print_epoch = [](FitState& s) {
    std::printf("epoch %zu of %zu: loss %.4f, val_loss %.4f, lr %g\n", s.epoch(), s.epochs(), s.loss(),
                s.val_loss(), s.learning_rate());
    if (s.epoch() == 1) s.model<Model>().set_noise_seed(7);   // the model, type-checked
  };
  FitOptions options{.epochs = 3, .batch_size = 64, .progress = Progress::quiet,
                     .callbacks = {print_epoch, HistoryLogger{"history.json"}}};   // JSON: Keras's history.history
  options.on_batch = [](BatchState& b) { if (!std::isfinite(b.loss)) b.stop("diverged"); };
  History h = fit(model, train.x, opt, options);
  // clang-format on
  std::printf("callbacks: %zu epochs, last learning rate %g\n", h.epochs(), h.learning_rate.back());
}

void checkpoints() {
  const Dataset train = make_shapes(300, /*seed=*/4);
  Model model(/*seed=*/1);
  Adam opt;
  // clang-format off
  FitOptions options{.epochs = 4, .batch_size = 64, .checkpoint = "run.ckpt", .checkpoint_every = 2,
                     .resume = true};   // continue from run.ckpt when it exists
  History h = fit(model, train.x, opt, options);
  FileInfo info = inspect("run.ckpt");   // info.is_checkpoint, info.epochs_done
  // clang-format on
  std::printf("checkpoints: %zu epochs, checkpoint after epoch %zu\n", h.epochs(), info.epochs_done);
}

void schedules() {
  // clang-format off
  Adam opt(1e-3);
  opt.set_schedule(StepDecay{.every = 1000, .factor = 0.5});                // lr0 · 0.5^⌊k/1000⌋
  opt.set_schedule(ExponentialDecay{.steps = 1000, .rate = 0.96, .staircase = true});
  opt.set_schedule(CosineDecay{.steps = 10000, .warmup = 500, .min_lr = 1e-5});
  opt.set_schedule(ReduceLROnPlateau{.factor = 0.5, .patience = 3});       // fit passes it each epoch's loss
  opt.set_weight_decay(1e-4, /*decay_biases=*/false);                     // Adam: decoupled; SGD: L2
  double next = opt.current_learning_rate(), base = opt.learning_rate();
  // clang-format on
  std::printf("schedules: next rate %g, base %g\n", next, base);
}

void datasets_and_scalars() {
  const auto [train, test] = make_shapes_split(400, 100, /*seed=*/5);
  Model model(/*seed=*/1);
  Adam opt;
  // clang-format off
  Dataset some = select_classes(train, {0, 1, 2});                       // the rows of three classes
  History h = fit(model, some, opt, {.epochs = 2}, test);                // Datasets (a CVAE's labels ride along)
  Autoencoder<Encoder, Decoder, MSE, double> precise(/*seed=*/1);        // a double model
  Adam opt2;                                                             // an optimiser serves one model
  fit(precise, train.x, opt2, {.epochs = 1});                            // float rows, converted once
  xt::xtensor<double, 2> rows = as_scalar<double>(train.x);              // the same conversion, by hand
  xt::xtensor<double, 1> per_row = precise.loss_per_sample(rows);        // one loss per row
  // clang-format on
  std::printf("datasets: %zu rows of classes 0-2, %zu epochs, first row's loss %.4f\n", some.size(), h.epochs(),
              per_row(0));
}

void threads_and_errors() {
  const Dataset train = make_shapes(300, /*seed=*/6);
  Model model(/*seed=*/1);
  Adam opt(1e-3);
  FitOptions options{.epochs = 1, .progress = Progress::quiet};
  // clang-format off
  model.set_threads(2);                       // or FitOptions::threads; the default chooses by step size
  try {
    fit(model, train.x, opt, options);
  } catch (const numerical_error& e) {        // NaN or Inf: the model keeps the last good step's weights
    std::cerr << e.what() << '\n';
    opt.reset();                              // or load a checkpoint, before trying again
  } catch (const error& e) {                  // every latent exception derives from latent::error
    std::cerr << e.what() << '\n';
  }
  // clang-format on
}

int main() {
  // The examples write best.latent, history.csv, run.ckpt, ...: in a scratch directory of their own.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("latent-docs-training-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path home = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  basics();
  controls();
  callbacks_and_history();
  checkpoints();
  schedules();
  datasets_and_scalars();
  threads_and_errors();
  std::filesystem::current_path(home);
  std::filesystem::remove_all(dir);
  return 0;
}
