#pragma once
/// \file
/// `latent_interpolation`: the images along the straight line between the codes of two images.
/// See docs/disentanglement.md; example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cstddef>  // std::size_t
#include <string>   // std::string, std::to_string

#include "latent/core/error.hpp"

namespace latent {

/// Decodes `steps` evenly spaced codes from encode(from_i) to encode(to_i) for each pair of rows:
/// row p·steps + s of the result (P·steps × D) is decode((1 − t)·z_from + t·z_to) with
/// t = s / (steps − 1), so the first and last images of a pair are the reconstructions of its ends.
/// The code is `model.encode` (a VAE's μ). Throws `shape_error` when `from` and `to` have different
/// numbers of rows, `data_error` for no rows, and `option_error` for fewer than 2 steps.
template <class Model, class T>
xt::xtensor<T, 2> latent_interpolation(const Model& model, const xt::xtensor<T, 2>& from, const xt::xtensor<T, 2>& to,
                                       std::size_t steps = 8) {
  if (from.shape()[0] != to.shape()[0])
    throw shape_error("latent_interpolation: expected as many end images as start images (" +
                      std::to_string(from.shape()[0]) + "), found " + std::to_string(to.shape()[0]));
  if (from.shape()[0] == 0) throw data_error("latent_interpolation: expected at least one pair of images, found 0");
  if (steps < 2) throw option_error("latent_interpolation: expected at least 2 steps, found " + std::to_string(steps));
  constexpr std::size_t z = Model::code_size;
  const xt::xtensor<T, 2> a = model.encode(from), b = model.encode(to);
  const std::size_t n = from.shape()[0];
  auto codes = xt::xtensor<T, 2>::from_shape({n * steps, z});
  for (std::size_t p = 0; p < n; ++p)
    for (std::size_t s = 0; s < steps; ++s) {
      const double t = static_cast<double>(s) / static_cast<double>(steps - 1);
      for (std::size_t j = 0; j < z; ++j)
        codes(p * steps + s, j) =
            static_cast<T>((1 - t) * static_cast<double>(a(p, j)) + t * static_cast<double>(b(p, j)));
    }
  return model.decode(codes);
}

}  // namespace latent
