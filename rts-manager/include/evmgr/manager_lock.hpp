// SPDX-License-Identifier: BSD-3-Clause
//
// The manager's lock, taken or not as chosen when the manager is made, the
// way Boost.Asio's conditionally_enabled_mutex makes its reactor's mutex
// optional: a manager used from one OS thread only (the non-threaded GHC
// RTS: evmgr_new_with(..., EVMGR_SINGLE_THREADED, ...)) pays no lock, and
// one shared by threads (the threaded binding, evmgr_new) keeps it. The
// choice is a flag read on every call, not a rebuild: both modes are the
// same code, and the core's suites run in both.
//
// wakeup() never takes it in either mode, so it stays async-signal-safe and
// callable from any thread. It wraps evmgr::Mutex (a pthread mutex), not
// std::mutex: the core needs no C++ runtime (Note [No C++ runtime] in
// evmgr/memory.hpp).
#pragma once

#include "evmgr/mutex.hpp"

namespace evmgr {

class ManagerLock {
 public:
  explicit ManagerLock(bool enabled = true) noexcept : enabled_(enabled) {}
  ManagerLock(const ManagerLock&) = delete;
  ManagerLock& operator=(const ManagerLock&) = delete;

  void lock() noexcept {
    if (enabled_) mu_.lock();
  }
  void unlock() noexcept {
    if (enabled_) mu_.unlock();
  }
  bool enabled() const noexcept { return enabled_; }

  // In a forked child: a lock held by a thread that does not exist there
  // is made anew (Note [Fork] in src/manager.cpp).
  void reset_after_fork() noexcept { mu_.reset_after_fork(); }

 private:
  Mutex mu_;
  bool enabled_;
};

}  // namespace evmgr
