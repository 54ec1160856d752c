// SPDX-License-Identifier: BSD-3-Clause
// kqueue back-end (FreeBSD, macOS, other BSDs); see backend.hpp for the
// contract. On Linux it is compiled only against the kevent emulation in
// tests/kqueue_emu, so that its conformance suite runs in CI.
#pragma once

#include <sys/types.h>
#include <sys/event.h>

#include "evmgr/backend.hpp"

namespace evmgr {

class KqueueBackend {
 public:
  static constexpr bool kDetectsReplacedFiles = false;
  static constexpr bool kWaitSeesChangesLive = true;

  KqueueBackend() noexcept = default;
  KqueueBackend(const KqueueBackend&) = delete;
  KqueueBackend& operator=(const KqueueBackend&) = delete;
  ~KqueueBackend() { close(); }

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
  int pollable_fd() const noexcept { return kqueue_fd_; }

 private:
  int kqueue_fd_ = -1;
  int ready_count_ = 0;
  struct kevent ready_[kMaxEventsPerWait];
};

}  // namespace evmgr
