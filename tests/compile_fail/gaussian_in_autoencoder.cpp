// Gaussian<Z> is the head of a VAE's encoder. With LATENT_SHOULD_FAIL a plain Autoencoder's encoder ends
// in Gaussian<5> (it would train a noisy code without its KL term); the first lines name the encoder.
// Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/autoencoder.hpp"

namespace cf::gaussian_in_autoencoder {

#ifdef LATENT_SHOULD_FAIL
using Head = latent::Gaussian<5>;
#else
using Head = latent::Dense<20, 5>;
#endif

struct Encoder : latent::Seq<latent::Dense<100, 20, latent::Relu>, Head> {};
struct Decoder : latent::Seq<latent::Dense<5, 20, latent::Relu>, latent::Dense<20, 100>> {};
using Model = latent::Autoencoder<Encoder, Decoder>;

inline int case_gaussian_in_autoencoder() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::gaussian_in_autoencoder

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::gaussian_in_autoencoder::case_gaussian_in_autoencoder(); }
#endif
