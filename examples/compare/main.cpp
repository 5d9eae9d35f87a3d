// The whole autoencoder family on the same data, with the same layer sizes and the same budget:
// a Markdown table of test figures and pictures of reconstructions, samples, codes and training curves.
// On the shapes data, whose true factors are known, a second table scores each code's disentanglement
// (MIG, FactorVAE and β-VAE scores, KL per unit) with β-VAEs at several β (--betas), and pictures of
// latent traversals, interpolations and the unit × factor mutual information.
//
//   compare                                  built-in shapes data, Z = 8, < 1 minute on 2 cores
//   compare --data fashion-mnist --epochs 10 Fashion-MNIST (Debian's dataset-fashion-mnist)
//   compare --help                           every option
//
// Every model has the same encoder 784 → H ReLU → Z and decoder Z → H ReLU → 784 logits; they differ
// only in what they add (noise, a penalty, a Gaussian head, importance samples, a label). The models
// are types, so the code size is a template argument: the program instantiates the family once per
// supported size (kSupportedLatents) and picks one at run time. This file is the part that does not
// depend on the model types (options, data, tables, pictures); family.hpp trains and measures the
// models, each architecture and code size in a translation unit of its own (see compare.hpp).
#include "compare.hpp"

#include <latent/analysis/disentanglement_report.hpp>
#include <latent/analysis/factor_votes.hpp>
#include <latent/analysis/heat_map.hpp>
#include <latent/core/error.hpp>
#include <latent/data/dataset.hpp>
#include <latent/data/fashion_mnist.hpp>
#include <latent/data/shapes.hpp>
#include <latent/io/png.hpp>
#include <latent/plot/canvas.hpp>
#include <latent/plot/image_grid.hpp>
#include <latent/plot/line_plot.hpp>
#include <latent/plot/scatter_plot.hpp>

#include <algorithm>   // std::min, std::max, std::sort, std::find
#include <chrono>      // timing
#include <cmath>       // std::isfinite, std::floor
#include <cstdint>     // std::int32_t
#include <cstdio>      // std::printf, std::fprintf
#include <cstdlib>     // std::strtoull, std::strtod
#include <exception>   // std::exception
#include <filesystem>  // output directory
#include <fstream>     // results.md, results.json
#include <iterator>    // std::size, std::begin
#include <sstream>     // building the table
#include <string>
#include <utility>  // std::pair, std::move
#include <vector>

using namespace latent;
using namespace compare;

