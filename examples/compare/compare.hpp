#pragma once
// The comparison program's shared vocabulary: its settings, the options, the data every model sees
// (`bench`), what one model's run produces (`result`), and `run_family`, which trains and measures the
// models of one architecture at one code size.
//
// The models are types, so each (architecture, code size) pair is a family of instantiations of its
// own, and the pairs are compiled apart: family.hpp defines `run_family`, and each pair instantiates
// it in a translation unit of its own (dense_8.cpp, conv_16.cpp, ...), so that the pairs compile in
// parallel and each compiler process holds one family's types. main.cpp holds everything that does
// not depend on the model types (options, data, the tables, the pictures) and picks a pair at run
// time. This header names no model type.
#include <latent/analysis/disentanglement_report.hpp>  // DisentanglementReport: a result's scores
#include <latent/analysis/factor_votes.hpp>            // FactorVotes, VoteOptions
#include <latent/data/dataset.hpp>                     // Dataset
#include <latent/models/contractive_autoencoder.hpp>   // Contraction: the settings are printed under the table
#include <latent/models/denoising_autoencoder.hpp>     // Noise
#include <latent/models/sparse_autoencoder.hpp>        // Sparsity

#include <xtensor/xtensor.hpp>

#include <algorithm>  // std::copy, std::ranges::find
#include <chrono>     // std::chrono::steady_clock
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <cstdio>     // std::snprintf
#include <iterator>   // std::end
#include <limits>     // std::numeric_limits
#include <string>
#include <vector>

