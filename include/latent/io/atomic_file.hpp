#pragma once
/// \file
/// `latent::detail::write_file_atomically`: the one file writer of latent (models, optimiser states,
/// checkpoints, PNG pictures). A reader of the path sees either its old contents or all of the new
/// ones, never a mixture, whatever happens during the write (a crash, a full disk, another writer).

#include "latent/core/error.hpp"

#include <atomic>        // std::atomic: the process-wide counter of temporary names
#include <cerrno>        // errno, EEXIST, EINTR, ENOENT, ESRCH
#include <chrono>        // std::chrono::steady_clock: random bits when getrandom is unavailable
#include <climits>       // INT_MAX: the largest process id
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <cstdio>        // std::snprintf
#include <cstring>       // std::strerror
#include <filesystem>    // std::filesystem::path, read_symlink, symlink_status
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code

#include <dirent.h>      // opendir, readdir: the temporaries of dead writers beside a target
#include <fcntl.h>       // open, O_CREAT, O_EXCL: a temporary that no other writer can share
#include <signal.h>      // kill(pid, 0): is the writer of a temporary alive?
#include <sys/random.h>  // getrandom: random bits in temporary names
#include <sys/stat.h>    // stat, fchmod: the kind and the mode of the file being replaced
#include <unistd.h>      // write, fsync, close, unlink, getpid, gethostname

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

// 64-bit FNV-1a: a short stand-in for a long name, the same in every process.
inline std::uint64_t name_hash(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}
// `s` if it has at most `n` bytes, else its first n − 17 bytes, '~' and 16 hex digits of its hash.
inline std::string shortened(std::string s, std::size_t n) {
  if (s.size() <= n) return s;
  char h[20];
  std::snprintf(h, sizeof h, "~%016llx", static_cast<unsigned long long>(name_hash(s)));
  s.resize(n - 17);
  return s + h;
}

/// Whose temporaries a process may judge: its host name (bytes other than letters, digits, '.' and
/// '_' made '_', so the name has no '-'; over 40 bytes shortened with a hash) and its pid namespace
/// (the inode of /proc/self/ns/pid), which together make a process id mean one process. `known` is
/// false when either cannot be read (then no temporary is ever judged dead).
struct writer_host {
  std::string id;  ///< "<host>-<pid namespace>"
  bool known = false;
};
inline writer_host this_writer_host() {
  char host[256] = {};
  const bool named = ::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0';
  std::string name = named ? host : "unknown";
  for (char& c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_')) c = '_';
  struct stat ns {};
  const bool in_namespace = ::stat("/proc/self/ns/pid", &ns) == 0;
  writer_host w;
  w.id = shortened(name, 40) + "-" + std::to_string(in_namespace ? static_cast<unsigned long long>(ns.st_ino) : 0ull);
  w.known = named && in_namespace;
  return w;
}

/// The start of every temporary's name for `target` written from `host`:
/// ".<file name>.tmp-latent-<host>-<pid namespace>-" (a file name over 100 bytes shortened with a
/// hash, so the whole name stays within the 255 bytes a directory entry can hold). A leading dot
/// keeps temporaries out of globs such as *.png.
inline std::string temporary_prefix(const std::filesystem::path& target, const writer_host& host) {
  // Appended, not "." + string: g++ 12 warns falsely on operator+(const char*, string&&), bug 105651.
  std::string name = ".";
  name += shortened(target.filename().string(), 100);
  name += ".tmp-latent-";
  name += host.id;
  name += '-';
  return name;
}

/// A name for a temporary beside `target` that no other writer uses at the same time:
/// `temporary_prefix` then "<pid>-<counter>-<16 hex digits>". The host and pid namespace tell
/// machines and containers apart, the pid processes, a process-wide counter threads, and 64 random
/// bits whatever the rest misses.
inline std::filesystem::path temporary_name(const std::filesystem::path& target, const writer_host& host) {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t bits = 0;
  if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits))
    bits =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) * 0x9E3779B97F4A7C15ull;
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "%ld-%llu-%016llx", static_cast<long>(getpid()),
                static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)),
                static_cast<unsigned long long>(bits));
  std::string name = temporary_prefix(target, host);
  name += suffix;
  return target.parent_path() / name;
}

