// A Debug build: g++ at -O0 with the AVX-512 flags compiles the models whose maths reaches xsimd's
// AVX-512 integer selects (float log and exp: BCE, Sigmoid, Softplus, Elu, Gelu, Silu, Tanh, the
// Gaussian head), which g++ 12's unoptimised intrinsics broke; and so do AVX-512 flags without
// -mavx512bw (see latent/kernels/simd.hpp). Compile only: tests/static/CMakeLists.txt builds it twice,
// with -O0 and each set of flags, whatever the build machine.
#include <latent/latent.hpp>

#include <xtensor/xtensor.hpp>  // xt::xtensor

namespace debug_build {

using namespace latent;

struct Encoder
    : Seq<Dense<12, 8, Elu>, Dense<8, 6>, Gelu, Dense<6, 5>, Silu, Dense<5, 4, Softplus>, Gaussian<2>> {};
struct Decoder : Seq<Dense<2, 6, Tanh>, Dense<6, 12>> {};  // logits, for the Bernoulli likelihood
struct PlainEncoder : Seq<Dense<12, 2, Sigmoid>> {};
struct SigmoidDecoder : Seq<Dense<2, 12, Sigmoid>> {};  // probabilities, for BCE
struct ConvEncoder : Seq<Input<1, 4, 4>, Conv2D<2, 3, 2, Same, LeakyRelu>, Flatten, Dense<8, 2>> {};
struct ConvDecoder : Seq<Dense<2, 8, Relu>, Reshape<2, 2, 2>, ConvTranspose2D<1, 3, 2, Same, Sigmoid>> {};

template <class Model, class T>
double train_and_code(const xt::xtensor<T, 2>& x) {
  Model model(1);
  Adam opt(1e-3);
  const History h = fit(model, x, opt, {.epochs = 1, .batch_size = 4, .progress = Progress::quiet});
  const xt::xtensor<T, 2> z = model.encode(x);
  return h.loss.back() + static_cast<double>(model.decode(z)(0, 0));
}

// Compiled: each model's training, encoding and decoding, with every member they call.
template double train_and_code<VAE<Encoder, Decoder, Bernoulli>, float>(const xt::xtensor<float, 2>&);
template double train_and_code<Autoencoder<ConvEncoder, ConvDecoder, BCE>, double>(const xt::xtensor<double, 2>&);
template double train_and_code<Autoencoder<PlainEncoder, SigmoidDecoder, BCE>, float>(const xt::xtensor<float, 2>&);

}  // namespace debug_build
