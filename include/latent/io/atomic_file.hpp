#pragma once
/// \file
/// `latent::detail::write_file_atomically`: the one file writer of latent (models, optimiser states,
/// checkpoints, PNG pictures). A reader of the path sees either its old contents or all of the new
/// ones, never a mixture, whatever happens during the write (a crash, a full disk, another writer).

#include "latent/core/error.hpp"

#include <atomic>        // std::atomic: the process-wide counter of temporary names
#include <cerrno>        // errno, EEXIST, EINTR, ENOENT
#include <chrono>        // std::chrono::steady_clock: random bits when getrandom is unavailable
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <cstdio>        // std::snprintf
#include <cstring>       // std::strerror
#include <filesystem>    // std::filesystem::path, read_symlink, symlink_status
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code

#include <fcntl.h>       // open, O_CREAT, O_EXCL: a temporary that no other writer can share
#include <sys/random.h>  // getrandom: random bits in temporary names
#include <sys/stat.h>    // stat, fchmod: the kind and the mode of the file being replaced
#include <unistd.h>      // write, fsync, close, unlink, getpid

namespace latent::detail {

/// The file a path finally names: symbolic links are followed (relative targets from the link's
/// directory), so that saving through a link replaces the link's target and the link stays a link.
/// A dangling link names the file it would point to.
inline std::filesystem::path resolve_links(const std::string& path, const std::string& who) {
  namespace fs = std::filesystem;
  fs::path p(path);
  for (int hops = 0; hops < 40; ++hops) {  // 40: Linux's own limit (ELOOP)
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(p, ec))) return p;
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) throw io_error(who + ": " + path + ": cannot read the symbolic link " + p.string() + ": " + ec.message());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  throw io_error(who + ": " + path + ": expected a chain of at most 40 symbolic links, found a longer one (a loop?)");
}

/// A name for a temporary beside `target` that no other writer uses at the same time: the pid tells
/// processes apart, a process-wide counter threads, and 64 random bits hosts (a shared directory).
inline std::filesystem::path temporary_name(const std::filesystem::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t bits = 0;
  if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits))
    bits =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) * 0x9E3779B97F4A7C15ull;
  char suffix[80];
  std::snprintf(suffix, sizeof suffix, ".tmp-latent-%ld-%llu-%016llx", static_cast<long>(getpid()),
                static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)),
                static_cast<unsigned long long>(bits));
  // A leading dot keeps the temporary out of globs such as *.png while it exists. (Appended, not
  // "." + string: g++ 12 warns falsely on operator+(const char*, string&&), bug 105651.)
  std::string name = ".";
  name += target.filename().string();
  name += suffix;
  return target.parent_path() / name;
}

/// Writes all of `bytes` to `fd`, retrying partial writes; false (errno set) on failure.
inline bool write_all(int fd, std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Replaces the file `path` names with `bytes`, atomically: the bytes go to a temporary file in the
/// target's directory (a name unique to this writer), are synced to the disk, and the temporary is
/// renamed over the target, whose mode it takes; the directory is then synced so the rename lasts.
/// Concurrent writers to one path (threads or processes) each rename a complete file: the last one
/// wins. A symbolic link is written through (its target is replaced). A path that names a device or
/// a pipe (e.g. /dev/stdout) is written directly, since it cannot be replaced. On any failure the
/// temporary is removed, the old file is untouched, and `io_error` gives the system's reason.
/// `who` starts every message ("save", "write_png", ...).
inline void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& who) {
  namespace fs = std::filesystem;
  const fs::path target = resolve_links(path, who);
  const std::string context = who + ": " + path;
  auto fail = [&](const std::string& what, int err) {
    throw io_error(context + ": " + what + ": " + std::strerror(err));
  };

  struct stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw io_error(context + ": expected a file, found a directory");
  if (exists && !S_ISREG(st.st_mode)) {
    const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open", errno);
    const bool ok = write_all(fd, bytes);
    const int err = errno;
    const bool closed = ::close(fd) == 0;
    if (!ok) fail("cannot write", err);
    if (!closed) fail("cannot write", errno);
    return;
  }

  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  fs::path tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = temporary_name(target);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);  // 0666 & ~umask, as fopen
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    const int err = errno;
    std::error_code ec;
    if (err == ENOENT && !fs::is_directory(dir, ec))
      throw io_error(context + ": expected an existing directory " + dir.string() + ", found none (" +
                     std::strerror(err) + ")");
    fail("cannot create a temporary file in " + dir.string(), err);
  }
  // The replacement keeps the replaced file's permissions (a private 0600 model stays private).
  if (exists) (void)::fchmod(fd, st.st_mode & 07777);
  const bool written = write_all(fd, bytes) && ::fsync(fd) == 0;
  int err = errno;
  const bool closed = ::close(fd) == 0;
  if (written && !closed) err = errno;
  if (!written || !closed) {
    ::unlink(tmp.c_str());
    fail("cannot write " + tmp.string(), err);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename " + tmp.string() + " to " + target.string(), err);
  }
  // Best effort: the new file is complete and in place; syncing the directory only makes the rename
  // survive a power cut, and some file systems refuse to sync a directory.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace latent::detail
