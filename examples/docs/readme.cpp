// The README's programs. As written: the seed example (the origin article's Keras autoencoder), run by
// ctest. With -DLATENT_SHOULD_FAIL: also a miswired encoder, whose first lines of g++ output the README
// shows; tests/docs/check_docs.py compiles it that way and compares them with the README's text.
#include <latent/latent.hpp>
#include <xtensor/xrandom.hpp>
using namespace latent;

// the origin article's Keras example
struct Encoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct Decoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using Model = Autoencoder<Encoder, Decoder, MSE>;

int main() {
  xt::random::seed(0);
  xt::xtensor<float, 2> data = xt::random::randn<float>({1000, 100});
  Model model(/*seed=*/42);
  Adam opt(1e-3f);
  History h = fit(model, data, opt, {.epochs = 100, .batch_size = 32});
  xt::xtensor<float, 2> fresh = xt::random::randn<float>({100, 100});
  xt::xtensor<float, 2> z = model.encode(fresh);  // 100 x 5
  xt::xtensor<float, 2> back = model.decode(z);   // 100 x 100
}

#ifdef LATENT_SHOULD_FAIL
struct Miswired : Seq<Dense<100, 20, Relu>, Dense<21, 5, Sigmoid>> {};  // 21 inputs after 20 outputs
#endif
