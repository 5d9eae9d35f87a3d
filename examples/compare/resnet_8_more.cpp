// The rest of the comparison's residual family at code size 8 (WAE, VQ-VAE, ...): a translation unit of its
// own beside resnet_8.cpp, so that the two compile in parallel (see family_more.hpp).
#include "family_more.hpp"

template std::vector<compare::result> compare::run_family_more<compare::architecture::resnet, 8>(
    const compare::bench&, const std::vector<std::size_t>&);
namespace {
const compare::register_family registered(compare::architecture::resnet, 8,
                                          &compare::run_family_more<compare::architecture::resnet, 8>, 1);
}  // namespace
