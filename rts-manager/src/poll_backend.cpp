// SPDX-License-Identifier: BSD-3-Clause
#include "evmgr/poll_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "evmgr/clock.hpp"

namespace evmgr {

namespace {

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

int make_nonblocking_pipe(int fds[2]) noexcept {
  if (pipe(fds) != 0) return errno;
  for (int i = 0; i < 2; ++i) {
    if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0) {
      const int err = errno;
      (void)::close(fds[0]);
      (void)::close(fds[1]);
      return err;
    }
  }
  return 0;
}

}  // namespace

int PollBackend::open() noexcept {
  int fds[2];
  if (const int err = make_nonblocking_pipe(fds)) return err;
  wake_read_fd_ = fds[0];
  wake_write_fd_ = fds[1];
  try {
    watched_.assign(1, pollfd{wake_read_fd_, POLLIN, 0});
    one_shot_.assign(1, 0);
    wait_set_.reserve(16);
  } catch (const std::bad_alloc&) {
    close();
    return ENOMEM;
  }
  return 0;
}

void PollBackend::close() noexcept {
  if (wake_read_fd_ >= 0) (void)::close(wake_read_fd_);
  if (wake_write_fd_ >= 0) (void)::close(wake_write_fd_);
  wake_read_fd_ = wake_write_fd_ = -1;
  watched_.clear();
  one_shot_.clear();
  index_of_fd_.clear();
  wait_set_.clear();
}

int PollBackend::reopen_after_fork() noexcept {
  // The pipe is shared with the parent: a wake-up from one would wake the
  // other. The watched set is plain memory and the manager re-arms it.
  close();
  return open();
}

int PollBackend::arm(int fd, Events interest, ArmMode mode, bool /*known*/, WatchTag /*tag*/,
                     bool* /*replaced*/) noexcept {
  // poll(2) would only say POLLNVAL later; the contract wants EBADF now.
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) return EBADF;
  try {
    if (static_cast<std::size_t>(fd) >= index_of_fd_.size()) {
      index_of_fd_.resize(std::max<std::size_t>(fd + 1, index_of_fd_.size() * 2), -1);
    }
    int index = index_of_fd_[fd];
    if (index < 0) {
      watched_.push_back(pollfd{fd, 0, 0});
      one_shot_.push_back(0);
      // Keep the snapshot's capacity in step, so prepare_wait never
      // allocates.
      wait_set_.reserve(watched_.capacity());
      index = static_cast<int>(watched_.size() - 1);
      index_of_fd_[fd] = index;
    }
    watched_[index].events = to_poll(interest);
    one_shot_[index] = mode == ArmMode::kOneShot;
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
  return 0;
}

void PollBackend::remove_at(std::size_t index) noexcept {
  const std::size_t last = watched_.size() - 1;
  index_of_fd_[watched_[index].fd] = -1;
  if (index != last) {
    watched_[index] = watched_[last];
    one_shot_[index] = one_shot_[last];
    index_of_fd_[watched_[index].fd] = static_cast<int>(index);
  }
  watched_.pop_back();
  one_shot_.pop_back();
}

void PollBackend::disarm(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= index_of_fd_.size()) return;
  const int index = index_of_fd_[fd];
  if (index > 0) remove_at(static_cast<std::size_t>(index));
}

void PollBackend::prepare_wait() noexcept {
  // Capacity was reserved by arm(): this copy does not allocate.
  wait_set_.assign(watched_.begin(), watched_.end());
}

int PollBackend::wait(std::int64_t timeout_ns) noexcept {
  const int n = ::poll(wait_set_.data(), wait_set_.size(), ns_to_poll_ms(timeout_ns));
  if (n < 0) {
    for (pollfd& p : wait_set_) p.revents = 0;
    return -errno;
  }
  return n;
}

bool PollBackend::dispatch(ReadyCallback on_ready) noexcept {
  bool woken = false;
  for (pollfd& entry : wait_set_) {
    if (entry.revents == 0) continue;
    const short revents = entry.revents;
    entry.revents = 0;
    if (entry.fd == wake_read_fd_) {
      char buf[64];
      while (::read(wake_read_fd_, buf, sizeof buf) > 0) {
      }
      woken = true;
      continue;
    }
    // The set may have changed since the snapshot: report only fds still
    // watched (the manager filters events by its waiters' interests).
    const int fd = entry.fd;
    const int index = index_of_fd_[fd];
    if (index <= 0) continue;
    if (one_shot_[index]) remove_at(static_cast<std::size_t>(index));
    // poll(2) watches fd numbers, not files: no stale watch can exist, so
    // it reports no tag.
    on_ready(fd, from_poll(revents), 0);
  }
  return woken;
}

int PollBackend::wakeup() noexcept {
  const char byte = 1;
  if (::write(wake_write_fd_, &byte, 1) == 1) return 0;
  // EAGAIN: the pipe is full of earlier wake-ups; one is enough.
  return errno == EAGAIN ? 0 : errno;
}

}  // namespace evmgr
