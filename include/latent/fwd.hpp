#pragma once
/// \file
/// Forward declarations of latent's public types, for headers that only name them (a function that
/// takes a `History&`, a struct that holds a `Model*`). They declare the names only: the default
/// template arguments (`Dense<In, Out>` = `Dense<In, Out, Identity>`, `VAE<Enc, Dec>` with `Bernoulli`
/// and `float`, ...) come with the definitions, so spell every argument here or include the entity's
/// header (or <latent/latent.hpp>). Each entity's documentation is beside its definition, in the header
/// this file names.

#include <cstddef>  // std::size_t
#include <cstdint>  // std::intmax_t

namespace latent {

// ---- layers (layers/) and shapes (core/shape.hpp) ----------------------------------------------------
template <class... Ls>
struct Seq;  // layers/seq.hpp
template <std::size_t In, std::size_t Out, class Act>
struct Dense;  // layers/dense.hpp
template <std::size_t Z>
struct Gaussian;  // layers/gaussian.hpp
template <std::size_t Z>
struct SpatialGaussian;  // layers/gaussian.hpp
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride, class Padding, class Act>
struct Conv2D;  // layers/conv.hpp
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride, class Padding, class Act>
struct ConvTranspose2D;  // layers/conv.hpp
template <std::size_t K, std::size_t Stride>
struct AvgPool2D;  // layers/resample.hpp
template <std::size_t K, std::size_t Stride>
struct MaxPool2D;  // layers/resample.hpp
template <std::size_t Factor>
struct Upsample2D;  // layers/resample.hpp
template <class Momentum, class Epsilon>
struct BatchNormWith;  // layers/batch_norm.hpp (BatchNorm = BatchNormWith<> with PyTorch's defaults)
template <std::size_t Groups, class Epsilon>
struct GroupNorm;  // layers/group_norm.hpp (LayerNorm = GroupNorm<1>)
template <std::intmax_t Num, std::intmax_t Den>
struct DropoutWith;  // layers/dropout.hpp (Dropout<Percent> = DropoutWith<Percent, 100>)
template <class Branch, class Projection>
struct Residual;  // layers/residual.hpp
template <std::size_t Groups, class Epsilon>
struct SpatialAttention;  // layers/attention.hpp
template <std::size_t C, std::size_t H, std::size_t W>
struct Input;  // layers/shape_layers.hpp
template <std::size_t C, std::size_t H, std::size_t W>
struct Reshape;  // layers/shape_layers.hpp
struct Flatten;  // layers/shape_layers.hpp
template <std::size_t P, std::size_t OP>
struct Pad;  // core/shape.hpp
struct Same;   // core/shape.hpp
struct Valid;  // core/shape.hpp

// ---- activations (activations/) ------------------------------------------------------------------------
struct Identity;
struct Relu;
struct Sigmoid;
struct Tanh;
struct Softplus;
struct Elu;
struct Silu;
struct Gelu;
template <auto Num, std::intmax_t Den>
struct LeakyReluWith;
struct LeakyRelu;

// ---- losses and likelihoods (losses/) ------------------------------------------------------------------
struct MSE;
struct BCE;
struct BCEWithLogits;
struct Bernoulli;
struct UnitGaussian;
struct LearnedGaussian;

// ---- models (models/) ----------------------------------------------------------------------------------
template <class Enc, class Dec, class L, class T>
class Autoencoder;  // models/autoencoder.hpp
template <class Enc, class Dec, class Reg, class L, class T>
class RegularisedAutoencoder;  // models/autoencoder.hpp
template <class Enc, class Dec, class L, class T>
class DenoisingAutoencoder;  // models/denoising_autoencoder.hpp
template <class Enc, class Dec, class L, class T>
class SparseAutoencoder;  // models/sparse_autoencoder.hpp
template <class Enc, class Dec, class L, class T>
class ContractiveAutoencoder;  // models/contractive_autoencoder.hpp
template <class Enc, class Dec, class Lik, class T>
class VAE;  // models/vae.hpp
template <class Enc, class Dec, std::size_t K, class Lik, class T>
class IWAE;  // models/vae.hpp
template <class Enc, class Dec, std::size_t Classes, class Lik, class T>
class ConditionalVAE;  // models/conditional_vae.hpp
template <class Enc, class Dec, class Lik, class T>
class BetaTCVAE;  // models/tc_vae.hpp
template <class Enc, class Dec, class Lik, class T>
class InfoVAE;       // models/info_vae.hpp
struct TCPenalty;    // models/tc_vae.hpp
struct InfoMmd;      // models/info_vae.hpp
struct Noise;        // models/denoising_autoencoder.hpp
struct Sparsity;     // models/sparse_autoencoder.hpp
struct Contraction;  // models/contractive_autoencoder.hpp

// ---- optimisers and schedules (optim/) ---------------------------------------------------------------
class Adam;   // optim/adam.hpp
class AdamW;  // optim/adam.hpp
class SGD;    // optim/sgd.hpp
class Schedule;
struct ConstantRate;
struct StepDecay;
struct ExponentialDecay;
struct CosineDecay;
struct ReduceLROnPlateau;

// ---- training (training/) ------------------------------------------------------------------------------
struct FitOptions;  // training/fit_options.hpp
struct History;     // training/history.hpp
class FitState;     // training/callbacks.hpp
struct BatchState;  // training/callbacks.hpp
class ModelSnapshot;
struct EarlyStopping;
struct SaveBestModel;
struct HistoryLogger;
class ProgressReporter;  // training/progress_reporter.hpp
class Communicator;      // core/communicator.hpp
class Rng;               // core/random.hpp
template <class T>
struct Context;  // core/context.hpp

// ---- data and files ------------------------------------------------------------------------------------
struct Dataset;        // data/dataset.hpp
struct CsvOptions;     // data/csv.hpp
struct IdxImages;      // data/idx.hpp
struct FactorDataset;  // data/shapes.hpp
struct FactorInfo;     // data/shapes.hpp
struct FileInfo;       // interchange/save_load.hpp

// ---- opt-in parts ----------------------------------------------------------------------------------------
template <class Model>
class Predictor;      // inference/predictor.hpp (<latent/inference.hpp>)
struct WeightOptions;  // interchange/weights.hpp (<latent/interchange.hpp>)
struct NamedTensor;    // io/named_tensor.hpp (<latent/interchange.hpp>)
struct Mig;                    // analysis/mig.hpp (<latent/analysis.hpp>)
struct MutualInformation;      // analysis/mutual_information.hpp
struct DisentanglementReport;  // analysis/disentanglement_report.hpp
struct DisentanglementOptions;
struct VoteOptions;  // analysis/factor_votes.hpp
template <class X>
struct FactorVotes;
class Canvas;  // plot/canvas.hpp (<latent/plot.hpp>)
struct Color;  // plot/color.hpp

}  // namespace latent
