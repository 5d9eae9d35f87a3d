// docs/data.md and docs/disentanglement.md, compiled and run: the data readers, the metrics, pictures and
// the disentanglement scores, on a few hundred images of the built-in shapes data in a scratch directory
// (about a second). tests/docs/check_docs.py checks that those pages' blocks are excerpts of this file.
#include <latent/analysis.hpp>  // disentanglement scores, traversals, interpolations, heat maps
#include <latent/latent.hpp>
#include <latent/plot.hpp>    // write_png, image_grid, scatter_plot, line_plot, Canvas
#include <xtensor/xview.hpp>  // xt::view

#include <cstdint>     // std::int32_t
#include <cstdio>      // std::printf
#include <filesystem>  // a scratch directory for the files the examples write
#include <fstream>     // a small CSV file
#include <optional>    // std::optional: factors held fixed
#include <random>      // std::random_device: a unique scratch directory
#include <string>      // std::string
#include <utility>     // std::pair
#include <vector>      // std::vector

using namespace latent;

struct Encoder : Seq<Dense<784, 64, Relu>, Gaussian<4>> {};
struct Decoder : Seq<Dense<4, 64, Relu>, Dense<64, 784>> {};
using Model = VAE<Encoder, Decoder, Bernoulli>;

// Reads files that may not be on the machine: compiled, not run.
void readers() {
  // clang-format off
  Dataset fashion = load_fashion_mnist("train");             // or "test"; $LATENT_FASHION_MNIST overrides the folder
  xt::xtensor<float, 2> images = read_idx_images("train-images-idx3-ubyte.gz");   // gzip or plain
  xt::xtensor<std::int32_t, 1> labels = read_idx_labels("train-labels-idx1-ubyte.gz");
  Dataset table = read_csv("data.csv", {.delimiter = ';', .header = true, .label_column = 0});
  // clang-format on
  std::printf("%zu %zu %zu %zu\n", fashion.size(), images.shape()[0], labels.size(), table.size());
}

void datasets() {
  // clang-format off
  Dataset shapes = make_shapes(1000, /*seed=*/1);                     // 28×28 images of 10 classes, drawn in code
  auto [train, test] = make_shapes_split(800, 200, /*seed=*/1);       // train and test drawn apart
  Dataset parsed = parse_csv("label,a,b\n1,0.5,0.25\n0,0.75,1e-50\n", {.header = true, .label_column = 0});
  Dataset first = take(shapes, 0, 100);                               // rows [0, 100)
  auto [part, rest] = split(shapes, 0.8, /*seed=*/1);                 // 80 % and 20 %, shuffled
  Dataset some = select_classes(shapes, {0, 1, 2});                   // the rows of classes 0, 1 and 2
  xt::xtensor<float, 2> onehot = one_hot(shapes.labels, shapes.num_classes);   // N × 10
  // clang-format on
  std::printf("datasets: %zu images of %zu × %zu, classes %s ...; %zu + %zu; parsed %zu × %zu (%g); %zu, %zu + %zu, "
              "%zu; one-hot %zu × %zu\n",
              shapes.size(), shapes.image_height, shapes.image_width, shapes.class_names[0].c_str(), train.size(),
              test.size(), parsed.size(), parsed.x.shape()[1], parsed.x(1, 1), first.size(), part.size(), rest.size(),
              some.size(), onehot.shape()[0], onehot.shape()[1]);
}

void metrics_and_pictures() {
  auto [train, test] = make_shapes_split(600, 200, /*seed=*/2);
  Model model(/*seed=*/1);
  Adam opt;
  fit(model, train.x, opt, {.epochs = 2, .batch_size = 64, .progress = Progress::quiet});
  const xt::xtensor<float, 2> train_codes = model.encode(train.x), test_codes = model.encode(test.x);
  const xt::xtensor<float, 2> x = test.x, reconstruction = model.reconstruct(test.x);
  // clang-format off
  double accuracy = knn_accuracy(train_codes, train.labels, test_codes, test.labels, /*k=*/5);
  xt::xtensor<float, 2> xy = pca_project(test_codes, 2);                    // N × 2
  xt::xtensor<double, 1> errors = mse_per_sample(reconstruction, x);        // one value per row
  double mean_error = mean_mse_per_sample(reconstruction, x);               // their mean
  xt::xtensor<double, 1> cross_entropy = bce_per_sample(reconstruction, x); // probabilities against x in [0, 1]
  // clang-format on
  // clang-format off
  xt::xtensor<float, 2> originals = xt::view(x, xt::range(0, 8), xt::all());
  xt::xtensor<float, 2> grid = image_grid(xt::concatenate(xt::xtuple(originals, model.reconstruct(originals))),
                                          28, 28, /*cols=*/8);        // originals above reconstructions
  write_png("reconstructions.png", grid);                              // grey, values in [0, 1]; atomic
  scatter_plot("codes.png", xy, test.labels, test.class_names, "codes (PCA)");
  line_plot("curves.png", {{"loss", {3.0, 2.0, 1.5}}, {"val_loss", {3.2, 2.4, 2.0}}}, "training", "epoch", "nats");
  Canvas canvas(200, 100);                                              // white
  canvas.line(10, 90, 190, 10, Color{0.1f, 0.4f, 0.8f}, 2.0);
  canvas.text(10, 10, "latent", Color{0, 0, 0});
  canvas.save("canvas.png");
  // clang-format on
  std::printf("metrics: 5-NN accuracy %.3f, PCA %zu × %zu, first error %.2f, mean %.2f, first BCE %.1f\n", accuracy,
              xy.shape()[0], xy.shape()[1], errors(0), mean_error, cross_entropy(0));
}