namespace {

// ---- options ------------------------------------------------------------------------------------

// The models' keys, comma-separated, in table order.
std::string model_keys() {
  std::string keys;
  for (const auto& m : kModels) keys.append(keys.empty() ? "" : ",").append(m.key);
  return keys;
}

void print_help() {
  std::printf(
      "compare: trains the autoencoder family on the same data and budget, and writes a table and pictures.\n"
      "\n"
      "Usage: compare [options]\n"
      "  --data shapes|fashion-mnist  data set (default shapes: the built-in one, 10000 train / 2000 test;\n"
      "                               fashion-mnist: 60000 / 10000 from $LATENT_FASHION_MNIST or\n"
      "                               /usr/share/datasets/fashion-mnist)\n"
      "  --arch dense|conv|resnet     the family's layers (default dense: 784 -> %zu ReLU -> Z; conv: two\n"
      "                               Conv2D layers 16 and 32 (3x3, stride 2, Same) -> Z, two ConvTranspose2D\n"
      "                               back; Z one of 2, 8, 16; no contractive model; resnet: conv with BatchNorm\n"
      "                               and a residual block (GroupNorm, SiLU, 3x3 conv, twice) each side; Z 8 or\n"
      "                               16; no contractive model, no IWAE, no VampPrior, no RAE-GP: BatchNorm\n"
      "                               refuses them by compile-time rules)\n"
      "  --epochs N                   training epochs of every model (default 5)\n"
      "  --latent Z                   code size, one of 2, 8, 16, 32 (default 8); with 2 the latent\n"
      "                               pictures show the code itself, else its first two principal components\n"
      "  --models LIST                comma-separated subset of %s\n"
      "                               (default: all the architecture has)\n"
      "  --betas LIST                 comma-separated beta values, one bvae row each (default 2,4,8,16 on shapes,\n"
      "                               4 on fashion-mnist)\n"
      "  --out DIR                    output directory (default compare-out): results.md, results.json,\n"
      "                               reconstructions.png, samples.png, latent.png, latent-<model>.png, curves.png;\n"
      "                               on shapes also disentanglement.md, mutual-information.png, interpolations.png,\n"
      "                               traversal-<model>.png\n"
      "  --train-size N               use the first N training images (default: all of them)\n"
      "  --test-size N                use the first N test images (default: all of them)\n"
      "  --batch-size N               samples per step (default 128)\n"
      "  --nll-samples N              test images for the importance-sampled NLL (default 500)\n"
      "  --nll-k K                    importance samples per image for the NLL (default 100)\n"
      "  --seed S                     seed of the data split, the weights and the shuffles (default 1)\n"
      "  --quiet                      no progress lines (the table is still printed)\n"
      "  --help                       this text\n"
      "\n"
      "Every model: encoder 784 -> %zu ReLU -> Z, decoder Z -> %zu ReLU -> 784 logits, Adam (lr 1e-3).\n",
      kHidden, model_keys().c_str(), kHidden, kHidden);
}

std::size_t parse_count(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || text[0] == '-')
    throw option_error(flag + ": expected a non-negative integer, found \"" + text + "\"");
  return static_cast<std::size_t>(v);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// Returns false when the program should stop (after --help).
bool parse(int argc, char** argv, options& o) {
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "--help" || arg == "-h") {
      print_help();
      return false;
    }
    if (arg == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw option_error(arg + ": expected a value after it (see --help)");
    }
    if (arg == "--data") {
      if (value != "shapes" && value != "fashion-mnist")
        throw option_error("--data: expected shapes or fashion-mnist, found \"" + value + "\"");
      o.data = value;
    } else if (arg == "--arch") {
      o.arch = value;
      if (value != "dense" && value != "conv" && value != "resnet")
        throw option_error("--arch: expected dense, conv or resnet, found \"" + value + "\"");
    } else if (arg == "--epochs") {
      o.epochs = parse_count(arg, value);
      if (o.epochs == 0) throw option_error("--epochs: expected at least 1, found 0");
    } else if (arg == "--latent") {
      o.latent = parse_count(arg, value);
      if (std::find(std::begin(kSupportedLatents), std::end(kSupportedLatents), o.latent) ==
          std::end(kSupportedLatents))
        throw option_error(
            "--latent: expected one of 2, 8, 16, 32 (models are types: each size is compiled in), found " + value);
    } else if (arg == "--models") {
      models = split_list(value);
      for (const auto& m : models)
        if (std::none_of(std::begin(kModels), std::end(kModels), [&](const model_spec& s) { return m == s.key; }))
          throw option_error("--models: expected names among " + model_keys() + ", found \"" + m + "\"");
      if (models.empty()) throw option_error("--models: expected at least one model");
    } else if (arg == "--betas") {
      o.betas.clear();
      for (const auto& t : split_list(value)) {
        char* end = nullptr;
        const double beta = std::strtod(t.c_str(), &end);
        if (*end != '\0' || !(beta > 0) || !std::isfinite(beta))
          throw option_error("--betas: expected positive numbers, found \"" + t + "\"");
        o.betas.push_back(beta);
      }
      if (o.betas.empty()) throw option_error("--betas: expected at least one value");
    } else if (arg == "--out") {
      o.out = value;
    } else if (arg == "--train-size") {
      o.train_size = parse_count(arg, value);
    } else if (arg == "--test-size") {
      o.test_size = parse_count(arg, value);
    } else if (arg == "--batch-size") {
      o.batch_size = parse_count(arg, value);
    } else if (arg == "--nll-samples") {
      o.nll_samples = parse_count(arg, value);
    } else if (arg == "--nll-k") {
      o.nll_k = parse_count(arg, value);
    } else if (arg == "--seed") {
      o.seed = parse_count(arg, value);
    } else {
      throw option_error("unknown option " + arg + " (see --help)");
    }
  }
  if (o.arch == "conv") {
    if (std::find(std::begin(kConvSupportedLatents), std::end(kConvSupportedLatents), o.latent) ==
        std::end(kConvSupportedLatents))
      throw option_error("--latent: with --arch conv, expected one of 2, 8, 16, found " + std::to_string(o.latent));
    if (std::find(models.begin(), models.end(), "cae") != models.end())
      throw option_error("--models cae: the contractive penalty's exact Jacobian is written for Dense encoders (a "
                         "compile-time rule, contractive_encoder_is_not_made_of_dense_layers); not with --arch conv");
  }
  if (o.arch == "resnet") {
    if (std::find(std::begin(kResNetSupportedLatents), std::end(kResNetSupportedLatents), o.latent) ==
        std::end(kResNetSupportedLatents))
      throw option_error("--latent: with --arch resnet, expected 8 or 16, found " + std::to_string(o.latent));
    if (std::find(models.begin(), models.end(), "vamp") != models.end())
      throw option_error("--models vamp: not with --arch resnet (compile-time rule "
                         "code_prior_with_anchors_needs_an_encoder_without_state: the VampPrior runs the encoder on "
                         "its pseudo-inputs beside the batch, and the residual encoder has BatchNorm)");
    if (std::find(models.begin(), models.end(), "raegp") != models.end())
      throw option_error("--models raegp: not with --arch resnet (compile-time rule "
                         "rae_gp_decoder_has_batch_statistics_or_state: RAE-GP's extra decoder passes need a per-row "
                         "decoder, and the residual decoder has BatchNorm)");
    for (const char* refused : {"cae", "iwae"})
      if (std::find(models.begin(), models.end(), refused) != models.end())
        throw option_error(std::string("--models ") + refused +
                           ": not with --arch resnet (compile-time rules: the contractive penalty is written for "
                           "Dense encoders; an IWAE repeats rows through BatchNorm's batch statistics)");
  }
  // Table order is the family's order, whatever the order on the command line. By default every model
  // the architecture can have.
  const auto available = [&](const std::string& key) {
    if (o.arch == "conv") return key != "cae";
    if (o.arch == "resnet") return key != "cae" && key != "iwae" && key != "vamp" && key != "raegp";
    return true;
  };
  for (const auto& s : kModels)
    if ((models.empty() && available(s.key)) || std::find(models.begin(), models.end(), s.key) != models.end())
      o.models.push_back(s.key);
  if (o.betas.empty()) {
    if (o.data == "shapes")
      o.betas.assign(std::begin(kShapesBetas), std::end(kShapesBetas));
    else
      o.betas = {kBeta};
  }
  return true;
}

// ---- the family of the chosen size ---------------------------------------------------------------

// Each (architecture, code size) pair's run_family is compiled in a translation unit of its own
// (dense_8.cpp, conv_16.cpp, ...) that registers it (compare.hpp's linked_families); the options pick one
// at run time. parse() has already refused the pairs no translation unit exists for.
std::vector<result> run_chosen_family(const options& o, const bench& b, const std::vector<std::size_t>& showcase_rows) {
  const architecture a = o.arch == "conv" ? architecture::conv : o.arch == "resnet" ? architecture::resnet
                                                                                     : architecture::dense;
  std::vector<result> rows;
  bool found = false;
  for (int part : {0, 1})
    for (const family_entry& f : linked_families())
      if (f.arch == a && f.latent == o.latent && f.part == part) {
        found = true;
        for (auto& r : f.run(b, showcase_rows)) rows.push_back(std::move(r));
      }
  if (found) return rows;
  throw option_error("--arch " + o.arch + " --latent " + std::to_string(o.latent) +
                     ": this program was built without that family; bash scripts/compare.sh builds the program "
                     "of the family it is asked for (target compare_" + o.arch + "_" + std::to_string(o.latent) +
                     "), and the target compare has every family");
}

