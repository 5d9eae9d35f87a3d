#pragma once
/// \file
/// Moved: the model visitor lives in latent/interchange/layer_walk.hpp (io/ holds the codecs only).
/// This path keeps old code compiling.

#include "latent/interchange/layer_walk.hpp"
