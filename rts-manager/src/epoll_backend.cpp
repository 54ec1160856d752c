// SPDX-License-Identifier: BSD-3-Clause
// The epoll back-end's operations; the contract is in backend.hpp.
#include "evmgr/config.hpp"
#if EVMGR_HAVE_EPOLL
#include "evmgr/epoll_backend.hpp"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#if __has_include(<linux/kcmp.h>) && defined(SYS_kcmp)
#include <linux/kcmp.h>  // KCMP_EPOLL_TFD (an enumerator): Linux 4.13 headers
#define EVMGR_HAVE_KCMP 1
#else
#define EVMGR_HAVE_KCMP 0
#endif

#include <cerrno>
#include <cstdint>

#include "evmgr/clock.hpp"
#include "evmgr/private_fd.hpp"

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

namespace epoll_detail {

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

void close_fds(EpollState& s) noexcept {
  // close() errors are not actionable here: the fds are ours and the kernel
  // releases them even when close reports EINTR/EIO.
  if (s.wake_fd >= 0) (void)::close(s.wake_fd);
  if (s.epoll_fd >= 0) (void)::close(s.epoll_fd);
  s.wake_fd = s.epoll_fd = -1;
  s.ready_count = 0;
}

// Does the watch that epoll instance `epoll_fd` holds under fd's number
// belong to the file fd names now? kcmp(KCMP_EPOLL_TFD) asks the kernel
// without touching the instance (after fork it is the parent's too). Where
// the kernel refuses kcmp (built without it, a seccomp profile), assumed
// yes: a reuse before the fork then goes unnoticed until a registration or
// the closed-fd probe finds it.
bool watches_same_file(int epoll_fd, int fd) noexcept {
#if EVMGR_HAVE_KCMP
  static bool kcmp_refused = false;
  if (kcmp_refused) return true;
  kcmp_epoll_slot slot{};
  slot.efd = static_cast<__u32>(epoll_fd);
  slot.tfd = static_cast<__u32>(fd);
  const pid_t self = getpid();
  const long r = syscall(SYS_kcmp, self, self, KCMP_EPOLL_TFD, fd, &slot);
  if (r == 0) return true;
  if (r > 0) return false;  // another file
  // ENOENT: the instance holds no watch under that number any more (its
  // file was closed); EBADF: fd is not open now.
  if (errno == ENOENT || errno == EBADF) return false;
  if (errno == ENOSYS || errno == EPERM || errno == EINVAL) kcmp_refused = true;
  return true;
#else
  (void)epoll_fd;
  (void)fd;
  return true;
#endif
}

// The epoll fd and the eventfd in its set, both the core's own (Note [The
// core's own fds]); 0 or an errno (nothing open).
int open_fds(EpollState& s) noexcept {
  s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (s.epoll_fd < 0) return errno;
  if (const int err = make_fd_private(&s.epoll_fd)) return err;
  s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int err = s.wake_fd < 0 ? errno : make_fd_private(&s.wake_fd);
  if (err != 0) {
    close_fds(s);
    return err;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeData;
  if (epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.wake_fd, &ev) != 0) {
    err = errno;
    close_fds(s);
    return err;
  }
  return 0;
}

}  // namespace epoll_detail

template <>
EpollBackend::Backend() noexcept : error_(epoll_detail::open_fds(state_)) {}

template <>
EpollBackend::~Backend() {
  epoll_detail::close_fds(state_);
}

template <>
int EpollBackend::after_fork() noexcept {
  // The child's copies of the epoll fd and eventfd refer to the parent's
  // kernel objects; closing them here leaves the parent's intact. The new
  // instance cannot say that a waited-on number was reused before the fork
  // (EPOLL_CTL_MOD's ENOENT), so the old one is asked first.
  const int old_epoll_fd = state_.epoll_fd;
  state_.in_set.forget_after_fork(
      [old_epoll_fd](int fd) { return epoll_detail::watches_same_file(old_epoll_fd, fd); });
  epoll_detail::close_fds(state_);
  return epoll_detail::open_fds(state_);
}

