#pragma once
/// \file
/// latent::testing: the checks a user runs on their own layer, activation, loss or model (gradients,
/// two threads against one, save/load, a layer's bookkeeping). See latent/testing/testing.hpp and
/// docs/extending.md. Not in the lean <latent/latent.hpp>.

#include "latent/testing/testing.hpp"
