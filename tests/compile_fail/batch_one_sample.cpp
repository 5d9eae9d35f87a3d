// A call that takes a batch (rows are samples) refuses one sample at compile time: with
// LATENT_SHOULD_FAIL, `loss` is given an xt::xtensor<float, 1>, which would otherwise convert to a
// batch of a garbage shape. Valid as written (one sample reshaped to a 1 x 4 batch).
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/autoencoder.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

namespace cf::batch_one_sample {

struct Encoder : latent::Seq<latent::Dense<4, 2, latent::Relu>> {};
struct Decoder : latent::Seq<latent::Dense<2, 4>> {};

inline int case_batch_one_sample() {
  latent::Autoencoder<Encoder, Decoder> model(1);
#ifdef LATENT_SHOULD_FAIL
  xt::xtensor<float, 1> x = xt::xtensor<float, 1>::from_shape({4});
#else
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({1, 4});
#endif
  for (auto& v : x) v = 0.5f;
  return model.loss(x) >= 0 ? 0 : 1;
}

}  // namespace cf::batch_one_sample

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::batch_one_sample::case_batch_one_sample(); }
#endif
