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
#include <latent/latent.hpp>
#include <latent/models/info_vae.hpp>
#include <latent/models/tc_vae.hpp>
#include <latent/models/vamp_vae.hpp>
#include <latent/models/wae.hpp>
#include <latent/testing.hpp>
#include <numbers>
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
