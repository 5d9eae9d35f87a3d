// libFuzzer target: the model and optimiser loader. Any bytes are either a valid file or refused with
// a latent:: exception, and a refused load leaves the model unchanged.
// Only the headers it needs (clang 14 cannot compile LeakyReluWith's double template argument).
#include <latent/activations/identity.hpp>
#include <latent/activations/relu.hpp>
#include <latent/io/save_load.hpp>
#include <latent/layers/dense.hpp>
#include <latent/layers/gaussian.hpp>
#include <latent/layers/seq.hpp>
#include <latent/losses/bernoulli.hpp>
#include <latent/models/vae.hpp>
#include <latent/optim/adam.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
struct Enc : latent::Seq<latent::Dense<4, 3, latent::Relu>, latent::Gaussian<2>> {};
struct Dec : latent::Seq<latent::Dense<2, 3, latent::Relu>, latent::Dense<3, 4, latent::Identity>> {};
using Model = latent::VAE<Enc, Dec, latent::Bernoulli>;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  Model model(1);
  const std::vector<float> before(model.parameters().begin(), model.parameters().end());
  try {
    const auto sections = latent::detail::parse_sections(bytes, "fuzz");
    if (auto it = sections.find(latent::detail::model_section); it != sections.end())
      latent::detail::restore_model(model, it->second, "fuzz");
  } catch (const latent::error&) {
    for (std::size_t i = 0; i < before.size(); ++i)
      if (model.parameters()[i] != before[i]) std::abort();  // a failed load must change nothing
  }
  try {
    const auto sections = latent::detail::parse_sections(bytes, "fuzz");
    latent::Adam adam;
    if (auto it = sections.find(latent::detail::optimizer_section); it != sections.end())
      latent::detail::restore_optimizer(adam, it->second, "fuzz");
  } catch (const latent::error&) {
  }
  return 0;
}
