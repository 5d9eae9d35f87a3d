#pragma once
/// \file
/// Moved: `save_weights` and `load_weights` need models, so they live in latent/interchange/weights.hpp
/// (io/ holds the codecs only). This path keeps old code compiling; new code includes
/// <latent/interchange.hpp>.

#include "latent/interchange/weights.hpp"
