// SPDX-License-Identifier: BSD-3-Clause
//
// The core's memory: objects and growable arrays on malloc, never on the
// global operator new, so that the core needs no C++ runtime library (Note
// [No C++ runtime] below).
//
// Note [No C++ runtime]
// ~~~~~~~~~~~~~~~~~~~~~
// The core goes into GHC's RTS, and so into every Haskell program. If it
// needed libstdc++.so, every program would carry two more shared libraries
// (libstdc++ and libgcc_s) that stock GHC's programs do not, and would not
// start on an image that has libc but no C++ runtime. So every build
// compiles the core with -fno-exceptions -fno-rtti, and the core calls
// nothing libstdc++ defines:
//   - memory comes from malloc/posix_memalign and objects are built with
//     placement new (create_object, RawArray below); the core neither calls
//     nor defines the global operator new (defining it would replace the
//     program's own);
//   - growable arrays are GrowableArray: allocation failure is an ENOMEM
//     result, never an exception, and growth is geometric;
//   - the lock is a pthread mutex (evmgr/mutex.hpp), not std::mutex, whose
//     lock() calls std::__throw_system_error;
//   - header-only facilities (std::variant, std::optional, <atomic>,
//     <type_traits>, Boost.Intrusive) are fine, as long as what they
//     instantiate calls nothing in libstdc++.so.
// The ctest test `core_needs_no_cxx_runtime` compiles the core with the
// release flags and fails on any undefined symbol that is not libc's
// (tests/check_core_symbols.sh), so this cannot regress unnoticed.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace evmgr {

// Raw storage for `count` objects of T (uninitialised), aligned for T even
// when T is over-aligned; nullptr when memory is exhausted or the size
// overflows. Released with free_storage().
template <class T>
T* allocate_storage(std::size_t count) noexcept {
  if (count > SIZE_MAX / sizeof(T)) return nullptr;
  const std::size_t bytes = count * sizeof(T) == 0 ? sizeof(T) : count * sizeof(T);
  if constexpr (alignof(T) <= alignof(std::max_align_t)) {
    return static_cast<T*>(::malloc(bytes));
  } else {
    void* p = nullptr;
    return posix_memalign(&p, alignof(T), bytes) == 0 ? static_cast<T*>(p) : nullptr;
  }
}

inline void free_storage(void* p) noexcept { ::free(p); }

// A T built in malloc'ed storage, or nullptr (ENOMEM). T's constructor must
// not throw. Destroyed with destroy_object().
template <class T, class... Args>
T* create_object(Args&&... args) noexcept {
  static_assert(std::is_nothrow_constructible_v<T, Args...>, "the core cannot handle exceptions");
  T* p = allocate_storage<T>(1);
  return p == nullptr ? nullptr : new (p) T(std::forward<Args>(args)...);
}

template <class T>
void destroy_object(T* p) noexcept {
  if (p == nullptr) return;
  p->~T();
  free_storage(p);
}

// A growable array of T on malloc (realloc for trivially copyable T), like
// std::vector but with every allocation reported as ENOMEM. Elements must
// move without throwing: a non-trivial T (an fd slot's intrusive list) is
// moved element by element when the storage moves.
template <class T>
class GrowableArray {
  // Boost.Intrusive's containers do not declare their moves noexcept, but
  // nothing in the core can throw (it is compiled with -fno-exceptions).
  static_assert(std::is_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                "elements must move, and die without throwing");
  static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned elements need another home");

 public:
  GrowableArray() noexcept = default;
  ~GrowableArray() {
    clear();
    free_storage(data_);
  }
  GrowableArray(const GrowableArray&) = delete;
  GrowableArray& operator=(const GrowableArray&) = delete;

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T& front() noexcept { return data_[0]; }
  const T& front() const noexcept { return data_[0]; }
  T& back() noexcept { return data_[size_ - 1]; }

  // Room for `count` elements in all: existing ones stay where they are
  // once it is there. 0 or ENOMEM (nothing changed).
  [[nodiscard]] int reserve(std::size_t count) noexcept {
    return count <= capacity_ ? 0 : move_to(count);
  }

  // Room for `count` elements, growing geometrically (at least doubling)
  // so that growing one element at a time is amortised O(1). 0 or ENOMEM.
  [[nodiscard]] int grow_for(std::size_t count) noexcept {
    if (count <= capacity_) return 0;
    std::size_t grown = capacity_ > SIZE_MAX / 2 ? SIZE_MAX : 2 * capacity_;
    if (grown < kMinCapacity) grown = kMinCapacity;
    return move_to(grown > count ? grown : count);
  }

  // Room for one more push_back(). 0 or ENOMEM.
  [[nodiscard]] int reserve_one_more() noexcept { return grow_for(size_ + 1); }

  // Appends into room reserved before: never allocates.
  template <class... Args>
  void emplace_back(Args&&... args) noexcept {
    new (data_ + size_) T(std::forward<Args>(args)...);
    ++size_;
  }
  void push_back(const T& value) noexcept { emplace_back(value); }

  void pop_back() noexcept { data_[--size_].~T(); }

  // `count` elements: new ones are value-initialised (or copies of
  // `fill`), extra ones are destroyed; grows geometrically. 0 or ENOMEM
  // (nothing changed).
  [[nodiscard]] int resize(std::size_t count) noexcept { return resize_with(count); }
  [[nodiscard]] int resize(std::size_t count, const T& fill) noexcept {
    return resize_with(count, fill);
  }

  // Destroys every element; the storage stays.
  void clear() noexcept {
    while (size_ > 0) pop_back();
  }

  // Replaces the contents with `count` copies of `value`. 0 or ENOMEM.
  [[nodiscard]] int assign(std::size_t count, const T& value) noexcept {
    clear();
    return resize(count, value);
  }

  // Replaces the contents with a copy of [first, last) (trivially copyable
  // T). Never allocates when the capacity suffices. 0 or ENOMEM.
  [[nodiscard]] int assign(const T* first, const T* last) noexcept {
    static_assert(std::is_trivially_copyable_v<T>, "assign(first, last) copies bytes");
    const auto count = static_cast<std::size_t>(last - first);
    if (const int err = reserve(count)) return err;
    if (count > 0) std::memcpy(static_cast<void*>(data_), first, count * sizeof(T));
    size_ = count;
    return 0;
  }

 private:
  static constexpr std::size_t kMinCapacity = 64 / sizeof(T) > 8 ? 64 / sizeof(T) : 8;

  template <class... Fill>
  int resize_with(std::size_t count, const Fill&... fill) noexcept {
    if (const int err = grow_for(count)) return err;
    while (size_ > count) pop_back();
    while (size_ < count) emplace_back(fill...);
    return 0;
  }

  int move_to(std::size_t new_capacity) noexcept {
    if (new_capacity > SIZE_MAX / sizeof(T)) return ENOMEM;
    if constexpr (std::is_trivially_copyable_v<T>) {
      void* grown = ::realloc(static_cast<void*>(data_), new_capacity * sizeof(T));
      if (grown == nullptr) return ENOMEM;
      data_ = static_cast<T*>(grown);
    } else {
      T* grown = allocate_storage<T>(new_capacity);
      if (grown == nullptr) return ENOMEM;
      for (std::size_t i = 0; i < size_; ++i) {
        new (grown + i) T(std::move(data_[i]));
        data_[i].~T();
      }
      free_storage(data_);
      data_ = grown;
    }
    capacity_ = new_capacity;
    return 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace evmgr
