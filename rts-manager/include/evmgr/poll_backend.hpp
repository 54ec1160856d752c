// SPDX-License-Identifier: BSD-3-Clause
// Portable poll(2) back-end; see backend.hpp for the contract.
//
// Works for every fd poll accepts (including those epoll refuses) at O(n)
// per wait. The watched set is a dense pollfd array plus an fd -> index map;
// wait() polls a snapshot of it taken under the manager's lock, so other
// threads may change the set while a wait is blocked (the manager then wakes
// the wait, as mio's poll selector does).
#pragma once

#include <poll.h>

#include <vector>

#include "evmgr/backend.hpp"

namespace evmgr {

class PollBackend {
 public:
  static constexpr bool kDetectsReplacedFiles = false;
  static constexpr bool kWaitSeesChangesLive = false;

  PollBackend() noexcept = default;
  PollBackend(const PollBackend&) = delete;
  PollBackend& operator=(const PollBackend&) = delete;
  ~PollBackend() { close(); }

  int open() noexcept;
  void close() noexcept;
  int reopen_after_fork() noexcept;
  int arm(int fd, Events interest, ArmMode mode, bool known, WatchTag tag,
          bool* replaced) noexcept;
  void disarm(int fd) noexcept;
  void prepare_wait() noexcept;
  int wait(std::int64_t timeout_ns) noexcept;
  bool dispatch(ReadyCallback on_ready) noexcept;
  int wakeup() noexcept;
  int pollable_fd() const noexcept { return -1; }

 private:
  void remove_at(std::size_t index) noexcept;

  int wake_read_fd_ = -1;  // self-pipe, always watched at index 0
  int wake_write_fd_ = -1;
  std::vector<pollfd> watched_;           // index 0 is the wake pipe
  std::vector<unsigned char> one_shot_;   // parallel to watched_
  std::vector<int> index_of_fd_;          // fd -> index in watched_, or -1
  std::vector<pollfd> wait_set_;          // the snapshot wait() polls
};

}  // namespace evmgr
