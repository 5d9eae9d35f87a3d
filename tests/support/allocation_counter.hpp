#pragma once
/// \file
/// Test support, not part of the installed library: replaces the global operator new and delete so that
/// a test can count the heap allocations a piece of code makes (a training step, a Predictor call: none
/// once the workspaces have grown) and see the largest one (a reader that trusts a lying length shows up
/// as one huge allocation). It defines the replacement operators, which a program has once: include it
/// from one translation unit of a test executable (a program whose test files compile as one unit,
/// tests/CMakeLists.txt, may include it from several of them: `#pragma once`).
///
///   test_support::allocation_counter c;   // counts from here, on every thread
///   ...;
///   CHECK(c.count() == 0);                // or c.largest() < limit; c.reset() starts again

#include <atomic>   // std::atomic: steps on two threads allocate (or not) concurrently
#include <cstddef>  // std::size_t
#include <cstdlib>  // std::malloc, std::aligned_alloc, std::free
#include <new>      // std::bad_alloc, std::align_val_t

namespace test_support::detail {
inline std::atomic<bool> counting{false};
inline std::atomic<std::size_t> allocations{0};
inline std::atomic<std::size_t> largest_allocation{0};

inline void note_allocation(std::size_t n) noexcept {
  if (!counting.load(std::memory_order_relaxed)) return;
  ++allocations;
  std::size_t seen = largest_allocation.load();
  while (n > seen && !largest_allocation.compare_exchange_weak(seen, n)) {
  }
}
}  // namespace test_support::detail

// The replaced operators pair malloc with free, which g++ cannot see through once they are inlined into
// the including file (hence the pragma, which stays in force there).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  test_support::detail::note_allocation(n);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  test_support::detail::note_allocation(n);
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
// The nothrow forms too (std::stable_sort's temporary buffer uses one): they must pair with the deletes
// below, which free what the forms above malloc'd.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  test_support::detail::note_allocation(n);
  return std::malloc(n ? n : 1);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  test_support::detail::note_allocation(n);
  const std::size_t al = static_cast<std::size_t>(a);
  return std::aligned_alloc(al, (n + al - 1) / al * al);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return ::operator new(n, a, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace test_support {

/// While it lives, counts the heap allocations made through operator new (on every thread) and records
/// the largest. One at a time: the counters are global.
class allocation_counter {
public:
  allocation_counter() noexcept { reset(); }
  ~allocation_counter() { detail::counting = false; }
  allocation_counter(const allocation_counter&) = delete;
  allocation_counter& operator=(const allocation_counter&) = delete;

  /// Zeroes both figures and (re)starts counting.
  void reset() noexcept {
    detail::counting = false;
    detail::allocations = 0;
    detail::largest_allocation = 0;
    detail::counting = true;
  }
  /// Stops counting (the figures keep their values), e.g. before the test's own checks allocate.
  void stop() noexcept { detail::counting = false; }
  std::size_t count() const noexcept { return detail::allocations.load(); }
  std::size_t largest() const noexcept { return detail::largest_allocation.load(); }
};

}  // namespace test_support
