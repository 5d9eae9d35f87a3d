#pragma once
/// \file
/// latent's binary file container: a header, tagged sections and a CRC-32, written atomically.
///
/// Layout (little-endian): magic "\x89LATENT\n" (8 bytes), format version (u32), byte-order mark
/// 0x01020304 (u32), then sections — tag (u32), length (u64), bytes — and finally the CRC-32 (zlib) of
/// everything before it (u32). Readers check all of it before anything is used, so a truncated or
/// corrupted file is refused with `format_error` and nothing is changed.

#include "latent/core/error.hpp"

#include <zlib.h>  // crc32: the checksum

#include <cstdint>      // std::uint32_t, std::uint64_t
#include <cstdio>       // std::FILE, std::fopen, std::fwrite, std::rename, std::remove
#include <cstring>      // std::memcpy
#include <map>          // std::map: sections by tag
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::move
#include <vector>       // std::vector

#include <unistd.h>  // fsync: the bytes reach the disk before the rename

namespace latent::detail {

inline constexpr char file_magic[8] = {'\x89', 'L', 'A', 'T', 'E', 'N', 'T', '\n'};
inline constexpr std::uint32_t file_version = 1;
inline constexpr std::uint32_t byte_order_mark = 0x01020304;

enum section_tag : std::uint32_t { model_section = 1, optimizer_section = 2, fit_section = 3 };

/// Appends plain values to a byte string (the platform is little-endian; the byte-order mark records it).
class byte_writer {
 public:
  template <class T>
  void put(const T& v) {
    const char* p = reinterpret_cast<const char*>(&v);
    bytes_.append(p, sizeof(T));
  }
  void put_string(std::string_view s) {
    put(static_cast<std::uint32_t>(s.size()));
    bytes_.append(s.data(), s.size());
  }
  template <class T>
  void put_array(const T* data, std::size_t count) {
    put(static_cast<std::uint64_t>(count));
    if (count != 0) bytes_.append(reinterpret_cast<const char*>(data), count * sizeof(T));
  }
  const std::string& bytes() const noexcept { return bytes_; }

 private:
  std::string bytes_;
};

/// Reads plain values back, refusing to read past the end.
class byte_reader {
 public:
  byte_reader(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string get_string(std::size_t limit = 1 << 20) {
    const auto n = get<std::uint32_t>();
    if (n > limit) throw format_error(what_ + ": a string of " + std::to_string(n) + " bytes is longer than allowed");
    need(n);
    std::string s(bytes_.substr(at_, n));
    at_ += n;
    return s;
  }
  template <class T>
  std::vector<T> get_array(std::size_t expected_count) {
    const auto n = get<std::uint64_t>();
    if (n != expected_count)
      throw format_error(what_ + ": expected " + std::to_string(expected_count) + " values, found " + std::to_string(n));
    need(n * sizeof(T));
    std::vector<T> v(n);
    if (n != 0) std::memcpy(v.data(), bytes_.data() + at_, n * sizeof(T));
    at_ += n * sizeof(T);
    return v;
  }
  std::string get_bytes(std::uint64_t n) {
    need(n);
    std::string s(bytes_.substr(at_, n));
    at_ += n;
    return s;
  }
  bool at_end() const noexcept { return at_ == bytes_.size(); }

 private:
  void need(std::size_t n) const {
    if (n > bytes_.size() - at_)
      throw format_error(what_ + ": truncated: expected " + std::to_string(n) + " more bytes at offset " +
                         std::to_string(at_) + ", found " + std::to_string(bytes_.size() - at_));
  }
  std::string_view bytes_;
  std::string what_;
  std::size_t at_ = 0;
};

/// Writes sections to `path` atomically: a temporary file in the same directory, flushed and synced,
/// then renamed over `path`. On failure the temporary is removed and `path` is untouched.
inline void write_sections(const std::string& path, const std::map<std::uint32_t, std::string>& sections) {
  byte_writer w;
  for (char c : file_magic) w.put(c);
  w.put(file_version);
  w.put(byte_order_mark);
  std::string all = w.bytes();
  for (const auto& [tag, bytes] : sections) {
    byte_writer h;
    h.put(tag);
    h.put(static_cast<std::uint64_t>(bytes.size()));
    all += h.bytes();
    all += bytes;
  }
  const auto crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(all.data()), static_cast<uInt>(all.size())));
  all.append(reinterpret_cast<const char*>(&crc), 4);

  const std::string tmp = path + ".tmp-latent";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw io_error("save: cannot create " + tmp + " (does the directory exist and is it writable?)");
  const bool ok = std::fwrite(all.data(), 1, all.size(), f) == all.size() && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw io_error("save: could not write " + path);
  }
}

/// Checks a whole file's bytes (magic, version, byte order, checksum, section framing); returns its
/// sections by tag. `what` names the source in messages.
inline std::map<std::uint32_t, std::string> parse_sections(std::string_view all, const std::string& what) {
  if (all.size() < 8 || std::memcmp(all.data(), file_magic, 8) != 0)
    throw format_error(what + ": not a latent file (expected the magic number \\x89LATENT\\n)");
  if (all.size() < 8 + 4 + 4 + 4)
    throw format_error(what + ": truncated: " + std::to_string(all.size()) + " bytes is shorter than any latent file");
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, all.data() + all.size() - 4, 4);
  const auto crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(all.data()), static_cast<uInt>(all.size() - 4)));
  byte_reader r(all.substr(0, all.size() - 4), what);
  for (int i = 0; i < 8; ++i) r.get<char>();
  const auto version = r.get<std::uint32_t>();
  if (version != file_version)
    throw format_error(what + ": expected format version " + std::to_string(file_version) + ", found " +
                       std::to_string(version));
  if (r.get<std::uint32_t>() != byte_order_mark)
    throw format_error(what + ": written on a machine with another byte order");
  if (crc != stored_crc) throw format_error(what + ": checksum mismatch: the file is truncated or corrupted");
  std::map<std::uint32_t, std::string> sections;
  while (!r.at_end()) {
    const auto tag = r.get<std::uint32_t>();
    const auto length = r.get<std::uint64_t>();
    sections[tag] = r.get_bytes(length);
  }
  return sections;
}

/// Reads and checks a whole file; returns its sections by tag.
inline std::map<std::uint32_t, std::string> read_sections(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw io_error("load: cannot open " + path);
  std::string all;
  char chunk[1 << 16];
  for (std::size_t got; (got = std::fread(chunk, 1, sizeof chunk, f)) > 0;) all.append(chunk, got);
  std::fclose(f);
  return parse_sections(all, "load: " + path);
}

}  // namespace latent::detail
