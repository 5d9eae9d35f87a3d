#pragma once
/// \file
/// `latent::NpyShards`: rows of floats streamed from many `.npy` files (activations of a network,
/// 10^7–10^9 rows of e.g. 768 floats), far more than memory holds; and `latent::save_npy`, which
/// writes such a file.
///
/// Each file is a 2-D array (rows, width) in C order of '<f4', '<f2' or '<f8' (converted to float),
/// `.npy` version 1, 2 or 3; all files have the same width. The constructor reads every header and
/// checks it against the file's size, so a foreign, mixed or truncated file fails before training,
/// naming the file and the numbers. An epoch reads the files one after the other, `block_rows` rows
/// per `fread`, through a shuffle buffer of `shuffle_buffer_rows` rows (tf.data's: fill it, then each
/// row given out is a uniformly chosen slot, refilled by the next row read). Memory is the buffer plus
/// one block, whatever the data's size. docs/npy-shards.md describes the semantics; the tests in
/// tests/test_data_io.cpp ("npy_shards") show every path.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/data/row_source.hpp"
#include "latent/io/atomic_file.hpp"
#include "latent/io/npz.hpp"  // detail::npy_field: the .npy header dict's fields, as read_npz reads them

#include <algorithm>         // std::min, std::max, std::sort, std::swap
#include <bit>               // std::bit_cast (half to float), std::endian: .npy data is little-endian
#include <cerrno>            // errno
#include <cstddef>           // std::size_t
#include <cstdint>           // std::uint16_t, std::uint32_t, std::uint64_t
#include <cstdio>            // std::FILE, std::fopen, std::fread: one block of rows per read
#include <cstring>           // std::memcpy, std::strerror
#include <initializer_list>  // std::initializer_list: NpyShards({"a.npy", "b.npy"})
#include <memory>            // std::unique_ptr: the open file closes on every path
#include <new>               // std::bad_alloc: glob(3) out of memory
#include <string>            // std::string, std::to_string
#include <string_view>       // std::string_view: the magic number
#include <utility>           // std::move
#include <vector>            // std::vector: the shuffle buffer, the block, the file list

#include <glob.h>      // glob(3): the files a pattern names
#include <sys/stat.h>  // fstat: a file's size against its header

#include <xtensor/xtensor.hpp>