template <>
ArmResult EpollBackend::arm(int fd, Events interest, ArmMode mode, WatchTag tag) noexcept {
  ArmResult result;
  // Replaced before a fork (KernelWatches::forget_after_fork): as MOD's
  // ENOENT below would have said on the parent's instance.
  result.replaced = state_.in_set.take_replaced(fd);
  std::uint8_t* in_set;  // whether epoll's set holds fd: MOD, not ADD
  if ((result.error = state_.in_set.entry(fd, &in_set)) != 0) return result;
  epoll_event ev{};
  ev.events = epoll_detail::to_epoll(interest, mode);
  ev.data.u64 = (static_cast<std::uint64_t>(tag) << 32) | static_cast<std::uint32_t>(fd);
  int op = *in_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(state_.epoll_fd, op, fd, &ev) != 0) {
    const int err = errno;
    if (op == EPOLL_CTL_MOD && err == ENOENT) {
      // epoll keys watches by (fd, open file). Our watch is gone although
      // we never removed it: the file was closed (epoll drops it silently)
      // and this fd number now names another file. Its old waiters must
      // hear.
      result.replaced = true;
      *in_set = 0;
      op = EPOLL_CTL_ADD;
    } else if (op == EPOLL_CTL_MOD && err == EPERM) {
      // epoll checks that the number's file can be polled before it looks
      // for the watch: a file it refuses (/dev/null, a regular file) now
      // holds a number we watched, so our file is not the number's any
      // more. The error stands: the manager treats the fd as always ready.
      result.replaced = true;
      *in_set = 0;
      result.error = err;
      return result;
    } else if (op == EPOLL_CTL_ADD && err == EEXIST) {
      // The kernel still watches this (fd, file) although we had forgotten
      // it, e.g. a dup()ed descriptor kept the file alive: modify instead.
      op = EPOLL_CTL_MOD;
    } else {
      result.error = err;
      return result;
    }
    if (epoll_ctl(state_.epoll_fd, op, fd, &ev) != 0) {
      result.error = errno;
      return result;
    }
  }
  *in_set = KernelWatches::kHeld;
  return result;
}

template <>
void EpollBackend::disarm(int fd) noexcept {
  if (!state_.in_set.remove(fd)) return;  // the kernel holds nothing
  // ENOENT/EBADF mean the kernel already forgot the fd (it was closed):
  // exactly the state we want.
  epoll_event ev{};
  (void)epoll_ctl(state_.epoll_fd, EPOLL_CTL_DEL, fd, &ev);
}

template <>
int EpollBackend::wait(std::int64_t timeout_ns, ManagerLock& lock) noexcept {
  lock.unlock();
  int n;
#if EVMGR_HAVE_EPOLL_PWAIT2
  // Nanosecond timeouts (Linux 5.11+): a threadDelay of 100 us sleeps about
  // 100 us, not a rounded-up millisecond. Older kernels say ENOSYS once.
  // (have_pwait2 is touched by the one polling thread only.)
  if (state_.have_pwait2) {
    const timespec ts = ns_to_timespec(timeout_ns < 0 ? 0 : timeout_ns);
    n = epoll_pwait2(state_.epoll_fd, state_.ready, kMaxEventsPerWait,
                     timeout_ns < 0 ? nullptr : &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) goto done;
    state_.have_pwait2 = false;
  }
#endif
  n = epoll_wait(state_.epoll_fd, state_.ready, kMaxEventsPerWait, ns_to_poll_ms(timeout_ns));
#if EVMGR_HAVE_EPOLL_PWAIT2
done:
#endif
  const int err = n < 0 ? errno : 0;
  lock.lock();
  state_.ready_count = n < 0 ? 0 : n;
  return err;
}

template <>
bool EpollBackend::dispatch(ReadyCallback on_ready) noexcept {
  bool woken = false;
  for (int i = 0; i < state_.ready_count; ++i) {
    const std::uint64_t data = state_.ready[i].data.u64;
    if (data == epoll_detail::kWakeData) {
      std::uint64_t count;
      // EAGAIN: another dispatch drained it already; nothing else can fail
      // on a valid nonblocking eventfd with an 8-byte buffer.
      (void)::read(state_.wake_fd, &count, sizeof count);
      woken = true;
      continue;
    }
    on_ready(static_cast<int>(static_cast<std::uint32_t>(data)),
             epoll_detail::from_epoll(state_.ready[i].events), static_cast<WatchTag>(data >> 32));
  }
  state_.ready_count = 0;
  return woken;
}

template <>
int EpollBackend::wakeup() noexcept {
  const std::uint64_t one = 1;
  if (::write(state_.wake_fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) return 0;
  // EAGAIN: the counter is saturated, so a wake-up is pending anyway.
  return errno == EAGAIN ? 0 : errno;
}

template <>
int EpollBackend::pollable_fd() const noexcept {
  return state_.epoll_fd;
}

}  // namespace evmgr

#endif  // EVMGR_HAVE_EPOLL
