// libFuzzer target: the weights readers (safetensors, .npz with its zip and .npy layers) and the
// model-level mapping. Any bytes are either read or refused with a latent:: exception; tensors that
// are read either load into the model completely or are refused leaving it unchanged.
// Only the headers it needs (a fuzzer build compiles fast).
#include <latent/activations/identity.hpp>
#include <latent/activations/relu.hpp>
#include <latent/io/weights.hpp>
#include <latent/layers/dense.hpp>
#include <latent/layers/gaussian.hpp>
#include <latent/layers/seq.hpp>
#include <latent/losses/bernoulli.hpp>
#include <latent/models/vae.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
struct Enc : latent::Seq<latent::Dense<4, 3, latent::Relu>, latent::Gaussian<2>> {};
struct Dec : latent::Seq<latent::Dense<2, 3, latent::Relu>, latent::Dense<3, 4, latent::Identity>> {};
using Model = latent::VAE<Enc, Dec, latent::Bernoulli>;

void try_load(const std::vector<latent::NamedTensor>& tensors) {
  for (auto layout : {latent::weight_layout::pytorch, latent::weight_layout::keras}) {
    Model model(1);
    const std::vector<float> before(model.parameters().begin(), model.parameters().end());
    try {
      latent::assign_weights(model, tensors, {.layout = layout}, "fuzz");
    } catch (const latent::error&) {
      for (std::size_t i = 0; i < before.size(); ++i)
        if (model.parameters()[i] != before[i]) std::abort();  // a failed load must change nothing
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    try_load(latent::parse_safetensors(bytes, "fuzz"));
  } catch (const latent::error&) {
  }
  try {
    try_load(latent::parse_npz(bytes, "fuzz"));
  } catch (const latent::error&) {
  }
  return 0;
}
