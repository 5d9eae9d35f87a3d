// Build-cost probe (issue #4): a 6-layer VAE — 3 encoder layers ending in Gaussian<Z>, 3 decoder
// layers — trained for one step and used once, so that every pass is instantiated.
#include <latent/latent.hpp>

using namespace latent;

struct Encoder : Seq<Dense<784, 512, Relu>, Dense<512, 256, Relu>, Gaussian<32>> {};
struct Decoder : Seq<Dense<32, 256, Relu>, Dense<256, 512, Relu>, Dense<512, 784, Identity>> {};

int main() {
  VAE<Encoder, Decoder, Bernoulli> vae(1);
  Adam opt;
  xt::xtensor<float, 2> x = xt::zeros<float>({8, 784});
  fit(vae, x, opt, {.epochs = 1, .batch_size = 8, .progress = Progress::quiet});
  return vae.elbo(x) < 0 ? 0 : 1;
}
