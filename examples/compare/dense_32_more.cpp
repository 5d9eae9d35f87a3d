// The rest of the comparison's dense family at code size 32 (WAE, VQ-VAE, ...): a translation unit of its
// own beside dense_32.cpp, so that the two compile in parallel (see family_more.hpp).
#include "family_more.hpp"

template std::vector<compare::result> compare::run_family_more<compare::architecture::dense, 32>(
    const compare::bench&, const std::vector<std::size_t>&);
namespace {
const compare::register_family registered(compare::architecture::dense, 32,
                                          &compare::run_family_more<compare::architecture::dense, 32>, 1);
}  // namespace