// ---- the table ----------------------------------------------------------------------------------

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string grouped(std::size_t v) {
  std::string s = std::to_string(v), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string betas_text(const std::vector<double>& betas) {
  std::string t;
  for (double beta : betas) t += (t.empty() ? "" : ", ") + fixed_beta(beta);
  return t;
}

std::string markdown_table(const std::vector<result>& rs, const options& o, const bench& b) {
  std::ostringstream t;
  bool discrete = false;
  for (const auto& r : rs) discrete = discrete || r.codebook > 0;
  t << "| model | MSE / image | BCE / image | −ELBO | NLL (IS) | kNN acc. | active units | "
    << (discrete ? "codebook perplexity | " : "") << "params | train s | samples/s |\n";
  t << "|---|---:|---:|---:|---:|---:|---:|" << (discrete ? "---:|" : "") << "---:|---:|---:|\n";
  for (const auto& r : rs) {
    t << "| " << r.spec.name << (r.conditional ? " ¹" : "") << " | " << fixed(r.mse, 2) << " | " << fixed(r.bce, 1)
      << " | " << fixed(r.neg_elbo, 1) << " | " << fixed(r.nll, 1) << " | " << fixed(r.knn, 3) << " | " << r.active
      << " / " << r.code_size << " | "
      << (!discrete       ? std::string()
          : r.codebook > 0 ? fixed(r.perplexity, 1) + " of " + std::to_string(r.codebook) + " (" +
                                 fixed(100 * r.usage, 0) + " % used) | "
                          : std::string("— | "))
      << grouped(r.params) << " | " << fixed(r.train_seconds, 1) << " | "
      << fixed(r.samples_per_second, 0) << " |\n";
  }
  t << "\nTest set: " << b.test.size() << " images; training set: " << b.train.size() << " images; " << o.epochs
    << " epochs, batch " << o.batch_size << ", Adam (lr 1e-3) for every model; ";
  if (o.arch == "resnet")
    t << "encoder 1×28×28 → Conv2D 16 (3×3, stride 2, Same) → BatchNorm → ReLU → Conv2D 32 → BatchNorm → ReLU → "
         "32×7×7 → residual block (GroupNorm, SiLU, 3×3 conv, twice, plus the skip) → Flatten → "
      << o.latent << ", decoder " << o.latent
      << " → 1568 → 32×7×7 → residual block → ConvTranspose2D 16 → BatchNorm → ReLU → ConvTranspose2D 1 → "
         "1×28×28 logits; BatchNorm in train mode while training, eval mode (running statistics) for every "
         "test figure.\n\n";
  else if (o.arch == "conv")
    t << "encoder 1×28×28 → Conv2D 16 (3×3, stride 2, Same, ReLU) → 16×14×14 → Conv2D 32 → 32×7×7 → Flatten → "
      << o.latent << ", decoder " << o.latent
      << " → 1568 ReLU → 32×7×7 → ConvTranspose2D 16 → 16×14×14 → ConvTranspose2D 1 → 1×28×28 logits.\n\n";
  else
    t << "encoder 784 → " << kHidden << " ReLU → " << o.latent << ", decoder " << o.latent << " → " << kHidden
      << " ReLU → 784 logits.\n\n";
  t << "- **MSE / image**, **BCE / image**: squared error and binary cross-entropy (nats) summed over the 784 pixels "
       "of a test image, averaged over the test set; VAEs reconstruct through the mean code μ (`reconstruct`).\n"
       "- **−ELBO**: the negative evidence lower bound per test image (nats, one draw of z per image, β = 1 for every "
       "model, so the β-VAE and the IWAE are scored by the same bound as the VAE).\n";
  t << "- **NLL (IS)**: −log p(x) per image estimated by importance sampling with k = " << o.nll_k
    << " draws from q(z|x), on the first " << b.nll_x.shape()[0] << " test images.\n";
  t << "- **kNN acc.**: accuracy of a 5-nearest-neighbour classifier (Euclidean) on the code (`encode`: μ for the "
       "VAEs), "
       "training codes as reference, test codes as queries; chance is 0.1.\n"
       "- **active units**: code units whose value (μ for the VAEs) varies over the test set with variance above 0.01 "
       "(Burda et al.); for the autoencoders, the same test on their (linear) code.\n"
       "- **train s**, **samples/s**: wall-clock training time (2 cores) and training images processed per second.\n"
       "- ¹ The conditional VAE is given the true label: its −ELBO bounds −log p(x | label), its code is what the "
       "label does not explain (so a low kNN accuracy is expected); its NLL is −log p(x | label).\n";
  t << "- Settings: denoising: Gaussian noise σ = " << kDenoising.gaussian_stddev << " and "
    << kDenoising.mask_fraction * 100 << "% masking; sparse: L1 penalty " << kSparsity.l1
    << "·Σ|h| per image; contractive: λ = " << kContraction.weight << "; β-VAE: β = " << betas_text(o.betas)
    << "; IWAE: K = 5 (so 5× the work per step); β-TCVAE: β = 4 on the total correlation (α = γ = 1, "
       "Chen et al.'s stratified estimator, N = the training set's size); FactorVAE: γ = 4, discriminator 5 × 256 "
       "leaky ReLU (Kim & Mnih's depth, a quarter of their width) with Adam 1e-4, β = (0.5, 0.9); InfoVAE: α = 0, "
       "λ = 1000 (pythae's benchmark configs); VampPrior: 50 learned pseudo-inputs (its −ELBO and NLL use its own "
       "prior); WAE: MMD weight 0.03, multi-scale IMQ kernel; RAE-L2 and RAE-GP: pythae's weights (RAE-GP's "
       "Jacobian by central differences along one random direction per row); VQ-VAE: EMA codebook (decay 0.99) "
       "with dead-code restarts below one use a step, "
    << (o.arch != "dense" ? "a 1×1 convolution to 16 channels at 7×7, 256 codes of 16 values (its code: 784 values)"
                          : "the code read as Z/2 positions of 2 values, 64 codes")
    << ". Every VAE's −ELBO is scored at β = 1; the samples of the deterministic models decode draws from a "
       "10-component Gaussian mixture fitted to their training codes (pythae's GMM sampler).\n";
  t << "- Pictures: `reconstructions.png`, `samples.png`, `latent.png` (and `latent-<model>.png`), `curves.png`: the "
       "training loss per epoch in nats per image (the autoencoders' per-pixel loss × 784), each model's own objective "
       "(penalties, noise, β·KL and the K-sample bound included), so the curves show progress, not a ranking.\n";
  return t.str();
}

// The second table on data with known factors: how each code relates to them.
std::string disentanglement_table(const std::vector<result>& rs, const bench& b) {
  std::ostringstream t;
  t << "| model | MSE / image | −ELBO | MIG | FactorVAE score | β-VAE score | active units | KL per unit (nats, "
       "largest first) |\n";
  t << "|---|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rs) {
    if (!r.scored) continue;
    std::string kl;
    for (std::size_t u : r.report.unit_order)
      if (r.report.kl_per_unit.size() > 0) kl.append(kl.empty() ? "" : " ").append(fixed(r.report.kl_per_unit(u), 2));
    t << "| " << r.spec.name << " | " << fixed(r.mse, 2) << " | " << fixed(r.neg_elbo, 1) << " | "
      << fixed(r.report.mig.score, 3) << " | " << fixed(r.report.factor_vae, 3) << " | " << fixed(r.report.beta_vae, 3)
      << " | " << r.active << " / " << r.code_size << " | " << (kl.empty() ? "—" : kl) << " |\n";
  }
  const std::size_t k = b.factor_names.size();
  t << "\nScored on the " << b.test.size() << " test images and their " << k << " true factors (";
  for (std::size_t i = 0; i < k; ++i) t << (i ? ", " : "") << b.factor_names[i];
  t << "; `make_shapes_with_factors`); the classifier scores on " << kVotes.train_votes << " + " << kVotes.eval_votes
    << " batches of " << kVotes.batch_size << " images sharing one factor (`make_shapes_sharing`).\n\n";
  t << "- **MIG** (Chen et al. 2018): mean over the factors of the gap between the two largest I(z_j; v_k), over "
       "H(v_k); 20 equal-width bins per unit and per factor. 1: each factor has one unit to itself; 0: none.\n"
       "- **FactorVAE score** (Kim & Mnih 2018): accuracy of the majority vote from the unit of least variance "
       "(units divided by their std over the test set, collapsed units left out) to the factor held fixed; chance "
       "is 1/"
    << k << " = " << fixed(1.0 / static_cast<double>(k), 3)
    << ".\n"
       "- **β-VAE score** (Higgins et al. 2017): accuracy of a logistic regression from the mean |z − z'| of 32 "
       "pairs sharing a factor to that factor; chance 1/"
    << k
    << ".\n"
       "- **KL per unit**: the mean KL(q(z_j|x) ‖ N(0, 1)) of each unit over the test set (VAE family), largest "
       "first: the units in use.\n"
       "- Pictures: `mutual-information.png` (I(z_j; v_k) / H(v_k), units in KL order), `traversal-<model>.png` "
       "(one unit of a test image's code set to −3 … 3), `interpolations.png` (decoded straight lines between the "
       "codes of test images).\n";
  return t.str();
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string json_results(const std::vector<result>& rs, const options& o, const bench& b, double wall) {
  std::ostringstream j;
  j << "{\n  \"data\": \"" << o.data << "\",\n  \"train_size\": " << b.train.size()
    << ",\n  \"test_size\": " << b.test.size() << ",\n  \"arch\": \"" << o.arch << "\",\n  \"latent\": " << o.latent
    << ",\n  \"hidden\": " << kHidden << ",\n  \"epochs\": " << o.epochs << ",\n  \"batch_size\": " << o.batch_size
    << ",\n  \"seed\": " << o.seed << ",\n  \"nll_samples\": " << b.nll_x.shape()[0] << ",\n  \"nll_k\": " << o.nll_k
    << ",\n  \"wall_seconds\": " << json_number(wall) << ",\n  \"models\": [\n";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    j << "    {\"key\": \"" << r.spec.key << "\", \"name\": \"" << r.spec.label
      << "\", \"mse_per_image\": " << json_number(r.mse) << ", \"bce_per_image\": " << json_number(r.bce)
      << ", \"neg_elbo\": " << json_number(r.neg_elbo) << ", \"nll\": " << json_number(r.nll)
      << ", \"knn_accuracy\": " << json_number(r.knn) << ", \"active_units\": " << r.active
      << ", \"code_size\": " << r.code_size << ", \"params\": " << r.params
      << ", \"train_seconds\": " << json_number(r.train_seconds)
      << ", \"eval_seconds\": " << json_number(r.eval_seconds)
      << ", \"samples_per_second\": " << json_number(r.samples_per_second);
    if (r.codebook > 0)
      j << ", \"codebook\": " << r.codebook << ", \"codebook_perplexity\": " << json_number(r.perplexity)
        << ", \"codebook_usage\": " << json_number(r.usage);
    if (r.scored) {
      j << ", \"mig\": " << json_number(r.report.mig.score)
        << ", \"factor_vae_score\": " << json_number(r.report.factor_vae)
        << ", \"beta_vae_score\": " << json_number(r.report.beta_vae) << ", \"kl_per_unit\": [";
      for (std::size_t u = 0; u < r.report.kl_per_unit.size(); ++u)
        j << (u ? ", " : "") << json_number(r.report.kl_per_unit(u));
      j << "]";
    }
    j << ", \"loss_per_image\": [";
    for (std::size_t e = 0; e < r.loss_per_image.size(); ++e) j << (e ? ", " : "") << json_number(r.loss_per_image[e]);
    j << "]}" << (i + 1 < rs.size() ? "," : "") << "\n";
  }
  j << "  ]\n}\n";
  return j.str();
}

