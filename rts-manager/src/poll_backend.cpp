// SPDX-License-Identifier: BSD-3-Clause
// The poll(2) back-end's operations; the contract is in backend.hpp.
#include "evmgr/config.hpp"
#include "evmgr/poll_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "evmgr/clock.hpp"
#include "evmgr/private_fd.hpp"

namespace evmgr {

namespace poll_detail {

short to_poll(Events interest) noexcept {
  short bits = 0;
  if (interest & kRead) bits |= POLLIN;
  if (interest & kWrite) bits |= POLLOUT;
  return bits;
}

Events from_poll(short bits) noexcept {
  if (bits & POLLNVAL) return kClosed;
  Events ev = 0;
  if (bits & POLLIN) ev |= kRead;
  if (bits & POLLOUT) ev |= kWrite;
  if (bits & (POLLERR | POLLHUP)) ev |= kError | kRead | kWrite;
  return ev;
}

// The wake-up pipe: both ends the core's own (Note [The core's own fds])
// and non-blocking. 0 or an errno (nothing open).
int make_wake_pipe(int fds[2]) noexcept {
  if (pipe(fds) != 0) return errno;
  int err = 0;
  for (int i = 0; i < 2; ++i) {
    if (err == 0) {
      err = make_fd_private(&fds[i]);  // closes fds[i] on failure
      if (err == 0 && fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0) err = errno;
    }
  }
  if (err != 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i] >= 0) (void)::close(fds[i]);
    }
  }
  return err;
}

void close_all(PollState& s) noexcept {
  if (s.wake_read_fd >= 0) (void)::close(s.wake_read_fd);
  if (s.wake_write_fd >= 0) (void)::close(s.wake_write_fd);
  s.wake_read_fd = s.wake_write_fd = -1;
  s.watched.clear();
  s.one_shot.clear();
  s.index_of_fd.clear();
  s.wait_set.clear();
}

// The wake-up pipe, watched at index 0 of an otherwise empty set; 0 or an
// errno (nothing open).
int open_all(PollState& s) noexcept {
  int fds[2];
  if (const int err = make_wake_pipe(fds)) return err;
  s.wake_read_fd = fds[0];
  s.wake_write_fd = fds[1];
  if (s.watched.assign(1, pollfd{s.wake_read_fd, POLLIN, 0}) != 0 || s.one_shot.assign(1, 0) != 0 ||
      s.wait_set.reserve(16) != 0) {
    close_all(s);
    return ENOMEM;
  }
  return 0;
}

void remove_at(PollState& s, std::size_t index) noexcept {
  const std::size_t last = s.watched.size() - 1;
  s.index_of_fd[s.watched[index].fd] = -1;
  if (index != last) {
    s.watched[index] = s.watched[last];
    s.one_shot[index] = s.one_shot[last];
    s.index_of_fd[s.watched[index].fd] = static_cast<int>(index);
  }
  s.watched.pop_back();
  s.one_shot.pop_back();
}

}  // namespace poll_detail

template <>
PollBackend::Backend() noexcept : error_(poll_detail::open_all(state_)) {}

template <>
PollBackend::~Backend() {
  poll_detail::close_all(state_);
}

template <>
int PollBackend::after_fork() noexcept {
  // The pipe is shared with the parent: a wake-up from one would wake the
  // other. The watched set is plain memory and the manager re-arms it.
  poll_detail::close_all(state_);
  return poll_detail::open_all(state_);
}