namespace latent {

static_assert(std::endian::native == std::endian::little,
              "latent: NpyShards reads .npy data as little-endian ('<f4') into native floats");

/// How `NpyShards` reads (designated initialisers: `{.shuffle_buffer_rows = 1 << 20, .seed = 3}`).
struct NpyShardsOptions {
  /// Rows held for shuffling (each row `width` floats: 65 536 rows of 768 floats are 192 MiB). 0 reads
  /// the rows in file order, files in their order. The buffer never holds more rows than the data.
  std::size_t shuffle_buffer_rows = std::size_t{1} << 16;
  /// Rows read from a file per `fread` (at least 1).
  std::size_t block_rows = 4096;
  /// With the epoch, fixes the order of the files and of the rows (when shuffling).
  std::uint64_t seed = 0;
  /// Data-parallel training: this source reads the files i (in the sorted or given list) with
  /// i % ranks == rank. Every rank checks every file's header, so all ranks agree on the width and a
  /// bad file fails on all of them.
  std::size_t rank = 0;
  /// The number of ranks (at least 1, and at most the number of files).
  std::size_t ranks = 1;
};

namespace detail {

/// What a `.npy` file's header says, checked against the file's size.
struct npy_shard {
  std::string path;
  std::size_t rows = 0;
  std::size_t width = 0;
  std::size_t item_bytes = 0;  // 2, 4 or 8: '<f2', '<f4' or '<f8'
  std::uint64_t data_offset = 0;
  std::uint64_t file_bytes = 0;
};

struct file_closer {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

inline std::string npy_dtype_name(std::size_t item_bytes) { return "'<f" + std::to_string(item_bytes) + "'"; }

/// Opens `path` for reading (close-on-exec); `io_error` with the system's reason if it cannot.
inline file_ptr open_npy_shard(const std::string& path, const std::string& context) {
  std::FILE* f = std::fopen(path.c_str(), "rbe");  // 'e': O_CLOEXEC (glibc), as the other readers open
  if (f == nullptr) throw io_error(context + ": cannot open: " + std::strerror(errno));
  return file_ptr(f);
}

/// Reads and checks the header of the `.npy` file open at `f` (positioned at its start), leaving `f`
/// at the first data byte. Every message starts with `context` (which names the file).
inline npy_shard read_npy_shard_header(std::FILE* f, const std::string& path, const std::string& context) {
  struct stat st {};
  if (::fstat(::fileno(f), &st) != 0) throw io_error(context + ": cannot read: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw io_error(context + ": expected a file, found a directory");
  npy_shard s;
  s.path = path;
  s.file_bytes = static_cast<std::uint64_t>(st.st_size);

  // The prefix: magic (6 bytes), version (2), header length (2 bytes in version 1, 4 in 2 and 3).
  char prefix[12] = {};
  const std::size_t got = std::fread(prefix, 1, 10, f);
  if (got < 8 || std::string_view(prefix, 6) != std::string_view("\x93NUMPY", 6))
    throw format_error(context + ": expected a .npy file (magic \\x93NUMPY), found '" +
                       escape_bytes(std::string_view(prefix, std::min<std::size_t>(got, 8))) + "'" +
                       (got < 8 ? " (" + std::to_string(got) + " bytes)" : std::string()));
  const int major = static_cast<unsigned char>(prefix[6]), minor = static_cast<unsigned char>(prefix[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw format_error(context + ": expected .npy version 1.0, 2.0 or 3.0, found " + std::to_string(major) + "." +
                       std::to_string(minor));
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (got < 10 || (length_bytes == 4 && std::fread(prefix + 10, 1, 2, f) != 2))
    throw format_error(context + ": expected a .npy header length, found the end of the file");
  const std::uint64_t header_bytes =
      little_endian(std::string_view(prefix, 8 + length_bytes), 8, static_cast<int>(length_bytes));
  const std::uint64_t start = 8 + length_bytes;
  // A real header is under 1 KiB; the bound keeps a corrupt length from allocating much.
  constexpr std::uint64_t max_header = std::uint64_t{1} << 20;
  if (header_bytes > max_header || header_bytes > s.file_bytes - start)
    throw format_error(context + ": expected a .npy header of at most " +
                       std::to_string(std::min(max_header, s.file_bytes - start)) + " bytes, found a length of " +
                       std::to_string(header_bytes));
  std::string header(static_cast<std::size_t>(header_bytes), '\0');
  if (std::fread(header.data(), 1, header.size(), f) != header.size())
    throw format_error(context + ": expected a .npy header of " + std::to_string(header_bytes) +
                       " bytes, found the end of the file (it shrank while it was read)");
  if (header.empty() || header.front() != '{')
    throw format_error(context + ": expected a .npy header dict, found '" +
                       escape_bytes(std::string_view(header).substr(0, 16)) + "'");
  s.data_offset = start + header_bytes;

  std::string descr = npy_field(header, "descr", context);
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  // '=' is the native order, little-endian here (as read_npz accepts it).
  if (descr == "<f4" || descr == "=f4")
    s.item_bytes = 4;
  else if (descr == "<f2" || descr == "=f2")
    s.item_bytes = 2;
  else if (descr == "<f8" || descr == "=f8")
    s.item_bytes = 8;
  else
    throw format_error(context + ": expected dtype '<f4', '<f2' or '<f8', found '" + escape_bytes(descr) + "'");
  const std::string fortran = npy_field(header, "fortran_order", context);
  if (fortran != "False")
    throw format_error(context + ": expected C order (fortran_order False), found fortran_order " +
                       escape_bytes(fortran));

  const std::string shape = npy_field(header, "shape", context);
  std::vector<std::uint64_t> dims;
  bool ok = shape.size() >= 2 && shape.front() == '(' && shape.back() == ')';
  for (std::size_t at = 1; ok && at + 1 < shape.size();) {
    if (shape[at] == ' ' || shape[at] == ',') {
      ++at;
      continue;
    }
    std::uint64_t d = 0;
    const std::size_t first = at;
    while (ok && at + 1 < shape.size() && shape[at] >= '0' && shape[at] <= '9') {
      ok = d <= (std::uint64_t{1} << 53) / 10;  // entries below 2^53, as read_npz
      d = d * 10 + static_cast<std::uint64_t>(shape[at++] - '0');
    }
    ok = ok && at > first && (shape[at] == ',' || shape[at] == ' ' || at + 1 == shape.size());
    dims.push_back(d);
  }
  if (!ok) throw format_error(context + ": expected a shape of integers, found '" + escape_bytes(shape) + "'");
  if (dims.size() != 2)
    throw format_error(context + ": expected a 2-D shape (rows, width), found " + escape_bytes(shape) + " (" +
                       std::to_string(dims.size()) + "-D)");
  if (dims[1] == 0)
    throw format_error(context + ": expected a width of at least 1, found shape " + escape_bytes(shape));
  s.rows = static_cast<std::size_t>(dims[0]);
  s.width = static_cast<std::size_t>(dims[1]);

  std::uint64_t data_bytes = 0, expected = 0;
  if (__builtin_mul_overflow(dims[0], dims[1], &data_bytes) ||
      __builtin_mul_overflow(data_bytes, std::uint64_t{s.item_bytes}, &data_bytes) ||
      __builtin_add_overflow(data_bytes, s.data_offset, &expected))
    throw format_error(context + ": expected a shape whose bytes fit in 64 bits, found " + escape_bytes(shape));
  if (expected != s.file_bytes)
    throw format_error(context + ": expected " + std::to_string(expected) + " bytes (a " +
                       std::to_string(s.data_offset) + "-byte header and " + std::to_string(s.rows) + " x " +
                       std::to_string(s.width) + " values of " + npy_dtype_name(s.item_bytes) + "), found " +
                       std::to_string(s.file_bytes) +
                       (s.file_bytes < expected ? " (the file is truncated)" : " (bytes after the data)"));
  return s;
}

/// `n` little-endian values of `item_bytes` bytes at `src` as floats at `dst`: f4 copied, f2 exactly
/// (every half is a float), f8 rounded to the nearest float.
inline void npy_to_float(const unsigned char* src, std::size_t item_bytes, float* dst, std::size_t n) noexcept {
  if (item_bytes == 4) {
    std::memcpy(dst, src, n * 4);
  } else if (item_bytes == 8) {
    for (std::size_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, src + 8 * i, 8);
      dst[i] = static_cast<float>(v);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16, exponent = (h >> 10) & 31u, mantissa = h & 1023u;
      float v;
      if (exponent == 0) {  // zero or subnormal: mantissa · 2^-24, exact in float
        v = static_cast<float>(mantissa) * 0x1p-24f;
        if (sign != 0) v = -v;
      } else if (exponent == 31)  // infinity or NaN (its payload kept)
        v = std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
      else  // rebias the exponent from 15 to 127
        v = std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
      dst[i] = v;
    }
  }
}

}  // namespace detail

/// A stream of rows from `.npy` files, for data larger than memory (see the file's comment and
/// docs/npy-shards.md):
///
///   NpyShards acts("acts/*.npy", {.shuffle_buffer_rows = 1 << 18, .seed = 1});
///   acts.start_epoch(epoch);
///   while (std::size_t n = acts.next(batch, 4096)) { ... n rows of acts.width() floats ... }
///
/// Every row of this rank's files is given out exactly once per epoch, in an order fixed by the seed
/// and the epoch. Not copyable (it holds an open file while it reads); movable.
class NpyShards : public RowSource {
 public:
  using Options = NpyShardsOptions;

  /// The files that the shell pattern `pattern` matches (glob(3): '*', '?' and '[...]', in any path
  /// component; a leading '.' is not matched by '*'), sorted by name byte by byte. No match is an
  /// `io_error` naming the pattern; a bad file is a `format_error` naming it (see the file's comment).
  explicit NpyShards(const std::string& pattern, Options options = {}) : options_(std::move(options)) {
    check_options();
    open_all(glob_files(pattern));
  }
  /// The files `paths`, in this order (no pattern matching). An empty list is an `option_error`.
  explicit NpyShards(const std::vector<std::string>& paths, Options options = {}) : options_(std::move(options)) {
    check_options();
    open_all(paths);
  }
  /// The files of a braced list, `NpyShards({"a.npy", "b.npy"})`.
  NpyShards(std::initializer_list<std::string> paths, Options options = {})
      : NpyShards(std::vector<std::string>(paths), std::move(options)) {}

  /// Floats per row, the same in every file.
  std::size_t width() const noexcept override { return width_; }
  /// Rows given out per epoch: those of this rank's files (all files when `ranks` is 1).
  std::size_t rows() const noexcept override { return rows_; }
  /// Rows of all the files, every rank's.
  std::size_t total_rows() const noexcept { return total_rows_; }
  /// This rank's files, in the sorted (or given) order.
  const std::vector<std::string>& files() const noexcept { return paths_; }
  const Options& options() const noexcept { return options_; }
  /// Rows the shuffle buffer holds: `shuffle_buffer_rows`, or the rows of the data if fewer.
  std::size_t buffer_rows() const noexcept { return buffer_rows_; }
  /// Rows read per `fread`: `block_rows`, or the rows of the largest file if fewer.
  std::size_t block_rows() const noexcept { return block_rows_; }
  /// The bytes this source holds while it reads: the buffer (`buffer_rows() · width()` floats) and one
  /// block (`block_rows() · width()` values of the widest dtype among the files). Allocated by the first
  /// `start_epoch`, kept until the source is destroyed.
  std::size_t memory_bytes() const noexcept { return buffer_rows_ * width_ * sizeof(float) + block_bytes_; }

  /// Starts epoch `epoch` (any number, in any order: the same seed and epoch give the same order).
  /// When shuffling, the order of this rank's files is a permutation drawn from the seed and the
  /// epoch, and so are the buffer's choices. Also the way back after an error in `next`.
  void start_epoch(std::uint64_t epoch) override {
    file_.reset();
    active_ = false;
    if (buffer_.size() < buffer_rows_ * width_) buffer_.resize(buffer_rows_ * width_);
    if (block_.size() < block_bytes_) block_.resize(block_bytes_);
    // The seed's own sequence, then the epoch: (seed, epoch) pairs do not collide as seed + epoch would.
    rng_.reseed(Rng(options_.seed).next() ^ (epoch * 0x9E3779B97F4A7C15ull));
    order_.clear();
    for (std::size_t i = 0; i < shards_.size(); ++i)
      if (shards_[i].rows > 0) order_.push_back(i);
    if (options_.shuffle_buffer_rows > 0)
      for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng_.below(i)]);
    next_file_ = 0;
    file_rows_left_ = 0;
    block_filled_ = block_at_ = 0;
    buffered_ = 0;
    active_ = true;
  }

