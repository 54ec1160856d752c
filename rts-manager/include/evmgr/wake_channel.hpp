// SPDX-License-Identifier: BSD-3-Clause
//
// The wake channel: how a blocked poll() is interrupted, for the user
// (wakeup(): poll returns) or for the manager itself (a kick: poll
// recomputes its wait and carries on), with one write to the back-end's
// channel per burst. Note [Wake-ups] in src/wake_channel.cpp.
//
// It holds only the protocol's two flags; the channel itself belongs to the
// back-end (an eventfd, a pipe, EVFILT_USER), which the caller signals when
// claim_signal() says so.
#pragma once

#include <atomic>

namespace evmgr {

class WakeChannel {
 public:
  // The user asks the next or current poll() to return. Async-signal-safe.
  // The caller then kick()s.
  void request_return() noexcept;

  // Whether the caller must signal the back-end's channel: true for the
  // first caller after the channel was last drained, false while a signal
  // is already on its way. Async-signal-safe.
  bool claim_signal() noexcept;

  // The polling thread found the channel fired and drained it.
  void drained() noexcept;

  // The polling thread, after drained() (or before its first wait): whether
  // request_return() was called since the last take; clears it.
  bool take_return_request() noexcept;

  // In a forked child: nothing pending (the channel is new).
  void reset() noexcept;

 private:
  std::atomic<bool> return_requested_{false};  // request_return() was called
  std::atomic<bool> signal_pending_{false};    // the channel holds a signal
};

}  // namespace evmgr
