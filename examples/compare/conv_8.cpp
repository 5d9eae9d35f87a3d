// The comparison's conv family at code size 8. Each (architecture, code size) pair is a translation
// unit of its own, so that the families compile in parallel (see compare.hpp).
#include "family.hpp"

template std::vector<compare::result> compare::run_family<compare::architecture::conv, 8>(
    const compare::bench&, const std::vector<std::size_t>&);
namespace {
const compare::register_family registered(compare::architecture::conv, 8,
                                          &compare::run_family<compare::architecture::conv, 8>);
}  // namespace
