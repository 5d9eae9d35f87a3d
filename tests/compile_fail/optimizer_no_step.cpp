// fit needs an optimiser with step(params, grads). With LATENT_SHOULD_FAIL the user's optimiser names
// its update `update`; the first lines name the optimiser and the scalar type. Valid as written.
#include "latent/activations/tanh.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/autoencoder.hpp"
#include "latent/training/fit.hpp"
#include "latent/training/fit_options.hpp"
#include "latent/training/history.hpp"

#include <xtensor/xbuilder.hpp>  // xt::zeros
#include <xtensor/xtensor.hpp>   // xt::xtensor

#include <cstddef>  // std::size_t
#include <span>     // std::span

namespace cf::optimizer_no_step {

struct Descent {
  double lr = 0.1;
  template <class T>
#ifdef LATENT_SHOULD_FAIL
  void update(std::span<T> p, std::span<const T> g){
#else
  void step(std::span<T> p, std::span<const T> g) {
#endif
      for (std::size_t i = 0; i < p.size(); ++i) p[i] -= static_cast<T>(lr) * g[i];
}
};  // namespace cf::optimizer_no_step

struct Encoder : latent::Seq<latent::Dense<4, 2, latent::Tanh>> {};
struct Decoder : latent::Seq<latent::Dense<2, 4>> {};

inline int case_optimizer_no_step() {
  latent::Autoencoder<Encoder, Decoder> model(1);
  xt::xtensor<float, 2> x = xt::zeros<float>({8, 4});
  Descent opt;
  const latent::History h = latent::fit(model, x, opt, {.epochs = 1, .progress = latent::Progress::quiet});
  return h.epochs() == 1 ? 0 : 1;
}

}  // namespace cf::optimizer_no_step

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::optimizer_no_step::case_optimizer_no_step(); }
#endif
