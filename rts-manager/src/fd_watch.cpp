// SPDX-License-Identifier: BSD-3-Clause
//
// Note [One-shot arming]
// ~~~~~~~~~~~~~~~~~~~~~~
// A one-shot registration (the RTS's threadWaitRead) is armed one-shot in
// the kernel (EPOLLONESHOT, EV_ONESHOT): the kernel reports a readiness once
// and disarms the fd, so nothing fires again for a thread that has not
// waited again. The next registration re-arms it with one epoll_ctl(MOD),
// which also tells us if the fd's file changed underneath (Note [Closed
// fds] in src/closed_fd_check.cpp). An fd whose waiters are all persistent
// is armed level-triggered and costs no syscall per event.
//
// When nobody waits any more, a level-triggered watch is disarmed (it would
// fire on every wait); a one-shot watch is left alone: it fires at most
// once more, and the manager drops that event (no waiter matches).
//
// Note [Always-ready fds]
// ~~~~~~~~~~~~~~~~~~~~~~~
// epoll refuses regular files (EPERM): they never block, and select() and
// poll() report them ready at once. The manager does the same: a one-shot
// waiter's event is queued at registration; persistent waiters stay on the
// fd, which is marked always ready (FdWatch::always_ready) and listed, and
// every poll() queues an event for each of them and does not block; it
// still asks the kernel (without blocking) before it returns them, or a
// persistent waiter on a regular file would starve every other fd. The
// list is pruned lazily, by the next poll(), once the fd loses its last
// waiter or its file (the flag is cleared by whoever ends that state).
// Such an fd is never armed; its file is recorded for the identity check
// (Note [Closed fds]), since epoll will never say it was replaced.
#include "evmgr/fd_watch.hpp"

namespace evmgr {

void FdWatches::mark_always_ready(int fd, FdWatch& watch) noexcept {
  if (watch.always_ready) return;
  watch.always_ready = true;
  always_ready_.push_back(fd);  // room reserved by reserve_always_ready()
}

}  // namespace evmgr
