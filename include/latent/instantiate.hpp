#pragma once
/// \file
/// The size-independent templates that a program built with `LATENT_EXTERN_TEMPLATES` compiles once:
/// include this header in exactly one translation unit of that program (docs/building.md, "The training
/// loop compiled once"). Today that is `fit`'s loop for float and double models (epochs, shuffling,
/// validation, callbacks, checkpoints, the data-parallel path); without the macro every translation
/// unit that calls `fit` instantiates it again. Compile that unit with the same instruction-set flags
/// as the rest of the program. Without the macro, including this header is harmless.

#include "latent/training/detail/fit_loop.hpp"

namespace latent::detail {

LATENT_DETAIL_FIT_LOOP_INSTANCES(, float)
LATENT_DETAIL_FIT_LOOP_INSTANCES(, double)

}  // namespace latent::detail
