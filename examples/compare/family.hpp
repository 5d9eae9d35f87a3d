#pragma once
// The comparison's models: the family's architectures, and `run_family`'s definition, which trains and
// measures them. Each (architecture, code size) pair is instantiated in a translation unit of its own
// (dense_2.cpp ... conv_16.cpp: one explicit instantiation each), so that each compiler process holds
// one family (six or seven models, their fit and their analyses) and the pairs compile in parallel.
//
// Every dense model has the same encoder 784 → H ReLU → Z and decoder Z → H ReLU → 784 logits; they
// differ only in what they add (noise, a penalty, a Gaussian head, importance samples, a label).
#include "compare.hpp"

#include <latent/analysis/disentanglement_report.hpp>
#include <latent/analysis/gaussian_mixture.hpp>
#include <latent/analysis/interpolation.hpp>
#include <latent/analysis/traversal.hpp>
#include <latent/latent.hpp>
#include <latent/models/contractive_autoencoder.hpp>
#include <latent/training/metrics.hpp>

#include <algorithm>  // std::find, std::find_if, std::copy
#include <chrono>     // timing
#include <cstddef>    // std::size_t, std::ptrdiff_t
#include <cstdint>    // std::int32_t
#include <cstdio>     // std::fprintf
#include <iterator>   // std::begin, std::end
#include <memory>     // std::unique_ptr (models hold large parameter buffers)
#include <string>
#include <type_traits>  // std::conditional_t
#include <vector>

namespace compare {

// latent's vocabulary unqualified, as in every example: this header is the implementation of the
// family translation units and included by them alone, and the directive stays inside `compare`.
using namespace latent;

// The family's architectures for code size Z: strong names, so that errors print them.
template <std::size_t Z>
struct dense_family {
  /// Deterministic autoencoders: a linear code, as the VAEs' μ. (A Sigmoid or Tanh code saturates in
  /// the first epoch under BCE with Adam 1e-3 on this data and the autoencoder learns the mean image.)
  struct Encoder : Seq<Dense<kPixels, kHidden, Relu>, Dense<kHidden, Z, Identity>> {};
  /// Shared by every model but the conditional one: Z → H → 784 logits.
  struct Decoder : Seq<Dense<Z, kHidden, Relu>, Dense<kHidden, kPixels, Identity>> {};
  /// VAE family: the same hidden layer, then a Gaussian head (μ and log σ² of Z units).
  struct GaussianEncoder : Seq<Dense<kPixels, kHidden, Relu>, Gaussian<Z>> {};
  /// Conditional VAE: the one-hot label joins the encoder's and the decoder's input.
  struct ConditionalEncoder : Seq<Dense<kPixels + kClasses, kHidden, Relu>, Gaussian<Z>> {};
  struct ConditionalDecoder : Seq<Dense<Z + kClasses, kHidden, Relu>, Dense<kHidden, kPixels, Identity>> {};

  using AE = Autoencoder<Encoder, Decoder, BCEWithLogits>;
  using DAE = DenoisingAutoencoder<Encoder, Decoder, BCEWithLogits>;
  using SAE = SparseAutoencoder<Encoder, Decoder, BCEWithLogits>;
  using CAE = ContractiveAutoencoder<Encoder, Decoder, BCEWithLogits>;
  using VAE_ = VAE<GaussianEncoder, Decoder>;  // Bernoulli likelihood on logits
  using IWAE_ = IWAE<GaussianEncoder, Decoder, 5>;
  using CVAE = ConditionalVAE<ConditionalEncoder, ConditionalDecoder, kClasses>;
};

// The convolutional family (`--arch conv`): the same roles, with images as shapes. Encoder 1×28×28 →
// Conv2D 16 (3×3, stride 2, Same) → 16×14×14 → Conv2D 32 → 32×7×7 → Flatten → Z; decoder Z → 1568 →
// 32×7×7 → ConvTranspose2D 16 → 16×14×14 → ConvTranspose2D 1 → 1×28×28 logits. The conditional
// encoder takes the label as 10 constant planes after the image (Input<1 + 10, 28, 28>). No
// contractive model: its exact Jacobian penalty is written for Dense encoders (a compile-time rule).
template <std::size_t Z>
struct conv_family {
  struct Encoder : Seq<Input<1, 28, 28>, Conv2D<16, 3, 2, Same, Relu>, Conv2D<32, 3, 2, Same, Relu>, Flatten,
                       Dense<1568, Z, Identity>> {};
  struct Decoder : Seq<Dense<Z, 1568, Relu>, Reshape<32, 7, 7>, ConvTranspose2D<16, 3, 2, Same, Relu>,
                       ConvTranspose2D<1, 3, 2, Same>> {};
  struct GaussianEncoder
      : Seq<Input<1, 28, 28>, Conv2D<16, 3, 2, Same, Relu>, Conv2D<32, 3, 2, Same, Relu>, Flatten, Gaussian<Z>> {};
  struct ConditionalEncoder : Seq<Input<1 + kClasses, 28, 28>, Conv2D<16, 3, 2, Same, Relu>,
                                  Conv2D<32, 3, 2, Same, Relu>, Flatten, Gaussian<Z>> {};
  struct ConditionalDecoder : Seq<Dense<Z + kClasses, 1568, Relu>, Reshape<32, 7, 7>,
                                  ConvTranspose2D<16, 3, 2, Same, Relu>, ConvTranspose2D<1, 3, 2, Same>> {};

