// libFuzzer target: the model and optimiser loader. Any bytes are either a valid file or refused with
// a latent:: exception, and a refused load leaves the model and the optimisers unchanged. Under
// UndefinedBehaviorSanitizer this also proves that no byte reaches a bool unchecked.
// Only the headers it needs (a fuzzer build compiles fast).
#include <latent/activations/identity.hpp>
#include <latent/activations/relu.hpp>
#include <latent/io/save_load.hpp>
#include <latent/layers/dense.hpp>
#include <latent/layers/gaussian.hpp>
#include <latent/layers/seq.hpp>
#include <latent/losses/bernoulli.hpp>
#include <latent/models/vae.hpp>
#include <latent/optim/adam.hpp>
#include <latent/optim/sgd.hpp>

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
  const auto noise_before = model.noise_state();
  try {
    const auto sections = latent::detail::parse_sections(bytes, "fuzz");
    if (auto it = sections.find(latent::detail::model_section); it != sections.end())
      latent::detail::restore_model(model, it->second, "fuzz");
  } catch (const latent::error&) {
    for (std::size_t i = 0; i < before.size(); ++i)
      if (model.parameters()[i] != before[i]) std::abort();  // a failed load must change nothing
    const auto noise = model.noise_state();
    for (int i = 0; i < 4; ++i)
      if (noise.words[i] != noise_before.words[i]) std::abort();
  }
  try {
    const auto sections = latent::detail::parse_sections(bytes, "fuzz");
    if (auto it = sections.find(latent::detail::optimizer_section); it != sections.end()) {
      latent::Adam adam(5e-3);
      try {
        latent::detail::restore_optimizer(adam, it->second, "fuzz");
      } catch (const latent::error&) {
        if (adam.learning_rate() != 5e-3 || adam.iterations() != 0) std::abort();
      }
      latent::SGD sgd(5e-3);
      try {
        latent::detail::restore_optimizer(sgd, it->second, "fuzz");
      } catch (const latent::error&) {
        if (sgd.learning_rate() != 5e-3 || sgd.iterations() != 0 || sgd.nesterov()) std::abort();
      }
    }
  } catch (const latent::error&) {
  }
  return 0;
}
