// GroupNorm's groups must divide the channels it receives. With LATENT_SHOULD_FAIL it has 5 groups for
// 32 channels. Valid as written (8 groups).
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/group_norm.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::group_norm_groups {

#ifdef LATENT_SHOULD_FAIL
constexpr std::size_t groups = 5;
#else
constexpr std::size_t groups = 8;
#endif

using Chain = latent::Seq<latent::Input<1, 8, 8>, latent::Conv2D<32, 3, 1, latent::Same>, latent::GroupNorm<groups>>;

inline int case_group_norm_groups() { return Chain::out_size == 32 * 8 * 8 ? 0 : 1; }

}  // namespace cf::group_norm_groups

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::group_norm_groups::case_group_norm_groups(); }
#endif
