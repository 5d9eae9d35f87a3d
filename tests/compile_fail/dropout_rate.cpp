// Dropout's rate must lie in [0, 1). With LATENT_SHOULD_FAIL it is 100 %. Valid as written (10 %).
#include "latent/layers/dense.hpp"
#include "latent/layers/dropout.hpp"
#include "latent/layers/seq.hpp"

#include <cstdint>  // std::intmax_t

namespace cf::dropout_rate {

#ifdef LATENT_SHOULD_FAIL
constexpr std::intmax_t percent = 100;
#else
constexpr std::intmax_t percent = 10;
#endif

using Chain = latent::Seq<latent::Dense<8, 6>, latent::Dropout<percent>, latent::Dense<6, 2>>;

inline int case_dropout_rate() { return Chain::out_size == 2 ? 0 : 1; }

}  // namespace cf::dropout_rate

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::dropout_rate::case_dropout_rate(); }
#endif
