// SPDX-License-Identifier: BSD-3-Clause
// Linux epoll back-end: Backend<EpollState>, defined in src/epoll_backend.cpp
// (the contract is in backend.hpp).
#pragma once

#include <sys/epoll.h>

#include "evmgr/backend.hpp"
#include "evmgr/kernel_watches.hpp"

namespace evmgr {

struct EpollState {
  // epoll_ctl from another thread reaches a blocked epoll_wait.
  static constexpr bool kWaitSeesChangesLive = true;
  // epoll keys a watch by (fd, open file): MOD says ENOENT once the file
  // is closed, so a reused number is noticed when it is armed again.
  static constexpr bool kDetectsReplacedFiles = true;

  int epoll_fd = -1;
  int wake_fd = -1;             // eventfd, in the set level-triggered for EPOLLIN
  int ready_count = 0;          // entries of `ready` the last wait filled
  bool have_pwait2 = true;      // cleared if the kernel lacks epoll_pwait2
  KernelWatches in_set;         // fds in the epoll set: MOD, not ADD
  epoll_event ready[kMaxEventsPerWait];
};

using EpollBackend = Backend<EpollState>;

}  // namespace evmgr
