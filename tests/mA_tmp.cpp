#include "support/check_macros.hpp"
#include "support/residual_parts.hpp"
#include "support/sanitizers.hpp"
#include "support/test_data.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <latent/analysis/dictionary_metrics.hpp>
#include <latent/analysis/posthoc_sampler.hpp>
#include <latent/data/npy_shards.hpp>
#include <latent/data/synthetic_activations.hpp>
#include <latent/latent.hpp>
#include <latent/models/info_vae.hpp>
#include <latent/models/rae.hpp>
#include <latent/models/sparse_dictionary.hpp>
#include <latent/models/tc_vae.hpp>
#include <latent/models/vamp_vae.hpp>
#include <latent/models/wae.hpp>
#include <latent/sae.hpp>
#include <latent/testing.hpp>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>
#include <xtensor/xrandom.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
namespace unity_test_family {
#include "test_family.cpp"
}
namespace unity_test_vae_family {
#include "test_vae_family.cpp"
}
namespace unity_test_factor_vae {
#include "test_factor_vae.cpp"
}
namespace unity_test_vamp {
#include "test_vamp.cpp"
}
namespace unity_test_rae {
#include "test_rae.cpp"
}
namespace unity_test_sae {
#include "test_sae.cpp"
}
