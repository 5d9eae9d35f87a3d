#pragma once
/// \file
/// latent's binary file container: a header, tagged sections and a CRC-32, written atomically.
///
/// Layout (little-endian): magic "\x89LATENT\n" (8 bytes), format version (u32), byte-order mark
/// 0x01020304 (u32), then sections — tag (u32), length (u64), bytes — and finally the CRC-32 (zlib) of
/// everything before it (u32). Every value is written field by field (never a struct's memory, whose
/// padding bytes are undefined), so the same state always gives the same bytes.
///
/// Readers stream the file: the magic number is checked before anything else is read, and every
/// length is checked against the bytes the file really holds before anything is allocated for it.
/// A file that is truncated, corrupted (checksum), holds an unknown or a repeated section, or a
/// section with bytes left over, is refused with `format_error`, and nothing is changed.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/io/atomic_file.hpp"

#include <zlib.h>  // crc32_z: the checksum (of any length)

#include <algorithm>    // std::min
#include <cerrno>       // errno, EINTR
#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t, std::uint32_t, std::uint64_t
#include <cstring>      // std::memcpy, std::memcmp, std::strerror
#include <map>          // std::map: sections by tag
#include <optional>     // std::optional: the size of a source, when it is known
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_arithmetic_v, std::is_same_v
#include <utility>      // std::move, std::pair
#include <vector>       // std::vector

#include <fcntl.h>     // open
#include <sys/stat.h>  // fstat: a directory is refused, a regular file's size bounds every length
#include <unistd.h>    // read, close

namespace latent::detail {

inline constexpr char file_magic[8] = {'\x89', 'L', 'A', 'T', 'E', 'N', 'T', '\n'};
inline constexpr std::uint32_t file_version = 1;
inline constexpr std::uint32_t byte_order_mark = 0x01020304;

enum section_tag : std::uint32_t { model_section = 1, optimizer_section = 2, fit_section = 3 };

/// True for the section tags this version knows; any other is refused (it would be silently lost).
constexpr bool known_section(std::uint32_t tag) noexcept {
  return tag == model_section || tag == optimizer_section || tag == fit_section;
}

/// Bytes of an `Rng::State` on disk: four u64 words, the spare normal (f64), has_spare (one byte,
/// 0 or 1) and 7 reserved zero bytes (the size of the struct that version 1 wrote with its padding;
/// readers ignore them, as files written before they were zeroed hold arbitrary bytes there).
inline constexpr std::size_t rng_state_bytes = 48;

/// Appends values to a byte string, field by field (the platform is little-endian; the byte-order
/// mark records it).
class byte_writer {
 public:
  /// A number, or an `Rng::State` (field by field).
  template <class T>
  void put(const T& v) {
    if constexpr (std::is_same_v<T, Rng::State>) {
      for (std::uint64_t w : v.words) put(w);
      put(v.spare);
      put(static_cast<std::uint8_t>(v.has_spare ? 1 : 0));
      bytes_.append(7, '\0');
    } else {
      static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                    "latent: byte_writer writes numbers and Rng::State only (a struct's padding is undefined)");
      bytes_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
  }
  void put_string(std::string_view s) {
    put(static_cast<std::uint32_t>(s.size()));
    bytes_.append(s.data(), s.size());
  }
  template <class T>
  void put_array(const T* data, std::size_t count) {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "latent: put_array writes numbers only");
    put(static_cast<std::uint64_t>(count));
    if (count != 0) bytes_.append(reinterpret_cast<const char*>(data), count * sizeof(T));
  }
  const std::string& bytes() const noexcept { return bytes_; }

 private:
  std::string bytes_;
};