  using AE = Autoencoder<Encoder, Decoder, BCEWithLogits>;
  using DAE = DenoisingAutoencoder<Encoder, Decoder, BCEWithLogits>;
  using SAE = SparseAutoencoder<Encoder, Decoder, BCEWithLogits>;
  using VAE_ = VAE<GaussianEncoder, Decoder>;
  using IWAE_ = IWAE<GaussianEncoder, Decoder, 5>;
  using CVAE = ConditionalVAE<ConditionalEncoder, ConditionalDecoder, kClasses>;
};

// The residual family (`--arch resnet`): the conv family's layers with BatchNorm after the strided
// convolutions and one pre-activation residual block (latent diffusion's: GroupNorm → SiLU → 3×3 conv,
// twice, plus the skip) at 32×7×7 on each side. No contractive model (Dense encoders only) and no IWAE
// (it repeats rows through BatchNorm's batch statistics): both compile-time rules.
template <std::size_t Z>
struct resnet_family {
  using ResBlock = Residual<Seq<GroupNorm<8>, Silu, Conv2D<32, 3, 1, Same>, GroupNorm<8>, Silu, Conv2D<32, 3, 1, Same>>>;
  template <std::size_t Channels>
  struct Body : Seq<Input<Channels, 28, 28>, Conv2D<16, 3, 2, Same>, BatchNorm, Relu, Conv2D<32, 3, 2, Same>,
                    BatchNorm, Relu, ResBlock, Flatten> {};
  template <std::size_t In>
  struct Up : Seq<Dense<In, 1568>, Reshape<32, 7, 7>, ResBlock, ConvTranspose2D<16, 3, 2, Same>, BatchNorm, Relu,
                  ConvTranspose2D<1, 3, 2, Same>> {};
  struct Encoder : Seq<Body<1>, Dense<1568, Z, Identity>> {};
  struct Decoder : Up<Z> {};
  struct GaussianEncoder : Seq<Body<1>, Gaussian<Z>> {};
  struct ConditionalEncoder : Seq<Body<1 + kClasses>, Gaussian<Z>> {};
  struct ConditionalDecoder : Up<Z + kClasses> {};

