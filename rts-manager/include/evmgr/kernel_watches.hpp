// SPDX-License-Identifier: BSD-3-Clause
//
// Per-fd kernel bookkeeping for back-ends: the fds whose watch the kernel
// object may still hold (armed, or disarmed by a one-shot delivery), i.e.
// those armed and not disarmed since. epoll needs it to choose
// EPOLL_CTL_ADD or EPOLL_CTL_MOD (and to read MOD's ENOENT as "the file was
// replaced"), kqueue to delete the old filters before adding new ones. It
// belongs to the back-end: the manager never sees it.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "evmgr/memory.hpp"

namespace evmgr {

class KernelWatches {
 public:
  static constexpr std::uint8_t kHeld = 1;      // the kernel may hold a watch
  static constexpr std::uint8_t kReplaced = 2;  // after fork: see forget_after_fork

  bool has(int fd) const noexcept {
    return static_cast<unsigned>(fd) < held_.size() && held_[fd] == kHeld;
  }

  // Points *out at fd's flag (non-zero: the kernel may hold a watch),
  // growing the set geometrically to hold it, like the fd table: 0, EBADF
  // (a negative fd) or ENOMEM. The only allocation: call it before the
  // kernel call, so that a watch the kernel accepted is always recorded.
  int entry(int fd, std::uint8_t** out) noexcept {
    if (static_cast<unsigned>(fd) < held_.size()) {  // a negative fd wraps
      *out = &held_[fd];
      return 0;
    }
    return grow(fd, out);
  }

  // Clears fd's flag; whether it was set (the kernel may hold a watch).
  bool remove(int fd) noexcept {
    if (static_cast<unsigned>(fd) >= held_.size()) return false;
    const bool held = held_[fd] == kHeld;
    held_[fd] = 0;
    return held;
  }

  // A fresh kernel object holds no watch.
  void clear() noexcept {
    for (std::uint8_t& flag : held_) flag = 0;
  }

  // After fork, before the inherited kernel object goes: a fresh one will
  // hold no watch, but an fd whose watch the old one held for another file
  // than the one the number names now (same_file(fd) false: closed and
  // reused since it was armed) is marked, so that its next arm reports
  // ArmResult::replaced (take_replaced) as the old object would have.
  template <class SameFile>
  void forget_after_fork(SameFile&& same_file) noexcept {
    for (std::size_t fd = 0; fd < held_.size(); ++fd) {
      held_[fd] = held_[fd] == kHeld && !same_file(static_cast<int>(fd)) ? kReplaced : 0;
    }
  }

  // Whether fd was marked by forget_after_fork; clears the mark.
  bool take_replaced(int fd) noexcept {
    if (static_cast<unsigned>(fd) >= held_.size() || held_[fd] != kReplaced) return false;
    held_[fd] = 0;
    return true;
  }

 private:
  int grow(int fd, std::uint8_t** out) noexcept {
    if (fd < 0) return EBADF;
    if (held_.resize(static_cast<std::size_t>(fd) + 1, 0) != 0) return ENOMEM;
    *out = &held_[static_cast<std::size_t>(fd)];
    return 0;
  }

  GrowableArray<std::uint8_t> held_;
};

}  // namespace evmgr