/// Reads values back from one section, refusing to read past its end and checking every value that
/// has fewer valid forms than bytes (a bool is 0 or 1).
class byte_reader {
 public:
  byte_reader(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  /// A number, or an `Rng::State` (checked: has_spare 0 or 1, a finite spare, not all words zero).
  template <class T>
  T get() {
    if constexpr (std::is_same_v<T, Rng::State>) {
      Rng::State s{};
      for (auto& w : s.words) w = get<std::uint64_t>();
      s.spare = get<double>();
      const auto has_spare = get<std::uint8_t>();
      skip(7);
      if (has_spare > 1)
        throw format_error(what_ + ": expected a generator flag of 0 or 1, found " + std::to_string(has_spare));
      if (!std::isfinite(s.spare))
        throw format_error(what_ + ": expected a finite cached normal, found " + std::to_string(s.spare));
      if ((s.words[0] | s.words[1] | s.words[2] | s.words[3]) == 0)
        throw format_error(what_ +
                           ": expected a generator state, found all zeros (xoshiro256** would draw only zeros)");
      s.has_spare = has_spare == 1;
      return s;
    } else {
      static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                    "latent: byte_reader reads numbers and Rng::State only; read a flag with get_flag");
      need(sizeof(T));
      T v;
      std::memcpy(&v, bytes_.data() + at_, sizeof(T));
      at_ += sizeof(T);
      return v;
    }
  }
  /// A one-byte flag, which must be 0 or 1 (any other byte would be an invalid bool).
  bool get_flag(const char* name) {
    const auto b = get<std::uint8_t>();
    if (b > 1) throw format_error(what_ + ": expected " + name + " to be 0 or 1, found " + std::to_string(b));
    return b == 1;
  }
  std::string get_string(std::size_t limit = 1 << 20) {
    const auto n = get<std::uint32_t>();
    if (n > limit)
      throw format_error(what_ + ": expected a string of at most " + std::to_string(limit) + " bytes, found " +
                         std::to_string(n));
    need(n);
    std::string s(bytes_.substr(at_, n));
    at_ += n;
    return s;
  }
  /// An array of exactly `expected_count` values.
  template <class T>
  std::vector<T> get_array(std::size_t expected_count) {
    const auto n = get<std::uint64_t>();
    if (n != expected_count)
      throw format_error(what_ + ": expected " + std::to_string(expected_count) + " values, found " +
                         std::to_string(n));
    return get_values<T>(n);
  }
  /// An array of any length the section holds (checked before anything is allocated).
  template <class T>
  std::vector<T> get_any_array() {
    return get_values<T>(get<std::uint64_t>());
  }
  std::string get_bytes(std::uint64_t n) {
    need(n);
    std::string s(bytes_.substr(at_, n));
    at_ += n;
    return s;
  }
  bool at_end() const noexcept { return at_ == bytes_.size(); }
  /// Refuses bytes left over after the last field: a section is exactly its fields.
  void expect_end() const {
    if (!at_end())
      throw format_error(what_ + ": expected the section to end after " + std::to_string(at_) + " bytes, found " +
                         std::to_string(bytes_.size() - at_) + " more");
  }
  const std::string& what() const noexcept { return what_; }

 private:
  template <class T>
  std::vector<T> get_values(std::uint64_t n) {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, "latent: arrays of numbers only");
    if (n > (bytes_.size() - at_) / sizeof(T))  // never overflows, unlike n * sizeof(T)
      throw format_error(what_ + ": truncated: expected " + std::to_string(n) + " values of " +
                         std::to_string(sizeof(T)) + " bytes at offset " + std::to_string(at_) + ", found " +
                         std::to_string(bytes_.size() - at_) + " bytes");
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n != 0) std::memcpy(v.data(), bytes_.data() + at_, v.size() * sizeof(T));
    at_ += v.size() * sizeof(T);
    return v;
  }
  void skip(std::size_t n) {
    need(n);
    at_ += n;
  }
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - at_)
      throw format_error(what_ + ": truncated: expected " + std::to_string(n) + " more bytes at offset " +
                         std::to_string(at_) + ", found " + std::to_string(bytes_.size() - at_));
  }
  std::string_view bytes_;
  std::string what_;
  std::size_t at_ = 0;
};

/// The bytes of a whole file for `sections`: header, sections in tag order, checksum.
inline std::string file_bytes(const std::map<std::uint32_t, std::string>& sections) {
  byte_writer w;
  for (char c : file_magic) w.put(c);
  w.put(file_version);
  w.put(byte_order_mark);
  std::string all = w.bytes();
  for (const auto& [tag, bytes] : sections) {
    byte_writer frame;
    frame.put(tag);
    frame.put(static_cast<std::uint64_t>(bytes.size()));
    all += frame.bytes();
    all += bytes;
  }
  byte_writer c;
  c.put(static_cast<std::uint32_t>(crc32_z(0L, reinterpret_cast<const Bytef*>(all.data()), all.size())));
  return all + c.bytes();
}

/// Writes sections to `path` atomically (see `write_file_atomically`): a failed write leaves the
/// old file as it was and throws `io_error` with the system's reason.
inline void write_sections(const std::string& path, const std::map<std::uint32_t, std::string>& sections) {
  write_file_atomically(path, file_bytes(sections), "save");
}

/// Where the bytes of a latent file come from: memory, or a file descriptor read as it goes.
class section_source {
 public:
  section_source(std::string_view memory) : mem_(memory), size_(memory.size()) {}
  section_source(int fd, std::optional<std::uint64_t> size, std::string what)
      : fd_(fd), size_(size), what_(std::move(what)) {}

  /// Bytes left, when the source knows its size (memory, a regular file).
  std::optional<std::uint64_t> remaining() const noexcept {
    if (!size_) return std::nullopt;
    return *size_ > consumed_ ? *size_ - consumed_ : 0;
  }
  /// Appends up to `n` bytes to `out`; returns how many arrived (fewer only at the end). Memory
  /// grows with the bytes that arrive, never with `n`.
  std::size_t read(std::string& out, std::uint64_t n) {
    if (fd_ < 0) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, mem_.size() - consumed_));
      out.append(mem_.substr(consumed_, k));
      consumed_ += k;
      return k;
    }
    std::size_t total = 0;
    char chunk[1 << 16];
    while (total < n) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n - total, sizeof chunk));
      const ssize_t got = ::read(fd_, chunk, want);
      if (got < 0) {
        if (errno == EINTR) continue;
        throw io_error(what_ + ": cannot read: " + std::strerror(errno));
      }
      if (got == 0) break;
      out.append(chunk, static_cast<std::size_t>(got));
      total += static_cast<std::size_t>(got);
    }
    consumed_ += total;
    return total;
  }

 private:
  std::string_view mem_;
  int fd_ = -1;
  std::optional<std::uint64_t> size_;
  std::uint64_t consumed_ = 0;
  std::string what_;
};