// ---- pictures -----------------------------------------------------------------------------------

constexpr Color kInk{0.1f, 0.1f, 0.1f};
constexpr Color kFrame{0.6f, 0.6f, 0.6f};
// Matplotlib's tab10, as the library's plots use.
constexpr Color kPalette[10] = {{0.122f, 0.467f, 0.706f}, {1.000f, 0.498f, 0.055f}, {0.173f, 0.627f, 0.173f},
                                {0.839f, 0.153f, 0.157f}, {0.580f, 0.404f, 0.741f}, {0.549f, 0.337f, 0.294f},
                                {0.890f, 0.467f, 0.761f}, {0.498f, 0.498f, 0.498f}, {0.737f, 0.741f, 0.133f},
                                {0.090f, 0.745f, 0.812f}};

// Grayscale pictures are saved as gray PNGs: a third of the size of RGB.
void save_gray(const Canvas& cv, const std::string& path) {
  const auto& px = cv.pixels();
  xt::xtensor<float, 2> g = xt::xtensor<float, 2>::from_shape({cv.height(), cv.width()});
  for (std::size_t i = 0; i < g.size(); ++i)
    g.data()[i] = 0.299f * px.data()[3 * i] + 0.587f * px.data()[3 * i + 1] + 0.114f * px.data()[3 * i + 2];
  write_png(path, g);
}

