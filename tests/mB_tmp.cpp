#include "latent/activations/elu.hpp"
#include "latent/activations/identity.hpp"
#include "latent/activations/leaky_relu.hpp"
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/activations/softplus.hpp"
#include "latent/activations/tanh.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/bce.hpp"
#include "latent/losses/bce_with_logits.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"
#include "support/allocation_counter.hpp"
#include "support/test_data.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latent/inference.hpp>
#include <latent/latent.hpp>
#include <latent/testing.hpp>
#include <limits>
#include <memory>
#include <numeric>
#include <ratio>
#include <sstream>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>
#include <xtensor/xrandom.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
namespace unity_test_models {
#include "test_models.cpp"
}
namespace unity_test_gradients {
#include "test_gradients.cpp"
}
namespace unity_test_blocks {
#include "test_blocks.cpp"
}