  /// Writes up to `max_rows` rows (row-major, `width()` floats each) at `out` and returns how many: fewer
  /// than `max_rows` only at the end of the epoch, 0 once it is over. A file that changed since the
  /// constructor checked it (vanished: `io_error`; shrank, grew or another header: `format_error`) or a
  /// read that fails ends the epoch with that error, naming the file; `start_epoch` starts again.
  /// `next` before `start_epoch`, after such an error, or with `max_rows` 0 is an `option_error`.
  std::size_t next(float* out, std::size_t max_rows) override {
    if (!active_)
      throw option_error(
          "NpyShards::next: expected a started epoch, found none (call start_epoch first, also after an error)");
    if (max_rows == 0 || out == nullptr)
      throw option_error("NpyShards::next: expected room for at least one row, found max_rows " +
                         std::to_string(max_rows) + (out == nullptr ? " and a null pointer" : ""));
    try {
      return options_.shuffle_buffer_rows > 0 ? next_shuffled(out, max_rows) : next_in_order(out, max_rows);
    } catch (...) {
      file_.reset();
      active_ = false;
      throw;
    }
  }

 private:
  void check_options() const {
    if (options_.block_rows == 0) throw option_error("NpyShards: expected block_rows of at least 1, found 0");
    if (options_.ranks == 0 || options_.rank >= options_.ranks)
      throw option_error("NpyShards: expected rank < ranks, found rank " + std::to_string(options_.rank) +
                         " of ranks " + std::to_string(options_.ranks));
  }

