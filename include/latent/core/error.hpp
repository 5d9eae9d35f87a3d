#pragma once
/// \file
/// The exception types latent throws. Every message says what was expected and what was found.

#include <cstddef>      // std::size_t
#include <stdexcept>    // std::runtime_error
#include <string>       // std::string
#include <string_view>  // std::string_view

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

/// Another process of a data-parallel run failed (it threw, or its data or model did not match): the
/// message names its rank and its own error. (The failing process itself throws its own error.)
class distributed_error : public error {
 public:
  using error::error;
};

namespace detail {
/// Bytes read from a file, made safe to quote in a message: printable ASCII is kept, a backslash is
/// doubled, every other byte (control bytes, bytes of other encodings) becomes `\xNN`. A raw control
/// byte would otherwise reach the user's terminal or log (an escape sequence, a line break that
/// forges a log line). Longer input is cut after `limit` bytes and marked with "...".
inline std::string escape_bytes(std::string_view bytes, std::size_t limit = 80) {
  constexpr char hex[] = "0123456789abcdef";
  std::string out;
  const std::size_t n = bytes.size() < limit ? bytes.size() : limit;
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (n < bytes.size()) out += "...";
  return out;
}
}  // namespace detail

}  // namespace latent
