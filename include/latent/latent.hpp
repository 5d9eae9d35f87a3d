#pragma once
/// \file
/// The umbrella header, lean: what a model, `fit`, `save`/`load` and the data readers need — the
/// layers, activations, losses and models, the optimisers and schedules, `fit` with its callbacks and
/// history, the training metrics, the data sets and readers, and latent's own file format.
///
/// The rest is opt-in, one header each, so that a program pays to compile only what it uses:
///   <latent/inference.hpp>    `Predictor`: fast, packed inference
///   <latent/interchange.hpp>  weights in and out (PyTorch, Keras: safetensors, .npz), ONNX export
///   <latent/analysis.hpp>     disentanglement scores, traversals, interpolations, heat maps
///   <latent/plot.hpp>         PNG pictures: image grids, line and scatter plots
///   <latent/testing.hpp>      latent::testing, the checks a user runs on their own parts
///   <latent/mpi.hpp>          data-parallel training over MPI (link latent::mpi)
///   <latent/all.hpp>          everything but MPI (what this header gave before it was made lean)
///   <latent/fwd.hpp>          forward declarations
/// (The headers that hold the rules' carriers come first, each included here before any other header
/// includes it, so that a compile error in a rule shows a short include chain: this header, then yours.)

// The rules' carriers (core/diagnostics.hpp says which rule lives where). None of these headers includes
// one after it, so each is first included from here.
#include "latent/activations/activation.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/layers/conv_rules.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/norm_rules.hpp"
#include "latent/layers/dropout.hpp"
#include "latent/layers/seq_rules.hpp"
#include "latent/layers/shape_layers.hpp"
#include "latent/layers/residual.hpp"
#include "latent/losses/likelihood.hpp"
#include "latent/losses/loss.hpp"
#include "latent/models/detail/model_rules.hpp"
#include "latent/models/regulariser.hpp"

#include "latent/fwd.hpp"

#include "latent/version.hpp"

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/checks.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/convert.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"

#include "latent/activations/elu.hpp"
#include "latent/activations/gelu.hpp"
#include "latent/activations/identity.hpp"
#include "latent/activations/leaky_relu.hpp"
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/activations/silu.hpp"
#include "latent/activations/softplus.hpp"
#include "latent/activations/tanh.hpp"

#include "latent/layers/attention.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/group_norm.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/layers/resample.hpp"
#include "latent/layers/residual.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/signature.hpp"
#include "latent/layers/vector_quantizer.hpp"

#include "latent/losses/bce.hpp"
#include "latent/losses/bce_with_logits.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/losses/learned_gaussian.hpp"
#include "latent/losses/mse.hpp"
#include "latent/losses/unit_gaussian.hpp"

#include "latent/models/autoencoder.hpp"
#include "latent/models/conditional_vae.hpp"
#include "latent/models/contractive_autoencoder.hpp"
#include "latent/models/denoising_autoencoder.hpp"
#include "latent/models/info_vae.hpp"
#include "latent/models/rae.hpp"
#include "latent/models/sparse_autoencoder.hpp"
#include "latent/models/tc_vae.hpp"
#include "latent/models/vae.hpp"
#include "latent/models/vq_vae.hpp"
#include "latent/models/wae.hpp"
#include "latent/models/factor_vae.hpp"
#include "latent/models/vamp_vae.hpp"

#include "latent/data/csv.hpp"
#include "latent/data/dataset.hpp"
#include "latent/data/fashion_mnist.hpp"
#include "latent/data/idx.hpp"
#include "latent/data/one_hot.hpp"
#include "latent/data/shapes.hpp"

#include "latent/interchange/save_load.hpp"

#include "latent/optim/adam.hpp"
#include "latent/optim/schedule.hpp"
#include "latent/optim/sgd.hpp"

#include "latent/training/callbacks.hpp"
#include "latent/training/fit.hpp"
#include "latent/training/fit_options.hpp"
#include "latent/training/history.hpp"
#include "latent/training/metrics.hpp"
#include "latent/training/progress_reporter.hpp"
