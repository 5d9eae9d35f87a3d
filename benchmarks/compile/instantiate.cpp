// benchmarks/compile_time.sh: the one unit of a program built with LATENT_EXTERN_TEMPLATES that
// compiles fit's loop (docs/building.md, "The training loop compiled once").
#include <latent/instantiate.hpp>
