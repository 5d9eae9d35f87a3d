// The third argument of Dense must be an activation. With LATENT_SHOULD_FAIL it is `float` (a slip
// for the scalar type). Valid as written.
#include "latent/activations/tanh.hpp"
#include "latent/layers/dense.hpp"

namespace cf::dense_activation {

#ifdef LATENT_SHOULD_FAIL
using Act = float;
#else
using Act = latent::Tanh;
#endif

using Layer = latent::Dense<10, 5, Act>;

inline int case_dense_activation() { return Layer::param_count == 10 * 5 + 5 ? 0 : 1; }

}  // namespace cf::dense_activation

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::dense_activation::case_dense_activation(); }
#endif
