// SPDX-License-Identifier: BSD-3-Clause
//
// Per-fd kernel bookkeeping for back-ends: the fds whose watch the kernel
// object may still hold (armed, or disarmed by a one-shot delivery), i.e.
// those armed and not disarmed since. epoll needs it to choose
// EPOLL_CTL_ADD or EPOLL_CTL_MOD (and to read MOD's ENOENT as "the file was
// replaced"), kqueue to delete the old filters before adding new ones. It
// belongs to the back-end: the manager never sees it.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace evmgr {

class KernelWatches {
 public:
  bool has(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < held_.size() && held_[fd] != 0;
  }

  // Makes room for fd, growing geometrically like the fd table: 0, EBADF
  // (a negative fd) or ENOMEM. The only allocation; call it before the
  // kernel call, so that a watch the kernel accepted is always recorded.
  int reserve(int fd) noexcept {
    if (fd < 0) return EBADF;
    const std::size_t needed = static_cast<std::size_t>(fd) + 1;
    if (needed <= held_.size()) return 0;
    try {
      if (needed > held_.capacity()) {
        held_.reserve(std::max<std::size_t>({needed, 2 * held_.capacity(), 64}));
      }
      held_.resize(needed, 0);
    } catch (const std::bad_alloc&) {
      return ENOMEM;
    }
    return 0;
  }

  // fd must have been reserved.
  void add(int fd) noexcept { held_[fd] = 1; }

  void remove(int fd) noexcept {
    if (has(fd)) held_[fd] = 0;
  }

  // A fresh kernel object holds no watch.
  void clear() noexcept { held_.assign(held_.size(), 0); }

 private:
  std::vector<std::uint8_t> held_;
};

}  // namespace evmgr
