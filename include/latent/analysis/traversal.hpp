#pragma once
/// \file
/// `latent_traversal`: what each code unit does. Each seed image is encoded, one unit of its code is
/// set to each of a list of values (the others kept), and the codes are decoded — the rows of a
/// traversal grid. See docs/disentanglement.md; example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::copy_n
#include <cstddef>    // std::size_t
#include <string>     // std::to_string
#include <vector>     // std::vector

#include "latent/core/error.hpp"

namespace latent {

/// Decodes the codes of `seeds` (S × D images) with unit `units[u]` set to `values[v]`: row
/// (s·U + u)·V + v of the result (S·U·V × D) is seed s with unit u at value v; read with
/// `image_grid(..., cols = V)`, each seed is a block of U rows (one per unit) of V images. The code
/// is `model.encode` (a VAE's mean μ), so for a VAE the values are in the prior's units (−3..3
/// covers 99.7% of N(0, 1)); `decode` returns the likelihood's mean. Order `units` by KL
/// (`DisentanglementReport::unit_order`) to put the informative units first.
/// Throws `option_error` for no units or values, or a unit index of `Model::code_size` or more, and
/// `data_error` for no seed images (a width that is not the model's is its `shape_error`).
template <class Model, class T>
xt::xtensor<T, 2> latent_traversal(const Model& model, const xt::xtensor<T, 2>& seeds,
                                   const std::vector<std::size_t>& units, const std::vector<double>& values) {
  constexpr std::size_t z = Model::code_size;
  if (units.empty() || values.empty())
    throw option_error("latent_traversal: expected at least one unit and one value, found " +
                       std::to_string(units.size()) + " and " + std::to_string(values.size()));
  for (std::size_t u : units)
    if (u >= z)
      throw option_error("latent_traversal: expected unit indices below the code size " + std::to_string(z) +
                         ", found " + std::to_string(u));
  if (seeds.shape()[0] == 0) throw data_error("latent_traversal: expected at least one seed image, found 0");
  const xt::xtensor<T, 2> codes = model.encode(seeds);
  const std::size_t s = seeds.shape()[0], nu = units.size(), nv = values.size();
  auto grid = xt::xtensor<T, 2>::from_shape({s * nu * nv, z});
  for (std::size_t i = 0; i < s; ++i)
    for (std::size_t u = 0; u < nu; ++u)
      for (std::size_t v = 0; v < nv; ++v) {
        T* row = grid.data() + ((i * nu + u) * nv + v) * z;
        std::copy_n(codes.data() + i * z, z, row);
        row[units[u]] = static_cast<T>(values[v]);
      }
  return model.decode(grid);
}

}  // namespace latent