std::ptrdiff_t pd(std::size_t v) { return static_cast<std::ptrdiff_t>(v); }

// Test originals (top row) above each model's reconstructions, one panel per model.
void reconstructions_png(const std::string& path, const std::vector<result>& rs, const xt::xtensor<float, 2>& originals,
                         const std::string& heading) {
  const std::size_t k = originals.shape()[0], scale = 2, margin = 16, title_h = 22, cols = 2;
  const std::size_t grid_w = (k * 29 + 1) * scale, grid_h = (2 * 29 + 1) * scale;
  const std::size_t panel_w = grid_w + margin, panel_h = title_h + grid_h + margin;
  const std::size_t rows = (rs.size() + cols - 1) / cols;
  const std::size_t top = 40;
  Canvas cv(margin + std::min(cols, rs.size()) * panel_w, top + rows * panel_h);
  cv.text(pd(margin), 12, heading, kInk, 2);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const std::size_t x = margin + (i % cols) * panel_w, y = top + (i / cols) * panel_h;
    cv.text(pd(x), pd(y), rs[i].spec.label, kInk, 2);
    xt::xtensor<float, 2> both = xt::xtensor<float, 2>::from_shape({2 * k, kPixels});
    std::copy(originals.begin(), originals.end(), both.data());
    std::copy(rs[i].reconstructions.begin(), rs[i].reconstructions.end(), both.data() + k * kPixels);
    cv.blit(image_grid(both, 28, 28, k, 1, 1.0f), pd(x), pd(y + title_h), scale);
  }
  save_gray(cv, path);
}

// For each model with discrete codes: the showcase images (top), their code grids (one gray level per
// code index, the grid scaled to 28 × 28) and the images decoded from those indices (`decode_indices`).
void codes_png(const std::string& path, const std::vector<result>& rs, const xt::xtensor<float, 2>& originals,
               const std::string& heading) {
  std::vector<const result*> vs;
  for (const auto& r : rs)
    if (r.code_grids.size() > 0) vs.push_back(&r);
  if (vs.empty()) return;
  const std::size_t k = originals.shape()[0], scale = 2, margin = 16, title_h = 22, top = 40;
  const std::size_t grid_w = (k * 29 + 1) * scale, grid_h = (3 * 29 + 1) * scale;
  Canvas cv(std::max(margin + grid_w + margin, margin + Canvas::text_width(heading, 2) + margin),
            top + vs.size() * (title_h + grid_h + margin));
  cv.text(pd(margin), 12, heading, kInk, 2);
  for (std::size_t i = 0; i < vs.size(); ++i) {
    const result& r = *vs[i];
    const std::size_t y = top + i * (title_h + grid_h + margin);
    cv.text(pd(margin), pd(y),
            std::string(r.spec.label) + ": images, their " + std::to_string(r.grid_h) + "x" + std::to_string(r.grid_w) +
                " code grids, decoded from the codes",
            kInk, 2);
    // The code grids, nearest-neighbour scaled to 28 × 28.
    xt::xtensor<float, 2> rows = xt::xtensor<float, 2>::from_shape({3 * k, kPixels});
    std::copy(originals.begin(), originals.end(), rows.data());
    for (std::size_t m = 0; m < k; ++m)
      for (std::size_t py = 0; py < 28; ++py)
        for (std::size_t px = 0; px < 28; ++px)
          rows(k + m, py * 28 + px) = r.code_grids(m, (py * r.grid_h / 28) * r.grid_w + px * r.grid_w / 28);
    std::copy(r.from_indices.begin(), r.from_indices.end(), rows.data() + 2 * k * kPixels);
    cv.blit(image_grid(rows, 28, 28, k, 1, 1.0f), pd(margin), pd(y + title_h), scale);
  }
  save_gray(cv, path);
}

