// The origin article's Keras example, line for line, written with latent.
//
//   Keras                                              latent
//   ------------------------------------------------   ----------------------------------------------
//   input = Input(shape=(100,))                        (the input size is Dense<100, ...>'s first argument)
//   encoded = Dense(20, activation='relu')(input)      Dense<100, 20, Relu>
//   encoded = Dense(5, activation='sigmoid')(encoded)  Dense<20, 5, Sigmoid>
//   decoded = Dense(20, activation='relu')(encoded)    Dense<5, 20, Relu>
//   decoded = Dense(100, activation='sigmoid')(decoded) Dense<20, 100, Sigmoid>
//   autoencoder = Model(input, decoded)                Autoencoder<Encoder, Decoder, MSE>
//   autoencoder.compile(optimizer='adam', loss='mse')  Adam opt(1e-3f);   (the loss is part of the type)
//   autoencoder.fit(data, data, epochs=100,            fit(model, data, opt, {.epochs = 100, .batch_size = 32})
//                   batch_size=32)
//   encoder.predict(fresh)                             model.encode(fresh)
//   decoder.predict(z)                                 model.decode(z)
//
// Usage: keras_seed [epochs]   (default 100; ctest runs it with 2)
#include <latent/latent.hpp>
#include <xtensor/xrandom.hpp>

#include <cstdio>
#include <cstdlib>

using namespace latent;

struct Encoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct Decoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using Model = Autoencoder<Encoder, Decoder, MSE>;

int main(int argc, char** argv) {
  const std::size_t epochs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  xt::random::seed(0);
  xt::xtensor<float, 2> data = xt::random::randn<float>({1000, 100});
  Model model(/*seed=*/42);
  Adam opt(1e-3f);
  History h = fit(model, data, opt, {.epochs = epochs, .batch_size = 32});
  xt::xtensor<float, 2> fresh = xt::random::randn<float>({100, 100});
  xt::xtensor<float, 2> z = model.encode(fresh);  // 100 x 5
  xt::xtensor<float, 2> back = model.decode(z);   // 100 x 100
  std::printf("trained %zu epochs in %.3f s: loss %.4f -> %.4f; codes %zux%zu, reconstructions %zux%zu\n", h.epochs(),
              h.total_seconds(), h.loss.front(), h.loss.back(), z.shape()[0], z.shape()[1], back.shape()[0],
              back.shape()[1]);
}
