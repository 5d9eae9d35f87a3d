#pragma once
/// \file
/// Fast inference: `latent::Predictor`, a model's encoder, decoder or whole pass with its weights
/// packed once for the kernels (see docs/deployment.md). Not in the lean <latent/latent.hpp>.

#include "latent/inference/predictor.hpp"
