// SPDX-License-Identifier: BSD-3-Clause
//
// Note [Closed fds]
// ~~~~~~~~~~~~~~~~~
// epoll and kqueue drop the watch of a file that is closed, silently: a
// thread waiting on it would wait forever, where select() would have said
// EBADF (and the RTS raised an IOError in the thread). Worse, the number
// may be reused at once (a new pipe or socket, a dup2() onto it, a regular
// file), and then nothing about the number looks wrong: poll(2) reports no
// POLLNVAL, and under epoll the waiter hangs however much data the new file
// gets (the watch died with the old file, or lives on with the old file
// when a dup() keeps it open). We catch it four ways:
//   - When an fd is armed again and epoll says ENOENT for a watch we never
//     removed, its file was closed and the number reused: the old waiters
//     get kClosed (ArmResult::replaced, backend.hpp).
//   - Back-ends that cannot tell (poll, kqueue, io_uring), and fds epoll refuses
//     (regular files), record the file's (device, inode) when the fd gains
//     its first waiter (RecordedFile); a later registration on the same
//     number compares (check_file), and on a mismatch the old waiters get
//     kClosed instead of the new file's readiness.
//   - The sweep: one zero-timeout poll(2) per batch of 256 waited-on fds;
//     POLLNVAL means closed, and the waiters get kClosed.
//   - The file probes, in the same sweep: for a slice of the waited-on fds
//     (all of them up to kProbesPerSweep, a rotating slice beyond), the
//     manager asks whether the number still names the waiters' file, with
//     one syscall per fd: an epoll_ctl(MOD) re-arm of the fd's watch under
//     epoll (ENOENT: the watch's file is not the number's any more, whether
//     the old file died or a dup() keeps it alive; EPERM: the number is a
//     regular file now), the identity check elsewhere (io_uring included,
//     whose pending poll holds the old file until the waiters' kClosed
//     drops the watch and so cancels it). A replaced file's
//     waiters get kClosed, which the RTS turns into the IOError a closed fd
//     gives: better than select, which may hand them another file's data.
// No batched kernel query tells a reused number (poll(2) and epoll look at
// whatever file the number names now), hence one syscall per probed fd and
// the bounded slice: docs/design.md measures a sweep at 10,000 fds.
//
// Who runs the sweep: by default poll() does, every period (250 ms) while
// fd waiters exist, and cuts its blocking waits to the period (next_due)
// so that it runs even when idle. A registration that arrives while a poll
// waits longer than the next sweep kicks it (Note [Wake-ups]), so the
// first fd registered into an idle manager is covered too. poll(2) itself
// reports POLLNVAL only when entered, so this applies to every back-end.
// A caller that knows when fds can have been closed (the non-threaded RTS:
// only Haskell code closes fds, so none can close while every thread
// waits) turns the period off (interval 0: no cap on waits, no sweep in
// poll) and runs the sweep itself (Manager::check_closed_fds,
// evmgr_check_closed_fds): a program whose threads all wait then makes no
// syscall at all once settled.
#include "evmgr/closed_fd_check.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "evmgr/clock.hpp"
#include "evmgr/fd_table.hpp"

namespace evmgr {

// Note [Reading a file's identity]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The identity is read on the hot path of back-ends that cannot tell a
// replaced file (one read per fd that gains its first waiter), so it asks
// the kernel for the inode number only. fstat() would also ask for the
// file's times, and since Linux 6.13 a query of the change time makes the
// next write to that inode take a fine-grained timestamp and dirty it (the
// "multigrain timestamps"): a FIFO on ext4 then costs a journal update per
// write, which made each fstat cost ~2 us in the ping-pong benchmark
// (docs/benchmarks.md) against ~0.45 us for statx(STATX_INO). statx is
// Linux 4.11; where the kernel or a seccomp filter refuses it, fstat.
namespace {
#if defined(__linux__) && defined(STATX_INO)
bool statx_refused = false;  // racing first calls both find out: harmless
#endif
}  // namespace

int read_file_identity(int fd, FileIdentity* out) noexcept {
#if defined(__linux__) && defined(STATX_INO)
  if (!__atomic_load_n(&statx_refused, __ATOMIC_RELAXED)) {
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_INO, &sx) == 0) {
      out->device = makedev(sx.stx_dev_major, sx.stx_dev_minor);
      out->inode = sx.stx_ino;
      return 0;
    }
    if (errno != ENOSYS && errno != EPERM) return errno;
    __atomic_store_n(&statx_refused, true, __ATOMIC_RELAXED);
  }
#endif
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  out->device = st.st_dev;
  out->inode = st.st_ino;
  return 0;
}

void RecordedFile::record(int fd) noexcept { recorded = read_file_identity(fd, &identity) == 0; }

FileCheck check_file(int fd, const RecordedFile& file) noexcept {
  if (!file.recorded) return FileCheck::kSameFile;
  FileIdentity now;
  if (read_file_identity(fd, &now) != 0) return FileCheck::kNotOpen;
  return now == file.identity ? FileCheck::kSameFile : FileCheck::kReplaced;
}

void ClosedFdCheck::set_interval(std::int64_t interval_ns, std::int64_t now) noexcept {
  interval_ns_ = interval_ns < 0 ? 0 : interval_ns;
  next_ = deadline_after(now, interval_ns_);
}

bool ClosedFdCheck::take_due(std::int64_t now) noexcept {
  if (interval_ns_ <= 0 || now < next_) return false;
  next_ = deadline_after(now, interval_ns_);
  return true;
}

int ClosedFdCheck::sweep(FdTable& fds, void (*on_closed)(void* ctx, int fd), void* ctx) noexcept {
  // One poll(2) with a zero timeout per batch of waited-on fds: a closed fd
  // comes back POLLNVAL (whatever the events asked), and 10,000 fds cost 40
  // syscalls rather than 10,000 fcntl calls.
  constexpr int kBatch = 256;
  struct pollfd batch[kBatch];
  int count = 0;
  int error = 0;
  const auto flush = [&] {
    // A zero-timeout poll(2) is retried after a signal (EINTR, nothing
    // happened); ENOMEM: that batch is skipped this round and reported.
    int n = 0;
    if (count > 0) {
      do n = ::poll(batch, static_cast<nfds_t>(count), 0);
      while (n < 0 && errno == EINTR);
    }
    if (n < 0 && error == 0) error = errno;
    for (int i = 0; n > 0 && i < count; ++i) {
      if (batch[i].revents & POLLNVAL) on_closed(ctx, batch[i].fd);
    }
    count = 0;
  };
  for (std::size_t fd = 0; fd < fds.size(); ++fd) {
    if (fds[fd].waiters.empty()) continue;
    batch[count++] = pollfd{static_cast<int>(fd), 0, 0};
    if (count == kBatch) flush();
  }
  flush();
  return error;
}

}  // namespace evmgr
