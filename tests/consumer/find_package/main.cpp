// A consumer of an installed latent: a small autoencoder, built from the umbrella header, encodes a
// batch. Exit code 0 when the codes have the model's shape and lie in (0, 1) (a Sigmoid code layer).
#include <latent/latent.hpp>

#include <xtensor/xbuilder.hpp>  // xt::ones
#include <xtensor/xtensor.hpp>   // xt::xtensor

#include <cstdio>  // std::printf

struct Encoder : latent::Seq<latent::Dense<8, 4, latent::Relu>, latent::Dense<4, 2, latent::Sigmoid>> {};
struct Decoder : latent::Seq<latent::Dense<2, 4, latent::Relu>, latent::Dense<4, 8, latent::Sigmoid>> {};
using Model = latent::Autoencoder<Encoder, Decoder>;
static_assert(latent::autoencoder_is_wired_v<Encoder, Decoder>);

int main() {
  const Model model(42);
  const xt::xtensor<float, 2> x = xt::ones<float>({3, 8});
  const xt::xtensor<float, 2> z = model.encode(x);
  if (z.shape()[0] != 3 || z.shape()[1] != Model::code_size) return 1;
  for (const float v : z)
    if (!(v > 0.0f && v < 1.0f)) return 2;
  std::printf("consumer: encoded %zu samples to %zu codes each\n", z.shape()[0], z.shape()[1]);
  return 0;
}
