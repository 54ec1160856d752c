// SPDX-License-Identifier: BSD-3-Clause
// Linux epoll back-end; see backend.hpp for the contract.
#pragma once

#include <sys/epoll.h>

#include "evmgr/backend.hpp"

namespace evmgr {

class EpollBackend {
 public:
  static constexpr bool kDetectsReplacedFiles = true;
  static constexpr bool kWaitSeesChangesLive = true;

  EpollBackend() noexcept = default;
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;
  ~EpollBackend() { close(); }

  int open() noexcept;
  void close() noexcept;
  int reopen_after_fork() noexcept;
  int arm(int fd, Events interest, ArmMode mode, bool known, WatchTag tag,
          bool* replaced) noexcept;
  void disarm(int fd) noexcept;
  void prepare_wait() noexcept {}
  int wait(std::int64_t timeout_ns) noexcept;
  bool dispatch(ReadyCallback on_ready) noexcept;
  int wakeup() noexcept;
  int pollable_fd() const noexcept { return epoll_fd_; }

 private:
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd, registered level-triggered for EPOLLIN
  int ready_count_ = 0;
  bool have_pwait2_ = true;  // cleared if the kernel lacks epoll_pwait2
  epoll_event ready_[kMaxEventsPerWait];
};

}  // namespace evmgr
