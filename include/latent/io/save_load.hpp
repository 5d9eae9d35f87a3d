#pragma once
/// \file
/// Moved: `save`, `load` and `inspect` live in latent/interchange/save_load.hpp (io/ holds the codecs
/// only; what needs models is in interchange/). This path keeps old code compiling.

#include "latent/interchange/save_load.hpp"
