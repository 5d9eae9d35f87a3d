// The rest of the comparison's conv family at code size 2 (WAE, VQ-VAE, ...): a translation unit of its
// own beside conv_2.cpp, so that the two compile in parallel (see family_more.hpp).
#include "family_more.hpp"

template std::vector<compare::result> compare::run_family_more<compare::architecture::conv, 2>(
    const compare::bench&, const std::vector<std::size_t>&);
namespace {
const compare::register_family registered(compare::architecture::conv, 2,
                                          &compare::run_family_more<compare::architecture::conv, 2>, 1);
}  // namespace