/// Reads and checks a whole latent file from `src` (magic, version, byte order, section framing,
/// checksum, section tags); returns its sections by tag. `what` names the source in messages.
inline std::map<std::uint32_t, std::string> parse_sections(section_source& src, const std::string& what) {
  std::string head;
  if (src.read(head, 8) < 8 || std::memcmp(head.data(), file_magic, 8) != 0)
    throw format_error(what + ": not a latent file (expected the magic number \\x89LATENT\\n, found " +
                       escape_bytes(head) + ")");
  if (src.read(head, 8) < 8)
    throw format_error(what + ": truncated: " + std::to_string(head.size()) + " bytes is shorter than any latent file");
  byte_reader h(head, what);
  for (int i = 0; i < 8; ++i) h.get<char>();
  const auto version = h.get<std::uint32_t>();
  if (version != file_version)
    throw format_error(what + ": expected format version " + std::to_string(file_version) + ", found " +
                       std::to_string(version));
  if (h.get<std::uint32_t>() != byte_order_mark)
    throw format_error(what + ": written on a machine with another byte order");
  auto crc = crc32_z(0L, reinterpret_cast<const Bytef*>(head.data()), head.size());
  auto add_crc = [&crc](std::string_view b) { crc = crc32_z(crc, reinterpret_cast<const Bytef*>(b.data()), b.size()); };

  // Sections until only the 4 checksum bytes are left: a section header is 12 bytes, so 4 bytes
  // then the end of the file are the checksum, and any other short read is a truncation.
  std::vector<std::pair<std::uint32_t, std::string>> found;
  std::uint64_t offset = 16;
  std::uint32_t stored_crc = 0;
  while (true) {
    std::string frame;
    const std::size_t got = src.read(frame, 12);
    if (got == 4) {
      std::string beyond;
      if (src.read(beyond, 1) == 0) {
        std::memcpy(&stored_crc, frame.data(), 4);
        break;
      }
    }
    if (got < 12)
      throw format_error(what + ": truncated: expected a section header or the checksum at offset " +
                         std::to_string(offset) + ", found " + std::to_string(got) + " bytes");
    add_crc(frame);
    byte_reader f(frame, what);
    const auto tag = f.get<std::uint32_t>();
    const auto length = f.get<std::uint64_t>();
    offset += 12;
    // The checksum follows the last section: a length beyond the bytes left is a lie, refused before
    // anything is allocated for it.
    if (const auto left = src.remaining(); left && (*left < 4 || length > *left - 4))
      throw format_error(what + ": truncated: section " + std::to_string(tag) + " at offset " + std::to_string(offset) +
                         " claims " + std::to_string(length) + " bytes, the file holds " +
                         std::to_string(*left < 4 ? 0 : *left - 4) + " more before its checksum");
    std::string bytes;
    if (src.remaining()) bytes.reserve(static_cast<std::size_t>(length));
    if (src.read(bytes, length) < length)
      throw format_error(what + ": truncated: section " + std::to_string(tag) + " at offset " + std::to_string(offset) +
                         " claims " + std::to_string(length) + " bytes, found " + std::to_string(bytes.size()));
    add_crc(bytes);
    offset += length;
    found.emplace_back(tag, std::move(bytes));
  }
  if (static_cast<std::uint32_t>(crc) != stored_crc)
    throw format_error(what + ": checksum mismatch: the file is truncated or corrupted");

  std::map<std::uint32_t, std::string> sections;
  for (auto& [tag, bytes] : found) {
    if (!known_section(tag))
      throw format_error(what + ": expected sections 1 (model), 2 (optimiser) or 3 (fit), found an unknown section " +
                         std::to_string(tag) + " (written by a newer latent?)");
    if (!sections.emplace(tag, std::move(bytes)).second)
      throw format_error(what + ": expected each section once, found section " + std::to_string(tag) + " twice");
  }
  return sections;
}

/// The same for a whole file held in memory (the fuzzing entry point).
inline std::map<std::uint32_t, std::string> parse_sections(std::string_view all, const std::string& what) {
  section_source src(all);
  return parse_sections(src, what);
}

/// Reads and checks a file; returns its sections by tag. Throws `io_error` when `path` cannot be
/// opened or read or is a directory, `format_error` for its contents.
inline std::map<std::uint32_t, std::string> read_sections(const std::string& path) {
  const std::string what = "load: " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(what + ": cannot open: " + std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw io_error(what + ": cannot read: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw io_error(what + ": expected a file, found a directory");
  // A regular file's size bounds every length; a pipe's is unknown, and memory then grows only
  // with the bytes that arrive.
  std::optional<std::uint64_t> size;
  if (S_ISREG(st.st_mode)) size = static_cast<std::uint64_t>(st.st_size);
  section_source src(fd, size, what);
  return parse_sections(src, what);
}

}  // namespace latent::detail
