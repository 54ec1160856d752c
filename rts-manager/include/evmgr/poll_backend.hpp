// SPDX-License-Identifier: BSD-3-Clause
// Portable poll(2) back-end: Backend<PollState>, defined in
// src/poll_backend.cpp (the contract is in backend.hpp).
//
// Works for every fd poll accepts (including those epoll refuses) at O(n)
// per wait. The watched set is a dense pollfd array plus an fd -> index map;
// wait() polls a snapshot of it taken under the manager's lock, so other
// threads may change the set while a wait is blocked (the manager then wakes
// the wait, as mio's poll selector does).
#pragma once

#include <poll.h>

#include <cstddef>

#include "evmgr/backend.hpp"
#include "evmgr/memory.hpp"

namespace evmgr {

struct PollState {
  // wait() polls a snapshot: changes need a wake-up to be seen.
  static constexpr bool kWaitSeesChangesLive = false;
  // poll(2) watches numbers, not files: it cannot tell a replaced file.
  static constexpr bool kDetectsReplacedFiles = false;

  int wake_read_fd = -1;  // self-pipe, always watched at index 0
  int wake_write_fd = -1;
  GrowableArray<pollfd> watched;          // index 0 is the wake pipe
  GrowableArray<unsigned char> one_shot;  // parallel to watched
  GrowableArray<int> index_of_fd;         // fd -> index in watched, or -1
  GrowableArray<pollfd> wait_set;         // the snapshot wait() polls
};

using PollBackend = Backend<PollState>;

}  // namespace evmgr