// 8 × 8 samples from each unconditional VAE's prior; for the conditional VAE one row per class.
void samples_png(const std::string& path, const std::vector<result>& rs, const std::vector<std::string>& class_names,
                 const std::string& heading) {
  std::vector<const result*> vs;
  for (const auto& r : rs)
    if (r.samples.size() > 0) vs.push_back(&r);
  if (vs.empty()) return;
  const std::size_t scale = 2, margin = 16, title_h = 22, top = 40, cols = std::min<std::size_t>(2, vs.size());
  const std::size_t grid_w = (8 * 29 + 1) * scale;
  // Class names to the left of the conditional model's rows.
  std::size_t label_w = 0;
  for (std::size_t c = 0; c < kClasses; ++c)
    label_w = std::max(label_w, Canvas::text_width(c < class_names.size() ? class_names[c] : std::to_string(c)) + 8);
  auto caption_of = [](const result* r) {
    return std::string(r->spec.label) + (r->conditional ? ": one row per class" : ": " + r->sampler);
  };
  auto width_of = [&](const result* r) {
    return std::max((r->conditional ? label_w : 0) + grid_w, Canvas::text_width(caption_of(r), 2));
  };
  auto height_of = [&](const result* r) { return title_h + (r->samples.shape()[0] / 8 * 29 + 1) * scale; };
  // Column widths and row heights of the panel grid.
  std::vector<std::size_t> col_w(cols, 0), row_h((vs.size() + cols - 1) / cols, 0);
  for (std::size_t i = 0; i < vs.size(); ++i) {
    col_w[i % cols] = std::max(col_w[i % cols], width_of(vs[i]));
    row_h[i / cols] = std::max(row_h[i / cols], height_of(vs[i]));
  }
  std::size_t w = margin, h = top;
  for (auto v : col_w) w += v + margin;
  for (auto v : row_h) h += v + margin;
  Canvas cv(std::max(w, margin + Canvas::text_width(heading, 2) + margin), h);
  cv.text(pd(margin), 12, heading, kInk, 2);
  std::size_t y = top;
  for (std::size_t i = 0; i < vs.size(); ++i) {
    const result& r = *vs[i];
    std::size_t x = margin;
    for (std::size_t c = 0; c < i % cols; ++c) x += col_w[c] + margin;
    const std::size_t gx = x + (r.conditional ? label_w : 0);
    cv.text(pd(gx), pd(y), caption_of(&r), kInk, 2);
    cv.blit(image_grid(r.samples, 28, 28, 8, 1, 1.0f), pd(gx), pd(y + title_h), scale);
    if (r.conditional)
      for (std::size_t c = 0; c < kClasses; ++c) {
        const std::string name = c < class_names.size() ? class_names[c] : std::to_string(c);
        cv.text(pd(gx - 6 - Canvas::text_width(name)), pd(y + title_h + (c * 29 + 14) * scale - 3), name, kInk);
      }
    if (i % cols == cols - 1) y += row_h[i / cols] + margin;
  }
  save_gray(cv, path);
}

// The q-th quantile of v (copied; q in [0, 1]).
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

// All models' 2-D codes side by side (at most 1500 points each), coloured by class, with one legend.
void latent_png(const std::string& path, const std::vector<result>& rs, const xt::xtensor<std::int32_t, 1>& labels,
                const std::vector<std::string>& class_names, const std::string& heading) {
  const std::size_t side = 300, margin = 16, title_h = 24, cols = std::min<std::size_t>(4, rs.size()), top = 40;
  const std::size_t rows = (rs.size() + cols - 1) / cols, legend_h = 28;
  Canvas cv(margin + cols * (side + margin), top + rows * (title_h + side + margin) + legend_h);
  cv.text(pd(margin), 12, heading, kInk, 2);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& c = rs[i].codes2;
    const std::size_t n = std::min<std::size_t>(1500, c.shape()[0]);
    const double x0 = static_cast<double>(margin + (i % cols) * (side + margin));
    const double y0 = static_cast<double>(top + (i / cols) * (title_h + side + margin) + title_h);
    cv.text(static_cast<std::ptrdiff_t>(x0), static_cast<std::ptrdiff_t>(y0) - title_h + 2, rs[i].spec.label, kInk, 2);
    cv.rect(x0, y0, static_cast<double>(side), static_cast<double>(side), kFrame);
    // The central 99% of each axis fills the square, so one outlier cannot squash the picture.
    std::vector<double> xs(n), ys(n);
    for (std::size_t p = 0; p < n; ++p) xs[p] = c(p, 0), ys[p] = c(p, 1);
    double xlo = quantile(xs, 0.005), xhi = quantile(xs, 0.995), ylo = quantile(ys, 0.005), yhi = quantile(ys, 0.995);
    if (!(xhi > xlo)) xlo -= 1, xhi += 1;
    if (!(yhi > ylo)) ylo -= 1, yhi += 1;
    const double pad = 0.05, inner = static_cast<double>(side) * (1 - 2 * pad);
    for (std::size_t p = 0; p < n; ++p) {
      const double px = x0 + static_cast<double>(side) * pad + (xs[p] - xlo) / (xhi - xlo) * inner;
      const double py = y0 + static_cast<double>(side) * (1 - pad) - (ys[p] - ylo) / (yhi - ylo) * inner;
      if (px < x0 + 2 || px > x0 + static_cast<double>(side) - 2 || py < y0 + 2 ||
          py > y0 + static_cast<double>(side) - 2)
        continue;
      // Crisp 3 × 3 squares rather than anti-aliased discs: the same picture in a third of the bytes.
      cv.fill_rect(std::floor(px) - 1, std::floor(py) - 1, 3, 3, kPalette[static_cast<std::size_t>(labels(p)) % 10]);
    }
  }
  // Legend: one swatch per class along the bottom.
  std::ptrdiff_t x = pd(margin);
  const std::ptrdiff_t y = pd(cv.height() - legend_h + 6);
  for (std::size_t k = 0; k < kClasses; ++k) {
    const std::string name = k < class_names.size() ? class_names[k] : std::to_string(k);
    cv.point(static_cast<double>(x) + 5, static_cast<double>(y) + 4, kPalette[k], 4.5);
    cv.text(x + 14, y + 1, name, kInk);
    x += 14 + pd(Canvas::text_width(name)) + 18;
  }
  cv.save(path);
}

// "z3". (Appending rather than "z" + std::string: g++ 12's -Wrestrict misfires on the latter.)
std::string unit_name(std::size_t u) { return std::string("z").append(std::to_string(u)); }

