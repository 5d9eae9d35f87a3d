#pragma once
/// \file
/// `latent::detail::model_storage<T, ParamCount>`: a model's `step_engine` with its parameter count as a
/// compile-time fact. Everything that does not depend on the count lives in the engine, compiled once
/// per scalar type; this layer adds only the constant.

#include "latent/models/detail/step_engine.hpp"

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t

namespace latent::detail {

/// Parameters and gradients of a model with `ParamCount` parameters (a compile-time fact), its own
/// generator for training noise, and per-thread workspaces (see `step_engine`).
template <class T, std::size_t ParamCount>
class model_storage : public step_engine<T> {
 public:
  static constexpr std::size_t param_count = ParamCount;

  /// With `state` values of the layers' state, `stats` of their statistics and `shared_per_row` doubles
  /// of shared memory per row of a training step (see `step_engine`).
  explicit model_storage(std::uint64_t seed, std::size_t state = 0, std::size_t stats = 0,
                         std::size_t shared_per_row = 0)
      : step_engine<T>(ParamCount, seed, state, stats, shared_per_row) {}
};

}  // namespace latent::detail