void factors_and_scores() {
  const std::size_t n = 400, seed = 3;
  // clang-format off
  FactorDataset f = make_shapes_with_factors(n, seed);       // f.data == make_shapes(n, seed) bit for bit; f.factors: n × 7; f.info: names, intervals
  auto [train, test] = make_shapes_split_with_factors(10000, 2000, seed);  // the images of make_shapes_split
  std::vector<std::optional<double>> fixed(shapes_factor::count);
  fixed[shapes_factor::size] = 8.0;                            // hold some factors, draw the others
  FactorDataset held = make_shapes_fixed(64, fixed, seed);     // nothing held: the images of make_shapes(64, seed)
  FactorDataset batch = make_shapes_sharing(shapes_factor::x, 64, seed);  // one random value of x for all 64
  // clang-format on
  std::printf("factors: %zu × %zu (%s in [%g, %g]); %zu + %zu; %zu held, %zu sharing\n", f.factors.shape()[0],
              f.factors.shape()[1], f.info[shapes_factor::size].name.c_str(), f.info[shapes_factor::size].low,
              f.info[shapes_factor::size].high, train.size(), test.size(), held.size(), batch.size());

  Model model(/*seed=*/1);
  Adam opt;
  fit(model, f.data.x, opt, {.epochs = 2, .batch_size = 64, .progress = Progress::quiet});
  const xt::xtensor<float, 2> codes = model.encode(f.data.x);
  const xt::xtensor<double, 2>& factors = f.factors;
  // clang-format off
  MutualInformation mi = mutual_information(codes, factors, /*bins=*/20);    // J units × K factors, in nats
  Mig mig = mutual_information_gap(codes, factors);                          // mig.score, mig.per_factor
  auto sample = [](std::size_t k, std::size_t m, std::uint64_t s) { return make_shapes_sharing(k, m, s).data.x; };
  auto votes = sample_factor_votes(sample, shapes_factor::count, {.batch_size = 64, .train_votes = 50, .eval_votes = 30});
  auto encode = [&](const xt::xtensor<float, 2>& x) { return model.encode(x); };
  double factor_vae = factor_vae_score(votes, encode, codes);                // Kim & Mnih
  double beta_vae = beta_vae_score(votes, encode);                           // Higgins et al.
  DisentanglementReport report = disentanglement_report(model, f.data.x, factors, votes);
  // clang-format on
  std::printf(
      "scores: MIG %.3f (%.3f from the report), FactorVAE %.3f, beta-VAE %.3f, %zu active units; MI %zu × %zu\n",
      mig.score, report.mig.score, factor_vae, beta_vae, report.active_units, mi.mi.shape()[0], mi.mi.shape()[1]);

  const xt::xtensor<float, 2> seeds = xt::view(test.data.x, xt::range(0, 3), xt::all());
  const xt::xtensor<float, 2> ends = xt::view(test.data.x, xt::range(3, 6), xt::all());
  // clang-format off
  std::vector<double> values = {-3, -2, -1, 0, 1, 2, 3};
  xt::xtensor<float, 2> traversal = latent_traversal(model, seeds, report.unit_order, values);   // rows (s·U + u)·V + v
  write_png("traversal.png", image_grid(traversal, 28, 28, /*cols=*/values.size()));
  xt::xtensor<float, 2> path = latent_interpolation(model, seeds, ends, /*steps=*/8);
  write_png("interpolations.png", image_grid(path, 28, 28, /*cols=*/8));
  std::vector<std::string> units = {"z0", "z1", "z2", "z3"}, names = {"shape", "x", "y", "size", "rot", "stroke", "int"};
  auto [w, h] = heat_map_extent(units.size(), names.size(), units);
  Canvas canvas(w + 20, h + 20);
  draw_heat_map(canvas, 10, 10, mi.normalised(), units, names);              // I(z_j; v_k) / H(v_k)
  canvas.save("mutual-information.png");
  // clang-format on
}

int main() {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("latent-docs-data-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path home = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  datasets();
  metrics_and_pictures();
  factors_and_scores();
  std::filesystem::current_path(home);
  std::filesystem::remove_all(dir);
  return 0;
}