// Each scored model's normalised unit × factor mutual information, units in KL (or variance) order.
void mutual_information_png(const std::string& path, const std::vector<result>& rs, const bench& b,
                            const std::string& heading) {
  std::vector<const result*> ss;
  for (const auto& r : rs)
    if (r.scored) ss.push_back(&r);
  if (ss.empty()) return;
  constexpr std::size_t cell = 34, margin = 16, title_h = 22, top = 40, cols = 3;
  auto labels_of = [](const result& r) {
    std::vector<std::string> l;
    for (std::size_t u : r.report.unit_order) l.push_back(unit_name(u));
    return l;
  };
  auto [w, h] = heat_map_extent(ss[0]->code_size, b.factor_names.size(), labels_of(*ss[0]), cell);
  for (const result* r : ss) w = std::max(w, Canvas::text_width(r->spec.label + ": MIG 0.00", 2));
  const std::size_t nc = std::min(cols, ss.size()), nr = (ss.size() + cols - 1) / cols;
  Canvas cv(std::max(margin + nc * (w + 2 * margin), margin + Canvas::text_width(heading, 2) + margin),
            top + nr * (title_h + h + margin));
  cv.text(pd(margin), 12, heading, kInk, 2);
  for (std::size_t i = 0; i < ss.size(); ++i) {
    const result& r = *ss[i];
    const std::size_t x = margin + (i % cols) * (w + 2 * margin), y = top + (i / cols) * (title_h + h + margin);
    cv.text(pd(x), pd(y), r.spec.label + ": MIG " + fixed(r.report.mig.score, 2), kInk, 2);
    const xt::xtensor<double, 2> all = r.report.mutual_information.normalised();
    xt::xtensor<double, 2> ordered = xt::xtensor<double, 2>::from_shape(all.shape());
    for (std::size_t u = 0; u < all.shape()[0]; ++u)
      for (std::size_t k = 0; k < all.shape()[1]; ++k) ordered(u, k) = all(r.report.unit_order[u], k);
    draw_heat_map(cv, pd(x), pd(y + title_h), ordered, labels_of(r), b.factor_names, cell);
  }
  cv.save(path);
}

// A VAE's traversals: one panel per seed image, a row per unit (largest KL first), a column per value.
void traversal_png(const std::string& path, const result& r, std::size_t seeds, const std::string& heading) {
  const std::size_t units = r.code_size, nv = kTraversalValues.size(), scale = 2, margin = 16, top = 40, head_h = 16;
  const std::size_t label_w = Canvas::text_width("z0 KL 00.00") + 8;
  const std::size_t grid_w = (nv * 29 + 1) * scale, grid_h = (units * 29 + 1) * scale;
  Canvas cv(std::max(margin + seeds * (label_w + grid_w + margin), margin + Canvas::text_width(heading, 2) + margin),
            top + head_h + grid_h + margin);
  cv.text(pd(margin), 12, heading, kInk, 2);
  for (std::size_t s = 0; s < seeds; ++s) {
    const std::size_t x = margin + s * (label_w + grid_w + margin) + label_w, y = top + head_h;
    xt::xtensor<float, 2> block = xt::xtensor<float, 2>::from_shape({units * nv, kPixels});
    std::copy_n(r.traversal.data() + s * units * nv * kPixels, units * nv * kPixels, block.data());
    cv.blit(image_grid(block, 28, 28, nv, 1, 1.0f), pd(x), pd(y), scale);
    for (std::size_t v = 0; v < nv; ++v) {
      const std::string t = fixed(kTraversalValues[v], 0);
      cv.text(pd(x + (v * 29 + 15) * scale - Canvas::text_width(t) / 2), pd(top + 2), t, kInk);
    }
    for (std::size_t u = 0; u < units; ++u) {
      const std::size_t unit = r.report.unit_order[u];
      const std::string t = unit_name(unit).append(" KL ").append(fixed(r.report.kl_per_unit(unit), 2));
      cv.text(pd(x - label_w), pd(y + (u * 29 + 15) * scale - 3), t, kInk);
    }
  }
  save_gray(cv, path);
}

// Every scored model's interpolations, one panel each: a row per pair of test images.
void interpolations_png(const std::string& path, const std::vector<result>& rs, const std::string& heading) {
  std::vector<const result*> ss;
  for (const auto& r : rs)
    if (r.scored) ss.push_back(&r);
  if (ss.empty()) return;
  const std::size_t steps = 8, pairs = ss[0]->interpolation.shape()[0] / steps, scale = 2, margin = 16, title_h = 22;
  const std::size_t top = 40, cols = 3, grid_w = (steps * 29 + 1) * scale, grid_h = (pairs * 29 + 1) * scale;
  const std::size_t nc = std::min(cols, ss.size()), nr = (ss.size() + cols - 1) / cols;
  Canvas cv(std::max(margin + nc * (grid_w + margin), margin + Canvas::text_width(heading, 2) + margin),
            top + nr * (title_h + grid_h + margin));
  cv.text(pd(margin), 12, heading, kInk, 2);
  for (std::size_t i = 0; i < ss.size(); ++i) {
    const std::size_t x = margin + (i % cols) * (grid_w + margin), y = top + (i / cols) * (title_h + grid_h + margin);
    cv.text(pd(x), pd(y), ss[i]->spec.label, kInk, 2);
    cv.blit(image_grid(ss[i]->interpolation, 28, 28, steps, 1, 1.0f), pd(x), pd(y + title_h), scale);
  }
  save_gray(cv, path);
}

// ---- data ---------------------------------------------------------------------------------------

Dataset first_rows(const Dataset& d, std::size_t n) { return n == 0 || n >= d.size() ? d : take(d, 0, n); }