namespace compare {

// H: the hidden width of every encoder and decoder. 128, not 256, so that the default run (8 models,
// 5 epochs of 10000 images) stays under a minute on 2 cores: the contractive autoencoder's exact
// Jacobian penalty costs O(H·784·Z) per image, about as much as all the other models together.
inline constexpr std::size_t kHidden = 128;
inline constexpr std::size_t kPixels = 784;  // 28 × 28
inline constexpr std::size_t kClasses = 10;  // both data sets have 10 labelled classes

// The family's layers (`--arch`: family.hpp defines both), and the code sizes compiled in for each.
// The pairs' translation units (examples/CMakeLists.txt) must be these: a pair listed here without
// one is a link error naming `run_family<architecture::..., Z>`; a translation unit for a pair not
// listed here fails run_family's static_assert.
enum class architecture { dense, conv, resnet };
inline constexpr std::size_t kSupportedLatents[] = {2, 8, 16, 32};
inline constexpr std::size_t kConvSupportedLatents[] = {2, 8, 16};
inline constexpr std::size_t kResNetSupportedLatents[] = {8, 16};
// Whether main.cpp runs the family of `a` at code size `z`.
constexpr bool supported(architecture a, std::size_t z) {
  if (a == architecture::conv) return std::ranges::find(kConvSupportedLatents, z) != std::end(kConvSupportedLatents);
  if (a == architecture::resnet)
    return std::ranges::find(kResNetSupportedLatents, z) != std::end(kResNetSupportedLatents);
  return std::ranges::find(kSupportedLatents, z) != std::end(kSupportedLatents);
}

// The regularisers' settings (printed under the table).
inline constexpr latent::Noise kDenoising{.gaussian_stddev = 0.2, .mask_fraction = 0.1};
inline constexpr latent::Sparsity kSparsity{.l1 = 1e-3, .target = 0.05, .kl_weight = 0};  // L1: the code is linear
inline constexpr latent::Contraction kContraction{.weight = 1e-2};
inline constexpr double kBeta = 4;  // the β-VAE's β on Fashion-MNIST; the shapes data compares several (--betas)
inline constexpr double kShapesBetas[] = {2, 4, 8, 16};
// The FactorVAE and β-VAE scores' votes: 64 images sharing one factor each, 500 to fit the
// classifiers and 300 to measure them (the same images for every model).
inline constexpr latent::VoteOptions kVotes{.batch_size = 64, .train_votes = 500, .eval_votes = 300, .seed = 12345};
// The traversals' values of a unit, in the prior's units.
inline const std::vector<double> kTraversalValues = {-3, -2, -1, 0, 1, 2, 3};

// ---- options ------------------------------------------------------------------------------------

struct model_spec {
  const char* key;
  const char* label;  // ASCII, for pictures
  const char* name;   // for the table
};
inline constexpr model_spec kModels[] = {
    {"ae", "AE", "Autoencoder"},
    {"dae", "DAE", "Denoising AE"},
    {"sae", "SAE", "Sparse AE"},
    {"cae", "CAE", "Contractive AE"},
    {"vae", "VAE", "VAE"},
    {"bvae", "beta-VAE", "β-VAE (β = 4)"},
    {"iwae", "IWAE", "IWAE (K = 5)"},
    {"cvae", "CVAE", "Conditional VAE"},
    // The rest of the family (family_more.hpp, a second translation unit per pair).
    {"tcvae", "beta-TCVAE", "β-TCVAE (β = 4)"},
    {"factorvae", "FactorVAE", "FactorVAE (γ = 4)"},
    {"infovae", "InfoVAE", "InfoVAE-MMD"},
    {"vamp", "VampPrior", "VAE + VampPrior (K = 50)"},
    {"wae", "WAE", "WAE-MMD"},
    {"rae", "RAE-L2", "RAE-L2"},
    {"raegp", "RAE-GP", "RAE-GP"},
    {"vqvae", "VQ-VAE", "VQ-VAE"},
};
// The keys run_family_more handles (the others: run_family).
inline bool is_more_model(const std::string& key) {
  for (const char* k : {"tcvae", "factorvae", "infovae", "vamp", "wae", "rae", "raegp", "vqvae"})
    if (key == k) return true;
  return false;
}

struct options {
  std::string data = "shapes";
  std::string arch = "dense";
  std::size_t epochs = 5;
  std::size_t latent = 8;
  std::vector<std::string> models;  // keys, in table order
  std::string out = "compare-out";
  std::size_t train_size = 0;  // 0: the data set's default
  std::size_t test_size = 0;
  std::size_t batch_size = 128;
  std::size_t nll_samples = 500;
  std::size_t nll_k = 100;
  std::uint64_t seed = 1;
  std::vector<double> betas;  // the β-VAE rows; empty: the data set's default
  bool quiet = false;
};

// ---- one model's run ----------------------------------------------------------------------------

inline constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

// A row's names: a model_spec's, or a β-VAE's with its β.
struct row_spec {
  std::string key, label, name;
};

struct result {
  row_spec spec;
  bool vae_family = false, conditional = false;
  std::vector<double> loss_per_image;  // the training loss per epoch, in nats per image
  double train_seconds = 0, eval_seconds = 0, samples_per_second = 0;
  double mse = nan_v, bce = nan_v, neg_elbo = nan_v, nll = nan_v, knn = nan_v;
  std::size_t active = 0, code_size = 0, params = 0;
  xt::xtensor<float, 2> reconstructions;  // of the showcase images
  xt::xtensor<float, 2> samples;          // from the prior (VAE family); CVAE: 8 per class; others: post hoc
  std::string sampler;                    // how `samples` were drawn, for the picture's caption
  // Discrete codes (VQ-VAE): the test codes' perplexity and the fraction of the codebook in use, and a
  // picture of the showcase images' code grids (one gray level per code) with their decoded indices.
  double perplexity = nan_v, usage = nan_v;
  std::size_t codebook = 0;
  xt::xtensor<float, 2> code_grids, from_indices;
  std::size_t grid_h = 0, grid_w = 0;
  xt::xtensor<float, 2> codes2;           // the test codes in 2-D (or their first two principal components)
  // On data with known factors (the shapes data): the scores, a traversal grid (VAE family) and
  // interpolations between test images.
  bool scored = false;
  latent::DisentanglementReport report;
  xt::xtensor<float, 2> traversal, interpolation;
};

struct bench {
  latent::Dataset train, test;
  xt::xtensor<float, 2> nll_x;     // the subset for the importance-sampled NLL
  xt::xtensor<float, 2> showcase;  // one test image per class
  // The shapes data's ground truth: the test images' factors, the votes of the classifier scores,
  // the traversals' seed images and the interpolations' ends.
  bool has_factors = false;
  xt::xtensor<double, 2> test_factors;
  std::vector<std::string> factor_names;
  latent::FactorVotes<xt::xtensor<float, 2>> votes;
  xt::xtensor<float, 2> traversal_seeds, interpolate_from, interpolate_to;
  const options* opt = nullptr;
};

/// Trains the models of `b.opt->models` (β-VAEs: one per β) of architecture A at code size Z with the
/// shared budget and measures them on the test set, in table order; `showcase_rows` are the test
/// images whose reconstructions are kept. Defined in family.hpp and instantiated by <arch>_<Z>.cpp.
template <architecture A, std::size_t Z>
std::vector<result> run_family(const bench& b, const std::vector<std::size_t>& showcase_rows);
/// The rest of the family (WAE, VQ-VAE, ...; `is_more_model`), defined in family_more.hpp and
/// instantiated by <arch>_<Z>_more.cpp: a second translation unit per pair, compiled beside the first.
template <architecture A, std::size_t Z>
std::vector<result> run_family_more(const bench& b, const std::vector<std::size_t>& showcase_rows);

/// The families linked into this program: each <arch>_<Z>.cpp registers its run_family here (before
/// main runs), so that main.cpp links with any subset of them. The program `compare` has them all;
/// `compare_<arch>_<Z>` (what scripts/compare.sh builds for the family it is asked for) has one, so
/// that the README's first command compiles one family, not nine.
struct family_entry {
  architecture arch;
  std::size_t latent;
  std::vector<result> (*run)(const bench&, const std::vector<std::size_t>&);
  int part = 0;  // 0: run_family, 1: run_family_more (table order: part 0's rows first)
};
inline std::vector<family_entry>& linked_families() {
  static std::vector<family_entry> families;
  return families;
}
struct register_family {
  register_family(architecture a, std::size_t z, std::vector<result> (*run)(const bench&, const std::vector<std::size_t>&),
                  int part = 0) {
    linked_families().push_back({a, z, run, part});
  }
};

// ---- small helpers both sides use ---------------------------------------------------------------

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline xt::xtensor<float, 2> rows_of(const xt::xtensor<float, 2>& m, const std::vector<std::size_t>& rows) {
  xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape({rows.size(), m.shape()[1]});
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy(m.data() + rows[i] * m.shape()[1], m.data() + (rows[i] + 1) * m.shape()[1],
              out.data() + i * m.shape()[1]);
  return out;
}

// A β as the table prints it: "4", "0.5".
inline std::string fixed_beta(double beta) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", beta);
  return buf;
}

}  // namespace compare
