#pragma once
// The rest of the family, beside family.hpp's classic models: the WAE (MMD), the VQ-VAE, ... Each
// (architecture, code size) pair instantiates `run_family_more` in a translation unit of its own
// (<arch>_<Z>_more.cpp), compiled beside <arch>_<Z>.cpp, so that adding models does not lengthen the
// build of one compiler process. Same data, budget and measurements as the classic models (run_model).
#include "family.hpp"

#include <latent/models/factor_vae.hpp>
#include <latent/models/info_vae.hpp>
#include <latent/models/rae.hpp>
#include <latent/models/tc_vae.hpp>
#include <latent/models/vamp_vae.hpp>
#include <latent/models/vq_vae.hpp>
#include <latent/models/wae.hpp>

namespace compare {

using namespace latent;

// Dead-code restarts on: a code used by less than one vector per step on average is re-drawn from the
// step's encoder outputs (the remedy for codebook collapse; pythae's EMA recipe has none).
struct CompareVQ : VQEMASettings {
  static constexpr double restart_below = 1.0;
};
// β-TCVAE at the β-VAE's β (kBeta), so the disentanglement table compares them at the same weight;
// FactorVAE at γ = β too, with a narrower discriminator than Kim & Mnih's 5 × 1000 (same depth),
// to keep the comparison's budget: its 4 M parameters would cost more than all other models together.
inline constexpr double kTcBeta = kBeta;
inline constexpr double kFactorGamma = kBeta;  // the same weight as the β-VAE's
inline constexpr std::size_t kDiscriminatorWidth = 256;
inline constexpr std::size_t kDenseCodes = 64;  // the dense VQ-VAE's codebook: Z / 2 codes of 2 values per image
inline constexpr std::size_t kConvCodes = 256;  // the conv VQ-VAE's: 7 × 7 codes of 16 values (pythae's MNIST config)

template <std::size_t Z>
struct dense_more {
  using D = dense_family<Z>;
  /// The dense encoder's linear code read as Z / 2 positions of 2 values, each quantised.
  struct VQEncoder : Seq<Dense<kPixels, kHidden, Relu>, Dense<kHidden, Z, Identity>, Reshape<2, 1, Z / 2>,
                         VectorQuantizerWith<kDenseCodes, 2, CompareVQ>> {};
  using WAE_ = WAE<typename D::Encoder, typename D::Decoder, BCEWithLogits>;
  using VQ = VQVAE<VQEncoder, typename D::Decoder, BCEWithLogits>;
  using TC = BetaTCVAE<typename D::GaussianEncoder, typename D::Decoder>;
  using Factor = FactorVAE<typename D::GaussianEncoder, typename D::Decoder, FactorDiscriminator<Z, kDiscriminatorWidth>>;
  using Info = InfoVAE<typename D::GaussianEncoder, typename D::Decoder>;
  using Vamp = VampVAE<typename D::GaussianEncoder, typename D::Decoder, 50>;
  using RAE = RAE_L2<typename D::Encoder, typename D::Decoder, BCEWithLogits>;
  using RAEGP = RAE_GP<typename D::Encoder, typename D::Decoder, BCEWithLogits>;
};

template <std::size_t Z>
struct conv_more {
  using F = conv_family<Z>;
  /// The conv encoder's 32 × 7 × 7 map, a 1 × 1 convolution to 16 channels, quantised at each of the 49
  /// positions (pythae's MNIST VQ-VAE: 256 codes of 16 values); its code has 784 values whatever Z.
  struct VQEncoder : Seq<Input<1, 28, 28>, Conv2D<16, 3, 2, Same, Relu>, Conv2D<32, 3, 2, Same, Relu>,
                         Conv2D<16, 1, 1, Same>, VectorQuantizerWith<kConvCodes, 16, CompareVQ>> {};
  struct VQDecoder : Seq<Input<16, 7, 7>, Conv2D<32, 3, 1, Same, Relu>, ConvTranspose2D<16, 3, 2, Same, Relu>,
                         ConvTranspose2D<1, 3, 2, Same>> {};
  using WAE_ = WAE<typename F::Encoder, typename F::Decoder, BCEWithLogits>;
  using VQ = VQVAE<VQEncoder, VQDecoder, BCEWithLogits>;
  using TC = BetaTCVAE<typename F::GaussianEncoder, typename F::Decoder>;
  using Factor = FactorVAE<typename F::GaussianEncoder, typename F::Decoder, FactorDiscriminator<Z, kDiscriminatorWidth>>;
  using Info = InfoVAE<typename F::GaussianEncoder, typename F::Decoder>;
  using Vamp = VampVAE<typename F::GaussianEncoder, typename F::Decoder, 50>;
  using RAE = RAE_L2<typename F::Encoder, typename F::Decoder, BCEWithLogits>;
  using RAEGP = RAE_GP<typename F::Encoder, typename F::Decoder, BCEWithLogits>;
};

/// The residual family's parts (family.hpp's `resnet_family`: BatchNorm and a residual block each side).
/// No VampVAE (its pseudo-inputs run through the encoder beside the batch:
/// code_prior_with_anchors_needs_an_encoder_without_state) and no RAE-GP (its extra decoder passes need a
/// per-row decoder: rae_gp_decoder_has_batch_statistics_or_state): BatchNorm refuses both at compile time,
/// and main.cpp refuses their keys with --arch resnet.
template <std::size_t Z>
struct resnet_more {
  using F = resnet_family<Z>;
  /// The residual encoder's 32 × 7 × 7 map (after its residual block), a 1 × 1 convolution to 16 channels,
  /// quantised at each of the 49 positions, as the conv family's (256 codes of 16 values).
  struct VQEncoder
      : Seq<Input<1, 28, 28>, Conv2D<16, 3, 2, Same>, BatchNorm, Relu, Conv2D<32, 3, 2, Same>, BatchNorm, Relu,
            typename F::ResBlock, Conv2D<16, 1, 1, Same>, VectorQuantizerWith<kConvCodes, 16, CompareVQ>> {};
  struct VQDecoder : Seq<Input<16, 7, 7>, Conv2D<32, 3, 1, Same>, typename F::ResBlock, ConvTranspose2D<16, 3, 2, Same>,
                         BatchNorm, Relu, ConvTranspose2D<1, 3, 2, Same>> {};
  using WAE_ = WAE<typename F::Encoder, typename F::Decoder, BCEWithLogits>;
  using VQ = VQVAE<VQEncoder, VQDecoder, BCEWithLogits>;
  using TC = BetaTCVAE<typename F::GaussianEncoder, typename F::Decoder>;
  using Factor =
      FactorVAE<typename F::GaussianEncoder, typename F::Decoder, FactorDiscriminator<Z, kDiscriminatorWidth>>;
  using Info = InfoVAE<typename F::GaussianEncoder, typename F::Decoder>;
  using RAE = RAE_L2<typename F::Encoder, typename F::Decoder, BCEWithLogits>;
};

template <architecture A, std::size_t Z>
std::vector<result> run_family_more(const bench& b, const std::vector<std::size_t>& showcase_rows) {
  static_assert(supported(A, Z),
                "compare: this code size is not among compare.hpp's supported ones for the architecture");
  using F = std::conditional_t<A == architecture::conv, conv_more<Z>,
                               std::conditional_t<A == architecture::resnet, resnet_more<Z>, dense_more<Z>>>;
  const options& o = *b.opt;
  std::vector<result> results;
  for (const auto& key : o.models) {
    if (!is_more_model(key)) continue;
    const model_spec& fixed =
        *std::find_if(std::begin(kModels), std::end(kModels), [&](const model_spec& s) { return key == s.key; });
    const row_spec spec{fixed.key, fixed.label, fixed.name};
    if (key == "tcvae") {
      TCPenalty tc;
      tc.beta = kTcBeta;
      tc.dataset_size = static_cast<double>(b.train.size());  // as pythae's trainer passes it
      auto m = std::make_unique<typename F::TC>(o.seed, tc);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "factorvae") {
      FactorVAESettings fs;
      fs.gamma = kFactorGamma;
      auto m = std::make_unique<typename F::Factor>(o.seed, fs);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "infovae") {
      auto m = std::make_unique<typename F::Info>(o.seed);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "vamp") {
      if constexpr (requires { typename F::Vamp; }) {  // not with BatchNorm (main.cpp refuses the key)
        auto m = std::make_unique<typename F::Vamp>(o.seed);
        results.push_back(run_model(spec, *m, b, showcase_rows));
      }
    } else if (key == "rae") {
      auto m = std::make_unique<typename F::RAE>(o.seed);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "raegp") {
      if constexpr (requires { typename F::RAEGP; }) {  // not with BatchNorm (main.cpp refuses the key)
        auto m = std::make_unique<typename F::RAEGP>(o.seed);
        results.push_back(run_model(spec, *m, b, showcase_rows));
      }
    } else if (key == "wae") {
      auto m = std::make_unique<typename F::WAE_>(o.seed);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    } else if (key == "vqvae") {
      auto m = std::make_unique<typename F::VQ>(o.seed);
      results.push_back(run_model(spec, *m, b, showcase_rows));
    }
  }
  return results;
}

}  // namespace compare