  /// Reads and checks every file's header; keeps this rank's files.
  void open_all(const std::vector<std::string>& paths) {
    if (paths.empty()) throw option_error("NpyShards: expected at least one file, found an empty list");
    if (options_.ranks > paths.size())
      throw option_error("NpyShards: expected at least one file per rank, found " + std::to_string(paths.size()) +
                         " files for " + std::to_string(options_.ranks) + " ranks");
    std::size_t largest = 0, widest = 0;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const std::string context = "NpyShards: " + paths[i];
      const detail::file_ptr f = detail::open_npy_shard(paths[i], context);
      detail::npy_shard s = detail::read_npy_shard_header(f.get(), paths[i], context);
      if (i == 0) width_ = s.width;
      if (s.width != width_)
        throw format_error(context + ": expected width " + std::to_string(width_) + " (as " + paths[0] + "), found " +
                           std::to_string(s.width));
      if (__builtin_add_overflow(total_rows_, s.rows, &total_rows_))
        throw format_error(context + ": expected fewer than 2^64 rows in all, found more");
      if (i % options_.ranks != options_.rank) continue;
      rows_ += s.rows;
      largest = std::max(largest, s.rows);
      if (s.rows > 0) widest = std::max(widest, s.item_bytes);
      paths_.push_back(paths[i]);
      shards_.push_back(std::move(s));
    }
    // Both fit: rows · width · item bytes are a file's size (checked), and a float is at most 2 halves.
    buffer_rows_ = std::min(options_.shuffle_buffer_rows, rows_);
    block_rows_ = std::min(options_.block_rows, largest);
    block_bytes_ = block_rows_ * width_ * widest;
  }

