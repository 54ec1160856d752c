// SPDX-License-Identifier: BSD-3-Clause
//
// Note [Closed fds]
// ~~~~~~~~~~~~~~~~~
// epoll and kqueue drop the watch of a file that is closed, silently: a
// thread waiting on it would wait forever, where select() would have said
// EBADF (and the RTS raised an IOError in the thread). We catch it three
// ways:
//   - When an fd is armed again and epoll says ENOENT for a watch we never
//     removed, its file was closed and the number reused: the old waiters
//     get kClosed (ArmResult::replaced, backend.hpp).
//   - Back-ends that cannot tell (poll, kqueue), and fds epoll refuses
//     (regular files), record the file's (device, inode) when the fd gains
//     its first waiter (RecordedFile); a later registration on the same
//     number compares (check_file), and on a mismatch the old waiters get
//     kClosed instead of the new file's readiness.
//   - Every period (250 ms by default) a poll that has fd waiters sweeps
//     every waited-on fd with one zero-timeout poll(2) per batch; POLLNVAL
//     means closed, and its waiters get kClosed. Blocking waits are cut to
//     the period while fd waiters exist (next_due), so the sweep runs even
//     when idle.
// poll(2) reports POLLNVAL, but only when it is entered: an fd closed
// while a poll() is blocked goes unnoticed until the next call, so the
// periodic sweep (and the cap on the wait) applies to every back-end. A
// registration that arrives while a poll waits longer than the next sweep
// kicks it (Note [Wake-ups]), so the first fd registered into an idle
// manager is covered too.
#include "evmgr/closed_fd_check.hpp"

#include <poll.h>
#include <sys/stat.h>

#include "evmgr/clock.hpp"
#include "evmgr/fd_table.hpp"

namespace evmgr {

void RecordedFile::record(int fd) noexcept {
  struct stat st;
  recorded = fstat(fd, &st) == 0;
  if (!recorded) return;
  identity.device = st.st_dev;
  identity.inode = st.st_ino;
}

FileCheck check_file(int fd, const RecordedFile& file) noexcept {
  if (!file.recorded) return FileCheck::kSameFile;
  struct stat st;
  if (fstat(fd, &st) != 0) return FileCheck::kNotOpen;
  const FileIdentity now{st.st_dev, st.st_ino};
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

void ClosedFdCheck::sweep(FdTable& fds, void (*on_closed)(void* ctx, int fd), void* ctx) noexcept {
  // One poll(2) with a zero timeout per batch of waited-on fds: a closed fd
  // comes back POLLNVAL (whatever the events asked), and 10,000 fds cost 40
  // syscalls rather than 10,000 fcntl calls.
  constexpr int kBatch = 256;
  struct pollfd batch[kBatch];
  int count = 0;
  const auto flush = [&] {
    // EINTR or ENOMEM: skip this round; the next check comes soon enough.
    if (count > 0 && ::poll(batch, static_cast<nfds_t>(count), 0) > 0) {
      for (int i = 0; i < count; ++i) {
        if (batch[i].revents & POLLNVAL) on_closed(ctx, batch[i].fd);
      }
    }
    count = 0;
  };
  for (std::size_t fd = 0; fd < fds.size(); ++fd) {
    if (fds[fd].waiters.empty()) continue;
    batch[count++] = pollfd{static_cast<int>(fd), 0, 0};
    if (count == kBatch) flush();
  }
  flush();
}

}  // namespace evmgr