/// The writer's process id if `name` is one of `temporary_name`'s with this `prefix`
/// ("<prefix><pid>-<counter>-<16 hex digits>" and nothing more), else 0.
inline pid_t temporary_writer(std::string_view name, std::string_view prefix) noexcept {
  if (!name.starts_with(prefix)) return 0;
  name.remove_prefix(prefix.size());
  const auto digits = [&](std::size_t most, unsigned long long* value) {
    std::size_t n = 0;
    unsigned long long v = 0;  // at most 20 digits: wraps (harmlessly, for the counter) but never overflows
    while (n < name.size() && n < most && name[n] >= '0' && name[n] <= '9')
      v = v * 10 + static_cast<unsigned>(name[n++] - '0');
    if (n == 0 || n == name.size() || name[n] != '-') return false;
    name.remove_prefix(n + 1);
    if (value) *value = v;
    return true;
  };
  unsigned long long pid = 0;
  if (!digits(10, &pid) || pid < 1 || pid > INT_MAX || !digits(20, nullptr) || name.size() != 16) return 0;
  for (const char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  return static_cast<pid_t>(pid);
}

/// Removes the temporaries beside `target` that writers of this host and pid namespace left when they
/// died (killed during a save): those whose process id names no process (`kill(pid, 0)` fails with
/// ESRCH). A temporary of a live process (even one that merely reuses a dead writer's id), of another
/// host or namespace, or of another target, and every other file, is left alone. Best effort, silent.
inline void remove_dead_temporaries(const std::filesystem::path& target, const writer_host& host) noexcept {
  if (!host.known) return;
  try {
    const std::string prefix = temporary_prefix(target, host);
    const std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    const pid_t self = ::getpid();
    while (const dirent* e = ::readdir(d)) {
      const pid_t pid = temporary_writer(e->d_name, prefix);
      if (pid == 0 || pid == self) continue;
      if (::kill(pid, 0) != 0 && errno == ESRCH) (void)::unlinkat(::dirfd(d), e->d_name, 0);
    }
    ::closedir(d);
  } catch (...) {  // std::bad_alloc building the prefix: nothing removed, nothing lost
  }
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
/// target's directory (a name unique to this writer, see `temporary_name`), are synced to the disk,
/// and the temporary is renamed over the target, whose mode it takes; the directory is then synced so
/// the rename lasts. Concurrent writers to one path (threads or processes) each rename a complete
/// file: the last one wins. A symbolic link is written through (its target is replaced). A path that
/// names a device or a pipe (e.g. /dev/stdout) is written directly, since it cannot be replaced. On
/// any failure the temporary is removed, the old file is untouched, and `io_error` gives the system's
/// reason. `who` starts every message ("save", "write_png", ...).
///
/// A writer killed during a save (SIGKILL, a preempted job) cannot remove its temporary, a file as
/// large as the target. So each save first removes the temporaries for the same target left by dead
/// writers of the same host and pid namespace (`remove_dead_temporaries`: their process id names no
/// process), before it needs the space: after a save, the temporaries beside a target are at most
/// one per writer still running, plus any left by writers on other hosts or in other containers
/// (which cannot be judged from here; their names say whose they are), plus any whose process id a
/// live process has since taken. A temporary that disappears before its rename (another process
/// removed it) is written again, twice at most.
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
  const writer_host host = this_writer_host();
  remove_dead_temporaries(target, host);
  for (int write = 0;; ++write) {
    fs::path tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
      tmp = temporary_name(target, host);
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
    if (::rename(tmp.c_str(), target.c_str()) == 0) break;
    err = errno;
    if (err == ENOENT && write < 2) continue;  // the temporary was removed under us: write another
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