  /// Why glob(3) and not std::filesystem: it is the shell's matching (what a user typing "acts/*.npy"
  /// expects, patterns in directory names too, and '*' skips dot files such as the atomic writer's
  /// temporaries), in one POSIX call. Its own sort follows the locale (strcoll); the names are sorted
  /// here byte by byte instead, so that every rank of a run sees the same order.
  static std::vector<std::string> glob_files(const std::string& pattern) {
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), GLOB_NOSORT | GLOB_ERR, nullptr, &g);
    const int err = errno;
    std::vector<std::string> paths;
    if (rc == 0) paths.assign(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    ::globfree(&g);
    if (rc == GLOB_NOSPACE) throw std::bad_alloc();
    // GLOB_ERR: a directory on the way that cannot be read (missing, no permission) is said, not skipped.
    if (rc == GLOB_ABORTED)
      throw io_error("NpyShards: cannot read a directory on the path of the pattern '" + pattern +
                     "': " + std::strerror(err));
    if (rc != 0 || paths.empty())
      throw io_error("NpyShards: expected files matching the pattern '" + pattern + "', found none");
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  /// The next row of the stream (files in the epoch's order, rows in file order), as raw values of
  /// `item_bytes_` bytes; nullptr at the end of the epoch's data.
  const unsigned char* next_raw_row() {
    if (block_at_ == block_filled_ && !read_block()) return nullptr;
    return block_.data() + (block_at_++) * width_ * item_bytes_;
  }

  /// Reads the next block (from the next non-empty file when this one is done); false at the end.
  bool read_block() {
    if (file_rows_left_ == 0) {
      file_.reset();
      if (next_file_ == order_.size()) return false;
      const detail::npy_shard& want = shards_[order_[next_file_++]];
      context_ = "NpyShards: " + want.path;
      file_ = detail::open_npy_shard(want.path, context_);
      const detail::npy_shard now = detail::read_npy_shard_header(file_.get(), want.path, context_);
      if (now.rows != want.rows || now.width != want.width || now.item_bytes != want.item_bytes ||
          now.data_offset != want.data_offset)
        throw format_error(context_ + ": expected the (" + std::to_string(want.rows) + ", " +
                           std::to_string(want.width) + ") array of " + detail::npy_dtype_name(want.item_bytes) +
                           " it held when the source was built, found (" + std::to_string(now.rows) + ", " +
                           std::to_string(now.width) + ") of " + detail::npy_dtype_name(now.item_bytes) +
                           " (the file was replaced)");
      file_rows_left_ = want.rows;
      item_bytes_ = want.item_bytes;
    }
    const std::size_t want = std::min(block_rows_, file_rows_left_);
    const std::size_t got = std::fread(block_.data(), width_ * item_bytes_, want, file_.get());
    if (got != want) {
      if (std::ferror(file_.get())) throw io_error(context_ + ": cannot read: " + std::strerror(errno));
      throw format_error(context_ + ": expected " + std::to_string(file_rows_left_) + " more rows, found the end of " +
                         "the file after " + std::to_string(got) + " (it shrank while it was read)");
    }
    file_rows_left_ -= want;
    block_filled_ = want;
    block_at_ = 0;
    return true;
  }

  std::size_t next_in_order(float* out, std::size_t max_rows) {
    std::size_t done = 0;
    while (done < max_rows) {
      if (block_at_ == block_filled_ && !read_block()) break;
      const std::size_t n = std::min(max_rows - done, block_filled_ - block_at_);
      detail::npy_to_float(block_.data() + block_at_ * width_ * item_bytes_, item_bytes_, out + done * width_,
                           n * width_);
      block_at_ += n;
      done += n;
    }
    return done;
  }

  // tf.data's shuffle buffer: filled from the stream, then each row given out is a uniformly chosen
  // slot, refilled by the next row read; once the stream is over, the last slot fills the hole.
  std::size_t next_shuffled(float* out, std::size_t max_rows) {
    std::size_t done = 0;
    while (buffered_ < buffer_rows_) {
      const unsigned char* raw = next_raw_row();
      if (raw == nullptr) break;
      detail::npy_to_float(raw, item_bytes_, buffer_.data() + buffered_++ * width_, width_);
    }
    for (; done < max_rows && buffered_ > 0; ++done) {
      float* slot = buffer_.data() + rng_.below(buffered_) * width_;
      std::memcpy(out + done * width_, slot, width_ * sizeof(float));
      if (const unsigned char* raw = next_raw_row()) {
        detail::npy_to_float(raw, item_bytes_, slot, width_);
      } else {
        const float* last = buffer_.data() + --buffered_ * width_;
        if (last != slot) std::memcpy(slot, last, width_ * sizeof(float));
      }
    }
    return done;
  }

  Options options_;
  std::vector<detail::npy_shard> shards_;  // this rank's files
  std::vector<std::string> paths_;         // their paths, for files()
  std::size_t width_ = 0, rows_ = 0, total_rows_ = 0;
  std::size_t buffer_rows_ = 0, block_rows_ = 0, block_bytes_ = 0;

  // The epoch being read.
  bool active_ = false;
  Rng rng_;
  std::vector<std::size_t> order_;  // indices into shards_ of the non-empty files, in the epoch's order
  std::size_t next_file_ = 0;
  detail::file_ptr file_;
  std::string context_;  // "NpyShards: <path>" of the open file
  std::size_t file_rows_left_ = 0, item_bytes_ = 4;
  std::vector<unsigned char> block_;
  std::size_t block_filled_ = 0, block_at_ = 0;  // rows in the block, rows of it already used
  std::vector<float> buffer_;
  std::size_t buffered_ = 0;  // rows in the shuffle buffer
};

/// Writes `x` (rows × width) to `path` as a `.npy` version 1.0 file of '<f4' in C order (the header
/// padded so the data starts at a multiple of 64 bytes, as NumPy writes it), atomically
/// (`detail::write_file_atomically`: a reader sees the old file or the whole new one). The file is
/// assembled in memory first: meant for tests, examples and shards of moderate size.
inline void save_npy(const std::string& path, const xt::xtensor<float, 2>& x) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(x.shape(0)) + ", " +
                       std::to_string(x.shape(1)) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  detail::put_le(bytes, header.size(), 2);
  bytes += header;
  const std::size_t data_at = bytes.size();
  bytes.resize(data_at + x.size() * sizeof(float));
  if (x.size() > 0) std::memcpy(bytes.data() + data_at, x.data(), x.size() * sizeof(float));
  detail::write_file_atomically(path, bytes, "save_npy");
}

}  // namespace latent
