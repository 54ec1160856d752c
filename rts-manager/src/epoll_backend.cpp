// SPDX-License-Identifier: BSD-3-Clause
#include "evmgr/config.hpp"
#if EVMGR_HAVE_EPOLL
#include "evmgr/epoll_backend.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "evmgr/clock.hpp"

// epoll_pwait2 came with glibc 2.35 (and Linux 5.11, checked at run time).
// Decided here rather than by the build so that every build of the core
// (CMake, cabal) agrees.
#if !defined(EVMGR_HAVE_EPOLL_PWAIT2)
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define EVMGR_HAVE_EPOLL_PWAIT2 1
#else
#define EVMGR_HAVE_EPOLL_PWAIT2 0
#endif
#endif

namespace evmgr {

namespace {

// epoll_data of the wake-up channel; fd watches carry (tag << 32 | fd) with a
// non-zero tag, so they never look like it.
constexpr std::uint64_t kWakeData = UINT64_MAX;

std::uint32_t to_epoll(Events interest, ArmMode mode) noexcept {
  std::uint32_t bits = 0;
  if (interest & kRead) bits |= EPOLLIN;
  if (interest & kWrite) bits |= EPOLLOUT;
  if (mode == ArmMode::kOneShot) bits |= EPOLLONESHOT;
  return bits;
}

Events from_epoll(std::uint32_t bits) noexcept {
  Events ev = 0;
  if (bits & EPOLLIN) ev |= kRead;
  if (bits & EPOLLOUT) ev |= kWrite;
  // Error and hang-up wake every waiter: select and poll report such an fd
  // readable and writable, and the next read/write tells the caller why.
  if (bits & (EPOLLERR | EPOLLHUP)) ev |= kError | kRead | kWrite;
  return ev;
}

}  // namespace

int EpollBackend::open() noexcept {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return errno;
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int err = errno;
    close();
    return err;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeData;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    const int err = errno;
    close();
    return err;
  }
  return 0;
}

void EpollBackend::close() noexcept {
  // close() errors are not actionable here: the fds are ours and the kernel
  // releases them even when close reports EINTR/EIO.
  if (wake_fd_ >= 0) (void)::close(wake_fd_);
  if (epoll_fd_ >= 0) (void)::close(epoll_fd_);
  wake_fd_ = epoll_fd_ = -1;
  ready_count_ = 0;
}

int EpollBackend::reopen_after_fork() noexcept {
  // The child's copies of the epoll fd and eventfd refer to the parent's
  // kernel objects; closing them here leaves the parent's intact.
  close();
  return open();
}

int EpollBackend::arm(int fd, Events interest, ArmMode mode, bool known, WatchTag tag,
                      bool* replaced) noexcept {
  epoll_event ev{};
  ev.events = to_epoll(interest, mode);
  ev.data.u64 = (static_cast<std::uint64_t>(tag) << 32) | static_cast<std::uint32_t>(fd);
  int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(epoll_fd_, op, fd, &ev) == 0) return 0;
  int err = errno;
  if (op == EPOLL_CTL_MOD && err == ENOENT) {
    // epoll keys watches by (fd, open file). Our watch is gone although we
    // never removed it: the file was closed (epoll drops it silently) and
    // this fd number now names another file. Its old waiters must hear.
    *replaced = true;
    op = EPOLL_CTL_ADD;
  } else if (op == EPOLL_CTL_ADD && err == EEXIST) {
    // The kernel still watches this (fd, file) although we had forgotten
    // it, e.g. a dup()ed descriptor kept the file alive: modify instead.
    op = EPOLL_CTL_MOD;
  } else {
    return err;
  }
  if (epoll_ctl(epoll_fd_, op, fd, &ev) == 0) return 0;
  return errno;
}

void EpollBackend::disarm(int fd) noexcept {
  // ENOENT/EBADF mean the kernel already forgot the fd (it was closed):
  // exactly the state we want.
  epoll_event ev{};
  (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev);
}

int EpollBackend::wait(std::int64_t timeout_ns) noexcept {
  int n;
#if EVMGR_HAVE_EPOLL_PWAIT2
  // Nanosecond timeouts (Linux 5.11+): a threadDelay of 100 us sleeps about
  // 100 us, not a rounded-up millisecond. Older kernels say ENOSYS once.
  if (have_pwait2_) {
    timespec ts;
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1000000000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1000000000);
    n = epoll_pwait2(epoll_fd_, ready_, kMaxEventsPerWait, timeout_ns < 0 ? nullptr : &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) goto done;
    have_pwait2_ = false;
  }
#endif
  n = epoll_wait(epoll_fd_, ready_, kMaxEventsPerWait, ns_to_poll_ms(timeout_ns));
#if EVMGR_HAVE_EPOLL_PWAIT2
done:
#endif
  if (n < 0) {
    ready_count_ = 0;
    return -errno;
  }
  ready_count_ = n;
  return n;
}

bool EpollBackend::dispatch(ReadyCallback on_ready) noexcept {
  bool woken = false;
  for (int i = 0; i < ready_count_; ++i) {
    const std::uint64_t data = ready_[i].data.u64;
    if (data == kWakeData) {
      std::uint64_t count;
      // EAGAIN: another dispatch drained it already; nothing else can fail
      // on a valid nonblocking eventfd with an 8-byte buffer.
      (void)::read(wake_fd_, &count, sizeof count);
      woken = true;
      continue;
    }
    on_ready(static_cast<int>(static_cast<std::uint32_t>(data)), from_epoll(ready_[i].events),
             static_cast<WatchTag>(data >> 32));
  }
  ready_count_ = 0;
  return woken;
}

int EpollBackend::wakeup() noexcept {
  const std::uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) return 0;
  // EAGAIN: the counter is saturated, so a wake-up is pending anyway.
  return errno == EAGAIN ? 0 : errno;
}

}  // namespace evmgr

#endif  // EVMGR_HAVE_EPOLL
