#pragma once
/// \file
/// The exception types latent throws. Every message says what was expected and what was found.

#include <stdexcept>  // std::runtime_error
#include <string>     // std::string

namespace latent {

/// Base of every exception latent throws; catch this to handle them all.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error("latent: " + what) {}
};

/// A run-time size does not match the model (for example a data width that differs from `in_size`).
class shape_error : public error {
 public:
  using error::error;
};

/// Data that cannot be used: empty, NaN or Inf values, a label out of range.
class data_error : public error {
 public:
  using error::error;
};

/// An option or argument that is out of its range (a batch size of 0, a negative rate, ...).
class option_error : public error {
 public:
  using error::error;
};

/// A file that cannot be opened, read or written.
class io_error : public error {
 public:
  using error::error;
};

/// A file whose contents are not what its format requires (wrong magic number, truncated, corrupted).
class format_error : public error {
 public:
  using error::error;
};

/// A computation that produced NaN or Inf (for example a diverging loss during training).
class numerical_error : public error {
 public:
  using error::error;
};

}  // namespace latent
