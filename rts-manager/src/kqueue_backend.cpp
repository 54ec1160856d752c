// SPDX-License-Identifier: BSD-3-Clause
//
// kqueue keeps one filter per (fd, EVFILT_READ|EVFILT_WRITE). One-shot arming
// uses EV_ONESHOT on each filter, so a reported filter is deleted by the
// kernel while the other one (if armed) stays: the manager re-arms what it
// still wants and ignores a late event nobody waits for. kqueue drops the
// filters of a closed fd silently, like epoll, so the manager's closed-fd
// check applies (Note [Closed fds] in manager.cpp).
#include "evmgr/config.hpp"
#if EVMGR_HAVE_KQUEUE
#include "evmgr/kqueue_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace evmgr {

namespace {

constexpr uintptr_t kWakeIdent = 0;

}  // namespace

int KqueueBackend::open() noexcept {
  kqueue_fd_ = kqueue();
  if (kqueue_fd_ < 0) return errno;
  if (fcntl(kqueue_fd_, F_SETFD, FD_CLOEXEC) != 0) {
    const int err = errno;
    close();
    return err;
  }
  struct kevent change;
  EV_SET(&change, kWakeIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  if (kevent(kqueue_fd_, &change, 1, nullptr, 0, nullptr) != 0) {
    const int err = errno;
    close();
    return err;
  }
  return 0;
}

void KqueueBackend::close() noexcept {
  if (kqueue_fd_ >= 0) (void)::close(kqueue_fd_);
  kqueue_fd_ = -1;
  ready_count_ = 0;
}

int KqueueBackend::reopen_after_fork() noexcept {
  // A kqueue is not inherited by a child (BSD semantics): the old number is
  // free in the child and may already name a file it opened, so it must
  // not be closed. Start afresh.
  kqueue_fd_ = -1;
  ready_count_ = 0;
  return open();
}

int KqueueBackend::arm(int fd, Events interest, ArmMode mode, bool known, WatchTag tag,
                       bool* /*replaced*/) noexcept {
  void* const label = reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag));
  // EV_ADD on an existing knote keeps its old EV_ONESHOT flag (FreeBSD's
  // kqueue_register), so a known fd's filters are deleted first and added
  // afresh: otherwise a level-triggered re-arm of a one-shot knote would
  // silently stay one-shot and starve a persistent waiter. Both go in the
  // same kevent() call.
  struct kevent changes[4];
  int n = 0;
  const unsigned short add = EV_ADD | EV_ENABLE | (mode == ArmMode::kOneShot ? EV_ONESHOT : 0);
  if (known) {
    EV_SET(&changes[n++], fd, EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0, nullptr);
    EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_DELETE | EV_RECEIPT, 0, 0, nullptr);
  }
  if (interest & kRead) EV_SET(&changes[n++], fd, EVFILT_READ, add | EV_RECEIPT, 0, 0, label);
  if (interest & kWrite) EV_SET(&changes[n++], fd, EVFILT_WRITE, add | EV_RECEIPT, 0, 0, label);
  struct kevent receipts[4];
  const struct timespec no_wait = {0, 0};
  const int got = kevent(kqueue_fd_, changes, n, receipts, n, &no_wait);
  if (got < 0) return errno;
  for (int i = 0; i < got; ++i) {
    if (!(receipts[i].flags & EV_ERROR) || receipts[i].data == 0) continue;
    const int err = static_cast<int>(receipts[i].data);
    // Deleting a filter the kernel already dropped (or never had) is what
    // we wanted; a closed fd shows up again as EBADF on the EV_ADD.
    if ((changes[i].flags & EV_DELETE) && (err == ENOENT || err == EBADF)) continue;
    return err;
  }
  return 0;
}

void KqueueBackend::disarm(int fd) noexcept {
  struct kevent changes[2];
  EV_SET(&changes[0], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
  EV_SET(&changes[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  // Each change may fail with ENOENT or EBADF (the fd was closed, or that
  // filter was never armed); both leave the state we want, so submit them
  // one by one and ignore the results.
  for (auto& change : changes) (void)kevent(kqueue_fd_, &change, 1, nullptr, 0, nullptr);
}

int KqueueBackend::wait(std::int64_t timeout_ns) noexcept {
  struct timespec ts;
  struct timespec* limit = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1000000000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1000000000);
    limit = &ts;
  }
  const int n = kevent(kqueue_fd_, nullptr, 0, ready_, kMaxEventsPerWait, limit);
  if (n < 0) {
    ready_count_ = 0;
    return -errno;
  }
  ready_count_ = n;
  return n;
}

bool KqueueBackend::dispatch(ReadyCallback on_ready) noexcept {
  bool woken = false;
  for (int i = 0; i < ready_count_; ++i) {
    const struct kevent& ev = ready_[i];
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
  ready_count_ = 0;
  return woken;
}

int KqueueBackend::wakeup() noexcept {
  struct kevent trigger;
  EV_SET(&trigger, kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  return kevent(kqueue_fd_, &trigger, 1, nullptr, 0, nullptr) == 0 ? 0 : errno;
}

}  // namespace evmgr

#endif  // EVMGR_HAVE_KQUEUE
