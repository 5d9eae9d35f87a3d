// Build-cost probe (benchmarks/compile_time.sh): the umbrella header alone, nothing instantiated.
#include <latent/latent.hpp>

int main() { return 0; }
