#pragma once
/// \file
/// `latent::aligned_buffer`: a fixed-size, zero-initialised, 64-byte aligned array on the heap.

#include <algorithm>  // std::copy_n, std::fill_n
#include <cstddef>    // std::size_t
#include <memory>     // std::unique_ptr
#include <new>        // std::align_val_t
#include <span>       // std::span
#include <utility>    // std::exchange

namespace latent {

/// A heap array of `T` aligned to a cache line, sized once and zero-initialised.
///
/// Parameters, gradients, optimiser state and workspaces live in these: the size is fixed by the
/// model's type, so nothing is reallocated inside a training step.
template <class T>
class aligned_buffer {
 public:
  static constexpr std::size_t alignment = 64;

  aligned_buffer() = default;
  explicit aligned_buffer(std::size_t n) : data_(allocate(n)), size_(n) { std::fill_n(data_.get(), n, T{}); }
  aligned_buffer(const aligned_buffer& o) : data_(allocate(o.size_)), size_(o.size_) {
    std::copy_n(o.data_.get(), size_, data_.get());
  }
  aligned_buffer(aligned_buffer&& o) noexcept : data_(std::move(o.data_)), size_(std::exchange(o.size_, 0)) {}
  aligned_buffer& operator=(const aligned_buffer& o) {
    if (this != &o) {
      if (size_ != o.size_) *this = aligned_buffer(o.size_);
      std::copy_n(o.data_.get(), size_, data_.get());
    }
    return *this;
  }
  aligned_buffer& operator=(aligned_buffer&& o) noexcept {
    data_ = std::move(o.data_);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }

  /// Grows to at least `n` elements (contents are not kept); never shrinks.
  void reserve(std::size_t n) {
    if (n > size_) *this = aligned_buffer(n);
  }

  T* data() noexcept { return data_.get(); }
  const T* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size_; }
  std::span<T> span() noexcept { return {data(), size_}; }
  std::span<const T> span() const noexcept { return {data(), size_}; }

 private:
  struct deleter {
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{alignment}); }
  };
  static T* allocate(std::size_t n) {
    if (n == 0) return nullptr;
    return static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{alignment}));
  }
  std::unique_ptr<T[], deleter> data_;
  std::size_t size_ = 0;
};

}  // namespace latent