template <>
ArmResult PollBackend::arm(int fd, Events interest, ArmMode mode, WatchTag /*tag*/) noexcept {
  ArmResult result;
  // No syscall to ask whether fd is open: the manager's fstat (the file
  // identity it records for Note [Closed fds]) said so just before a
  // registration's arm, and an fd closed since comes back from poll(2) as
  // POLLNVAL, a kClosed event, like io_uring's failed poll request. (An
  // fcntl here was the fifth syscall of every ping-pong hop.)
  if (fd < 0) {
    result.error = EBADF;
    return result;
  }
  PollState& s = state_;
  const auto ufd = static_cast<std::size_t>(fd);
  // Everything that can fail first, so a failure leaves the set as it was.
  // The snapshot's capacity keeps in step, so wait() never allocates.
  if ((ufd >= s.index_of_fd.size() && s.index_of_fd.resize(ufd + 1, -1) != 0) ||
      s.watched.reserve_one_more() != 0 || s.one_shot.reserve_one_more() != 0 ||
      s.wait_set.reserve(s.watched.capacity()) != 0) {
    result.error = ENOMEM;
    return result;
  }
  int index = s.index_of_fd[ufd];
  if (index < 0) {
    s.watched.push_back(pollfd{fd, 0, 0});
    s.one_shot.push_back(0);
    index = static_cast<int>(s.watched.size() - 1);
    s.index_of_fd[ufd] = index;
  }
  s.watched[static_cast<std::size_t>(index)].events = poll_detail::to_poll(interest);
  s.one_shot[static_cast<std::size_t>(index)] = mode == ArmMode::kOneShot;
  return result;
}

template <>
void PollBackend::disarm(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= state_.index_of_fd.size()) return;
  const int index = state_.index_of_fd[fd];
  if (index > 0) poll_detail::remove_at(state_, static_cast<std::size_t>(index));
}

template <>
int PollBackend::wait(std::int64_t timeout_ns, ManagerLock& lock) noexcept {
  // The snapshot, taken under the lock; arm() reserved its capacity, so
  // this copy does not allocate.
  (void)state_.wait_set.assign(state_.watched.begin(), state_.watched.end());
  lock.unlock();
#if EVMGR_HAVE_PPOLL
  // Nanoseconds, like epoll_pwait2 and kevent: a 10 us wait is not
  // rounded up to a millisecond.
  const timespec ts = ns_to_timespec(timeout_ns < 0 ? 0 : timeout_ns);
  const int n = ::ppoll(state_.wait_set.data(), state_.wait_set.size(),
                        timeout_ns < 0 ? nullptr : &ts, nullptr);
#else
  const int n = ::poll(state_.wait_set.data(), state_.wait_set.size(), ns_to_poll_ms(timeout_ns));
#endif
  const int err = n < 0 ? errno : 0;
  lock.lock();
  if (n < 0) {
    for (pollfd& p : state_.wait_set) p.revents = 0;
  }
  return err;
}

template <>
bool PollBackend::dispatch(ReadyCallback on_ready) noexcept {
  bool woken = false;
  for (pollfd& entry : state_.wait_set) {
    if (entry.revents == 0) continue;
    const short revents = entry.revents;
    entry.revents = 0;
    if (entry.fd == state_.wake_read_fd) {
      char buf[64];
      while (::read(state_.wake_read_fd, buf, sizeof buf) > 0) {
      }
      woken = true;
      continue;
    }
    // The set may have changed since the snapshot: report only fds still
    // watched (the manager filters events by its waiters' interests).
    const int fd = entry.fd;
    const int index = state_.index_of_fd[fd];
    if (index <= 0) continue;
    if (state_.one_shot[index]) poll_detail::remove_at(state_, static_cast<std::size_t>(index));
    // poll(2) watches fd numbers, not files: no stale watch can exist, so
    // it reports no tag.
    on_ready(fd, poll_detail::from_poll(revents), 0);
  }
  return woken;
}

template <>
int PollBackend::wakeup() noexcept {
  const char byte = 1;
  if (::write(state_.wake_write_fd, &byte, 1) == 1) return 0;
  // EAGAIN: the pipe is full of earlier wake-ups; one is enough.
  return errno == EAGAIN ? 0 : errno;
}

template <>
int PollBackend::pollable_fd() const noexcept {
  return -1;
}

}  // namespace evmgr
