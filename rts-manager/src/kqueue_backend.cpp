// SPDX-License-Identifier: BSD-3-Clause
//
// The kqueue back-end's operations; the contract is in backend.hpp.
//
// kqueue keeps one filter per (fd, EVFILT_READ|EVFILT_WRITE). One-shot arming
// uses EV_ONESHOT on each filter, so a reported filter is deleted by the
// kernel while the other one (if armed) stays: the manager re-arms what it
// still wants and ignores a late event nobody waits for. kqueue drops the
// filters of a closed fd silently, like epoll, so the manager's closed-fd
// check applies (Note [Closed fds] in src/closed_fd_check.cpp).
#include "evmgr/config.hpp"
#if EVMGR_HAVE_KQUEUE
#include "evmgr/kqueue_backend.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>

#include "evmgr/clock.hpp"
#include "evmgr/private_fd.hpp"

namespace evmgr {

namespace kqueue_detail {

constexpr uintptr_t kWakeIdent = 0;

// The kqueue, the core's own fd (Note [The core's own fds]), with its
// EVFILT_USER wake-up; 0 or an errno (nothing open).
int open_queue(KqueueState& s) noexcept {
  s.ready_count = 0;
  s.filters.clear();
  s.kqueue_fd = kqueue();
  if (s.kqueue_fd < 0) return errno;
  if (const int err = make_fd_private(&s.kqueue_fd)) return err;
  struct kevent change;
  EV_SET(&change, kWakeIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  const int err = kevent(s.kqueue_fd, &change, 1, nullptr, 0, nullptr) == 0 ? 0 : errno;
  if (err != 0) {
    (void)::close(s.kqueue_fd);
    s.kqueue_fd = -1;
  }
  return err;
}

}  // namespace kqueue_detail

template <>
KqueueBackend::Backend() noexcept : error_(kqueue_detail::open_queue(state_)) {}

template <>
KqueueBackend::~Backend() {
  if (state_.kqueue_fd >= 0) (void)::close(state_.kqueue_fd);
}

template <>
int KqueueBackend::after_fork() noexcept {
  // A kqueue is not inherited by a child (BSD semantics): the old number is
  // free in the child and may already name a file it opened, so it must
  // not be closed. Start afresh.
  state_.kqueue_fd = -1;
  return kqueue_detail::open_queue(state_);
}

template <>
ArmResult KqueueBackend::arm(int fd, Events interest, ArmMode mode, WatchTag tag) noexcept {
  ArmResult result;
  std::uint8_t* has_filters;  // the kernel may hold filters for fd
  if ((result.error = state_.filters.entry(fd, &has_filters)) != 0) return result;
  void* const label = reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag));
  // EV_ADD on an existing knote keeps its old EV_ONESHOT flag (FreeBSD's
  // kqueue_register), so a known fd's filters are deleted first and added
  // afresh: otherwise a level-triggered re-arm of a one-shot knote would
  // silently stay one-shot and starve a persistent waiter. Both go in the
  // same kevent() call.
  struct kevent changes[4];
  int n = 0;
  const unsigned short add = EV_ADD | EV_ENABLE | (mode == ArmMode::kOneShot ? EV_ONESHOT : 0);
  if (*has_filters) {
    EV_SET(&changes[n++], fd, EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0, nullptr);
    EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_DELETE | EV_RECEIPT, 0, 0, nullptr);
  }
  if (interest & kRead) EV_SET(&changes[n++], fd, EVFILT_READ, add | EV_RECEIPT, 0, 0, label);
  if (interest & kWrite) EV_SET(&changes[n++], fd, EVFILT_WRITE, add | EV_RECEIPT, 0, 0, label);
  struct kevent receipts[4];
  const struct timespec no_wait = {0, 0};
  const int got = kevent(state_.kqueue_fd, changes, n, receipts, n, &no_wait);
  if (got < 0) {
    result.error = errno;
    return result;
  }
  // An EV_ADD may have taken even if another change failed: from now on the
  // fd may have filters to delete before the next add.
  *has_filters = 1;
  for (int i = 0; i < got; ++i) {
    if (!(receipts[i].flags & EV_ERROR) || receipts[i].data == 0) continue;
    const int err = static_cast<int>(receipts[i].data);
    // Deleting a filter the kernel already dropped (or never had) is what
    // we wanted; a closed fd shows up again as EBADF on the EV_ADD.
    if ((changes[i].flags & EV_DELETE) && (err == ENOENT || err == EBADF)) continue;
    result.error = err;
    return result;
  }
  return result;
}

template <>
void KqueueBackend::disarm(int fd) noexcept {
  if (!state_.filters.remove(fd)) return;  // the kernel holds nothing
  struct kevent changes[2];
  EV_SET(&changes[0], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
  EV_SET(&changes[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  // Each change may fail with ENOENT or EBADF (the fd was closed, or that
  // filter was never armed); both leave the state we want, so submit them
  // one by one and ignore the results.
  for (auto& change : changes) (void)kevent(state_.kqueue_fd, &change, 1, nullptr, 0, nullptr);
}

template <>
int KqueueBackend::wait(std::int64_t timeout_ns, ManagerLock& lock) noexcept {
  const struct timespec ts = ns_to_timespec(timeout_ns < 0 ? 0 : timeout_ns);
  const struct timespec* limit = timeout_ns < 0 ? nullptr : &ts;
  lock.unlock();
  const int n = kevent(state_.kqueue_fd, nullptr, 0, state_.ready, kMaxEventsPerWait, limit);
  const int err = n < 0 ? errno : 0;
  lock.lock();
  state_.ready_count = n < 0 ? 0 : n;
  return err;
}

template <>
bool KqueueBackend::dispatch(ReadyCallback on_ready) noexcept {
  bool woken = false;
  for (int i = 0; i < state_.ready_count; ++i) {
    const struct kevent& ev = state_.ready[i];
    if (ev.filter == EVFILT_USER) {
      woken = true;  // EV_CLEAR already reset the trigger
      continue;
    }
    const int fd = static_cast<int>(ev.ident);
    Events events = 0;
    if (ev.flags & EV_ERROR) {
      events = ev.data == EBADF ? kClosed : (kError | kRead | kWrite);
    } else {
      events = ev.filter == EVFILT_READ ? kRead : kWrite;
      // EOF (peer closed, or the other end of a pipe) is reported like
      // epoll's hang-up so every back-end tells the same story.
      if (ev.flags & EV_EOF) events |= kError | kRead | kWrite;
    }
    on_ready(fd, events, static_cast<WatchTag>(reinterpret_cast<std::uintptr_t>(ev.udata)));
  }
  state_.ready_count = 0;
  return woken;
}

template <>
int KqueueBackend::wakeup() noexcept {
  struct kevent trigger;
  EV_SET(&trigger, kqueue_detail::kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  return kevent(state_.kqueue_fd, &trigger, 1, nullptr, 0, nullptr) == 0 ? 0 : errno;
}

template <>
int KqueueBackend::pollable_fd() const noexcept {
  return state_.kqueue_fd;
}

}  // namespace evmgr

#endif  // EVMGR_HAVE_KQUEUE