  using AE = Autoencoder<Encoder, Decoder, BCEWithLogits>;
  using DAE = DenoisingAutoencoder<Encoder, Decoder, BCEWithLogits>;
  using SAE = SparseAutoencoder<Encoder, Decoder, BCEWithLogits>;
  using VAE_ = VAE<GaussianEncoder, Decoder>;
  using CVAE = ConditionalVAE<ConditionalEncoder, ConditionalDecoder, kClasses>;
};

template <class M>
concept vae_family_model = requires { typename M::likelihood_type; };
template <class M>
concept discrete_code_model = requires(const M& m, const xt::xtensor<float, 2>& x) { m.encode_indices(x); };
template <class M>
concept conditional_model = requires { M::condition_size; } && (M::condition_size > 0);

// Code units whose value varies over the data with variance above 0.01 (Burda et al.'s "active units",
// computed on the code itself for deterministic models).
inline std::size_t active_units_of(const xt::xtensor<float, 2>& codes, double threshold = 0.01) {
  const std::size_t n = codes.shape()[0], z = codes.shape()[1];
  std::size_t active = 0;
  for (std::size_t j = 0; j < z; ++j) {
    double m = 0, v = 0;
    for (std::size_t r = 0; r < n; ++r) m += codes(r, j);
    m /= static_cast<double>(n);
    for (std::size_t r = 0; r < n; ++r) v += (codes(r, j) - m) * (codes(r, j) - m);
    if (v / static_cast<double>(n) > threshold) ++active;
  }
  return active;
}

// Trains `model` with the shared budget, then measures it on the test set.
template <class M>
result run_model(const row_spec& spec, M& model, const bench& b, const std::vector<std::size_t>& showcase_rows) {
  const options& o = *b.opt;
  constexpr bool vae = vae_family_model<M>;
  constexpr bool cond = conditional_model<M>;
  result r;
  r.spec = spec;
  r.vae_family = vae;
  r.conditional = cond;
  r.code_size = M::code_size;
  r.params = M::param_count;
  if (!o.quiet) {
    std::fprintf(stderr, "  %-14s training %zu epochs ...", spec.label.c_str(), o.epochs);
    std::fflush(stderr);
  }

  Adam opt(1e-3);
  const FitOptions fit_options{
      .epochs = o.epochs, .batch_size = o.batch_size, .seed = o.seed, .progress = Progress::quiet};
  const auto t0 = std::chrono::steady_clock::now();
  History h;
  if constexpr (cond)
    h = fit(model, b.train.x, b.train.labels, opt, fit_options);
  else
    h = fit(model, b.train.x, opt, fit_options);
  r.train_seconds = seconds_since(t0);
  r.samples_per_second = static_cast<double>(o.epochs * b.train.size()) / r.train_seconds;
  // The autoencoders' loss is a mean over pixels; the VAEs' a sum (nats per image): one scale for both.
  const double per_image = vae ? 1.0 : static_cast<double>(kPixels);
  for (double l : h.loss) r.loss_per_image.push_back(l * per_image);
  if (!o.quiet) {
    std::fprintf(stderr, " %6.1f s (%6.0f samples/s, loss %.1f -> %.1f per image); evaluating ...", r.train_seconds,
                 r.samples_per_second, r.loss_per_image.front(), r.loss_per_image.back());
    std::fflush(stderr);
  }

  const auto t1 = std::chrono::steady_clock::now();
  const auto& test = b.test;
  xt::xtensor<float, 2> recon, codes_train, codes_test;
  if constexpr (cond) {
    recon = model.reconstruct(test.x, test.labels);
    codes_train = model.encode(b.train.x, b.train.labels);
    codes_test = model.encode(test.x, test.labels);
  } else {
    recon = model.reconstruct(test.x);
    codes_train = model.encode(b.train.x);
    codes_test = model.encode(test.x);
  }
  r.mse = mean_mse_per_sample(recon, test.x);
  r.bce = mean_bce_per_sample(recon, test.x);
  r.knn = knn_accuracy(codes_train, b.train.labels, codes_test, test.labels, 5);
  r.reconstructions = rows_of(recon, showcase_rows);
  r.codes2 = M::code_size == 2 ? codes_test : pca_project(codes_test, 2);
  if constexpr (vae) {
    if constexpr (cond) {
      r.neg_elbo = -model.elbo(test.x, test.labels, o.seed);
      r.active = model.active_units(test.x, test.labels);
      if (o.nll_samples > 0 && o.nll_k > 0) {
        const std::size_t m = b.nll_x.shape()[0];
        xt::xtensor<std::int32_t, 1> nll_labels = xt::xtensor<std::int32_t, 1>::from_shape({m});
        std::copy(test.labels.begin(), test.labels.begin() + static_cast<std::ptrdiff_t>(m), nll_labels.begin());
        r.nll = -model.log_likelihood(b.nll_x, nll_labels, o.nll_k, o.seed);
      }
      r.samples = xt::xtensor<float, 2>::from_shape({8 * kClasses, kPixels});
      for (std::size_t c = 0; c < kClasses; ++c) {
        const auto s = model.generate(8, static_cast<std::int32_t>(c), o.seed + c);
        std::copy(s.begin(), s.end(), r.samples.data() + c * 8 * kPixels);
      }
    } else {
      r.neg_elbo = -model.elbo(test.x, o.seed);
      if (o.nll_samples > 0 && o.nll_k > 0) r.nll = -model.log_likelihood(b.nll_x, o.nll_k, o.seed);
      r.active = model.active_units(test.x);
      r.samples = model.generate(64, o.seed);
      r.sampler = "z ~ N(0, I)";
    }
  } else {
    r.active = active_units_of(codes_test);
    if constexpr (discrete_code_model<M>) {
      // Discrete codes: the test codes' perplexity and usage, the showcase images' code grids. No samples:
      // a VQ-VAE generates through a prior over its code grids (an autoregressive model), not built here.
      const auto indices = model.encode_indices(test.x);
      r.codebook = M::codes;
      r.perplexity = codebook_perplexity(indices, M::codes);
      r.usage = codebook_usage(indices, M::codes);
      const xt::xtensor<std::int32_t, 2> shown = model.encode_indices(rows_of(test.x, showcase_rows));
      // The grid's shape: square when the positions are (7 × 7 after convolutions), else one row.
      r.grid_h = 1;
      for (std::size_t h = 1; h * h <= M::positions; ++h)
        if (h * h == M::positions) r.grid_h = h;
      r.grid_w = M::positions / r.grid_h;
      r.code_grids = xt::xtensor<float, 2>::from_shape({shown.shape()[0], M::positions});
      for (std::size_t i = 0; i < shown.size(); ++i)
        r.code_grids.data()[i] = static_cast<float>(shown.data()[i]) / static_cast<float>(M::codes - 1);
      r.from_indices = model.decode_indices(shown);
    } else {
      // A deterministic model generates through a density fitted to its training codes afterwards
      // (pythae's GMM sampler: 10 full-covariance components).
      const GaussianMixture gmm = GaussianMixture::fit(codes_train, {.components = 10, .seed = o.seed});
      Rng rng(o.seed);
      r.samples = model.decode(gmm.sample(64, rng));
      r.sampler = "GMM(10) fitted to the training codes";
    }
  }
  if constexpr (!cond) {
    if (b.has_factors) {
      r.scored = true;
      r.report = disentanglement_report(model, test.x, b.test_factors, b.votes);
      if constexpr (vae)
        r.traversal = latent_traversal(model, b.traversal_seeds, r.report.unit_order, kTraversalValues);
      r.interpolation = latent_interpolation(model, b.interpolate_from, b.interpolate_to, 8);
    }
  }
  r.eval_seconds = seconds_since(t1);
  if (!o.quiet) std::fprintf(stderr, " %.1f s\n", r.eval_seconds);
  return r;
}

template <architecture A, std::size_t Z>
std::vector<result> run_family(const bench& b, const std::vector<std::size_t>& showcase_rows) {
  static_assert(supported(A, Z),
                "compare: this code size is not among compare.hpp's kSupportedLatents (kConvSupportedLatents, "
                "kResNetSupportedLatents for the others), so main.cpp would never run this family");
  using F = std::conditional_t<A == architecture::conv, conv_family<Z>,
                               std::conditional_t<A == architecture::resnet, resnet_family<Z>, dense_family<Z>>>;
  const options& o = *b.opt;
  std::vector<result> results;
  for (const auto& key : o.models) {
    const model_spec& fixed =
        *std::find_if(std::begin(kModels), std::end(kModels), [&](const model_spec& s) { return key == s.key; });
    const row_spec spec{fixed.key, fixed.label, fixed.name};
    // Each model is built on the heap: its parameters, gradients and workspaces are large.
    if (key == "ae") {
      auto m = std::make_unique<typename F::AE>(o.seed);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "dae") {
      auto m = std::make_unique<typename F::DAE>(o.seed, kDenoising);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "sae") {
      auto m = std::make_unique<typename F::SAE>(o.seed, kSparsity);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "cae") {
      if constexpr (requires { typename F::CAE; }) {
        auto m = std::make_unique<typename F::CAE>(o.seed, kContraction);
        results.push_back(run_model(spec, *m, b, showcase_rows));
      }
    } else if (key == "vae") {
      auto m = std::make_unique<typename F::VAE_>(o.seed);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "bvae") {
      for (const double beta : o.betas) {  // one row per β; β = 4 keeps the plain key
        const std::string text = fixed_beta(beta);
        const row_spec row{beta == kBeta ? "bvae" : "bvae" + text, "beta-VAE (b=" + text + ")",
                           "β-VAE (β = " + text + ")"};
        auto m = std::make_unique<typename F::VAE_>(o.seed);
        m->set_beta(beta);
        results.push_back(run_model(row, *m, b, showcase_rows));
      }
    } else if (key == "iwae") {
      if constexpr (requires { typename F::IWAE_; }) {
        auto m = std::make_unique<typename F::IWAE_>(o.seed);
        results.push_back(run_model(spec, *m, b, showcase_rows));
      }
    } else if (key == "cvae") {
      auto m = std::make_unique<typename F::CVAE>(o.seed);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    }
  }
  return results;
}

}  // namespace compare
