#pragma once
/// \file
/// `latent::detail::slice<T>`: one thread's share of a training step.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/context.hpp"
#include "latent/core/deferred_gradients.hpp"
#include "latent/core/random.hpp"

#include <algorithm>  // std::copy
#include <cstddef>    // std::size_t
#include <vector>     // std::vector

namespace latent::detail {

/// One thread's share of a training step: rows [first, first + rows) of the batch, its own gradient
/// buffer (the model's for slice 0), workspaces that grow to the largest slice and are then reused,
/// and its own noise generator.
template <class T>
struct slice {
  std::size_t first = 0, rows = 0;
  T* grads = nullptr;
  aligned_buffer<T>* workspace = nullptr;
  aligned_buffer<T>* extra = nullptr;
  std::vector<double>* logw = nullptr;
  Rng* rng = nullptr;

  aligned_buffer<T>* gathered = nullptr;  // two buffers: inputs, conditions
  /// Where the slice's layers may defer their weight gradients (see `Context::deferred`): set when the
  /// step runs on several threads, null on one. Models pass it on in their `Context`.
  deferred_gradients<T>* deferred = nullptr;
  /// Where the slice's layers add their statistics (see `Context::stats`), zero at the start.
  T* stats = nullptr;
  /// The step's shared rows and barrier (see `Context::batch`), this slice's first row among them.
  batch_link batch{};

  T* work(std::size_t count) const {
    workspace->reserve(count);
    return workspace->data();
  }

  /// The slice's rows of a batch `width` values wide: at data + first·width, or, with an `index`, rows
  /// index[first], index[first + 1], … of the matrix at `data`, copied into this slice's buffer `which`
  /// (0: inputs, 1: conditions) by the thread that is about to use them, so that they arrive in its own
  /// cache rather than in the cache of the thread that would otherwise have gathered the batch.
  const T* rows_of(const T* data, const std::size_t* index, std::size_t width, int which) const {
    if (data == nullptr) return nullptr;
    if (index == nullptr) return data + first * width;
    aligned_buffer<T>& b = gathered[which];
    b.reserve(rows * width);
    for (std::size_t r = 0; r < rows; ++r)
      std::copy(data + index[first + r] * width, data + (index[first + r] + 1) * width, b.data() + r * width);
    return b.data();
  }
};

}  // namespace latent::detail