bench load(const options& o) {
  bench b;
  b.opt = &o;
  if (o.data == "shapes") {
    const std::size_t n_train = o.train_size ? o.train_size : 10000, n_test = o.test_size ? o.test_size : 2000;
    // The images of make_shapes_split, with their true factors.
    auto [train, test] = make_shapes_split_with_factors(n_train, n_test, o.seed);
    b.train = std::move(train.data);
    b.test = std::move(test.data);
    b.has_factors = true;
    b.test_factors = std::move(test.factors);
    for (const auto& f : test.info) b.factor_names.push_back(f.name);
    b.votes = sample_factor_votes(
        [](std::size_t k, std::size_t n, std::uint64_t seed) { return make_shapes_sharing(k, n, seed).data.x; },
        shapes_factor::count, kVotes);
  } else {
    b.train = first_rows(load_fashion_mnist("train"), o.train_size);
    b.test = first_rows(load_fashion_mnist("test"), o.test_size);
  }
  if (b.train.size() < 5) throw option_error("--train-size: expected at least 5 training images (for 5-NN)");
  if (b.test.size() < 1) throw option_error("--test-size: expected at least 1 test image");
  const std::size_t nll = std::min(o.nll_samples, b.test.size());
  b.nll_x = take(b.test, 0, nll > 0 ? nll : 1).x;
  if (b.has_factors) {
    // Traversals of three test images (the first square, triangle and ellipse); interpolations
    // between test images 0 and 1, 2 and 3, ... (4 pairs, or fewer on a small test set).
    std::vector<std::size_t> seeds;
    for (std::int32_t c : {2, 4, 9})
      for (std::size_t i = 0; i < b.test.size(); ++i)
        if (b.test.labels(i) == c) {
          seeds.push_back(i);
          break;
        }
    if (seeds.empty()) seeds.push_back(0);
    b.traversal_seeds = rows_of(b.test.x, seeds);
    std::vector<std::size_t> from, to;
    for (std::size_t p = 0; p < 4 && 2 * p + 1 < b.test.size(); ++p) from.push_back(2 * p), to.push_back(2 * p + 1);
    if (from.empty()) from.push_back(0), to.push_back(0);
    b.interpolate_from = rows_of(b.test.x, from);
    b.interpolate_to = rows_of(b.test.x, to);
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    options o;
    if (!parse(argc, argv, o)) return 0;
    const auto t0 = std::chrono::steady_clock::now();
    const bench b = load(o);
    std::filesystem::create_directories(o.out);
    // One test image of each class, first of its kind, for the reconstruction pictures.
    std::vector<std::size_t> showcase;
    for (std::int32_t c = 0; c < static_cast<std::int32_t>(kClasses); ++c)
      for (std::size_t i = 0; i < b.test.size(); ++i)
        if (b.test.labels(i) == c) {
          showcase.push_back(i);
          break;
        }
    if (!o.quiet)
      std::fprintf(stderr, "compare: %s, %s layers, %zu train / %zu test images, Z = %zu, %zu epochs, batch %zu\n",
                   o.data.c_str(), o.arch.c_str(), b.train.size(), b.test.size(), o.latent, o.epochs, o.batch_size);

    const std::vector<result> rs = run_chosen_family(o, b, showcase);

    const std::string table = markdown_table(rs, o, b);
    const std::string what = o.data + (o.arch == "dense" ? "" : ", " + o.arch) + ", Z = " + std::to_string(o.latent) + ", " +
                             std::to_string(o.epochs) + (o.epochs == 1 ? " epoch" : " epochs");
    std::printf("\n%s", table.c_str());
    std::ofstream(o.out + "/results.md") << "# latent: the "
                                         << (o.arch == "conv"     ? "convolutional "
                                             : o.arch == "resnet" ? "residual, normalised "
                                                                  : "")
                                         << "autoencoder family on " << o.data << " (Z = " << o.latent << ", "
                                         << o.epochs << " epochs)\n\n"
                                         << table;

    const std::string dir = o.out + "/";
    reconstructions_png(dir + "reconstructions.png", rs, rows_of(b.test.x, showcase),
                        "Test images (top) and reconstructions - " + what);
    samples_png(dir + "samples.png", rs, b.test.class_names, "Samples - " + what);
    codes_png(dir + "codes.png", rs, rows_of(b.test.x, showcase), "Discrete codes - " + what);
    const std::string projection = o.latent == 2 ? "the 2-D code" : "first two principal components of the code";
    latent_png(dir + "latent.png", rs, b.test.labels, b.test.class_names, "Test codes: " + projection + " - " + what);
    for (const auto& r : rs)
      scatter_plot(dir + "latent-" + r.spec.key + ".png", r.codes2, b.test.labels, b.test.class_names,
                   std::string(r.spec.label) + ": " + (o.latent == 2 ? "code" : "PCA of the code"), 720, 540);
    std::vector<std::pair<std::string, std::vector<double>>> curves;
    for (const auto& r : rs) curves.emplace_back(r.spec.label, r.loss_per_image);
    line_plot(dir + "curves.png", curves, "Training loss per epoch - " + what, "epoch", "nats per image", 900, 560);

    if (b.has_factors) {
      const std::string dtable = disentanglement_table(rs, b);
      std::printf("\n%s", dtable.c_str());
      std::ofstream(o.out + "/disentanglement.md")
          << "# latent: disentanglement on the shapes factors (Z = " << o.latent << ", " << o.epochs << " epochs)\n\n"
          << dtable;
      mutual_information_png(dir + "mutual-information.png", rs, b,
                             "I(unit; factor) / H(factor), units in KL order - " + what);
      interpolations_png(dir + "interpolations.png", rs, "Interpolations between test images - " + what);
      for (const auto& r : rs)
        if (r.scored && r.traversal.size() > 0)
          traversal_png(dir + "traversal-" + r.spec.key + ".png", r, b.traversal_seeds.shape()[0],
                        std::string(r.spec.label) + ": one unit from -3 to 3, units by KL - " + what);
    }
    const double wall = seconds_since(t0);
    std::ofstream(o.out + "/results.json") << json_results(rs, o, b, wall);
    std::printf(
        "\nWrote %sresults.md, results.json, reconstructions.png, samples.png, latent.png, latent-<model>.png, "
        "curves.png%s%s (%.1f s in all)\n",
        dir.c_str(), std::any_of(rs.begin(), rs.end(), [](const result& r) { return r.codebook > 0; }) ? ", codes.png" : "",
        b.has_factors ? ", disentanglement.md, mutual-information.png, interpolations.png, traversal-<model>.png" : "",
        wall);
  } catch (const latent::error& e) {
    std::fprintf(stderr, "compare: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare: %s\n", e.what());
    return 1;
  }
}
