// SPDX-License-Identifier: BSD-3-Clause
//
// Note [Wake-ups]
// ~~~~~~~~~~~~~~~
// Two reasons interrupt a blocked wait: the user's wakeup(), after which
// poll() returns, and the manager's own kick (a new earliest timer, a
// registration that needs the closed-fd check sooner, or a change the poll
// back-end's snapshot cannot see), after which poll() recomputes its wait
// and carries on. return_requested_ records the first; signal_pending_
// makes a burst of either cost one write to the back-end's channel
// (claim_signal() is true for the first of the burst only).
//
// poll() calls drained() after emptying the channel and only then
// take_return_request(), so a wakeup() is either seen by that read or finds
// signal_pending_ clear and signals the channel again: never lost.
//
// That argument needs drained() to be a read-modify-write (an exchange),
// not a store. Each side writes one flag and then reads the other:
// wakeup() stores return_requested_ and exchanges signal_pending_ (the
// claim), poll() clears signal_pending_ and loads return_requested_. With a
// release store for the clear, poll()'s load may take effect before its
// store is visible to other threads (x86's store buffer does exactly this;
// the C++ model allows it too), so wakeup() can read the stale `true` and
// skip the signal while poll() reads the stale `false` and blocks again
// with the request unseen. Two exchanges on signal_pending_ are ordered in
// its modification order: if the claim is first, drained() reads the
// `true` it wrote and synchronizes with it, so the load sees
// return_requested_; if drained() is first, the claim reads `false` and
// signals the channel. (core_wakeup_stress loses a wake-up within seconds
// with the store.)
//
// Both flags are lock-free atomics, so wakeup() is async-signal-safe (a
// signal handler may call it) and never takes the manager's lock.
#include "evmgr/wake_channel.hpp"

namespace evmgr {

static_assert(std::atomic<bool>::is_always_lock_free,
              "wakeup() must be async-signal-safe: lock-free flags only");

void WakeChannel::request_return() noexcept {
  return_requested_.store(true, std::memory_order_release);
}

bool WakeChannel::claim_signal() noexcept {
  return !signal_pending_.exchange(true, std::memory_order_acq_rel);
}

void WakeChannel::drained() noexcept {
  // An exchange, not a store: see Note [Wake-ups].
  (void)signal_pending_.exchange(false, std::memory_order_acq_rel);
}

bool WakeChannel::take_return_request() noexcept {
  // Read before exchanging: a wake-up is rare, and a plain load keeps the
  // common case free of a locked instruction.
  return return_requested_.load(std::memory_order_acquire) &&
         return_requested_.exchange(false, std::memory_order_acq_rel);
}

void WakeChannel::reset() noexcept {
  return_requested_.store(false, std::memory_order_relaxed);
  signal_pending_.store(false, std::memory_order_relaxed);
}

}  // namespace evmgr
