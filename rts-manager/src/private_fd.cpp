// SPDX-License-Identifier: BSD-3-Clause
//
// Note [The core's own fds]
// ~~~~~~~~~~~~~~~~~~~~~~~~~
// A program may start with stdin, stdout or stderr closed (`prog <&-`,
// `prog >&-`). The stock RTS then raises EBADF on `hGetLine stdin` or
// `hFlush stdout`. But open() hands out the lowest free number, so an fd
// the core opened would become fd 0 or 1: the program's read of stdin
// would wait on the wake-up pipe (forever), its writes to stdout would go
// into it, and a child it runs would inherit it as a standard stream.
//
// So every fd the core opens goes through make_fd_private(): one below 3 is
// moved up with fcntl(F_DUPFD_CLOEXEC, 3) and the low number closed again,
// leaving 0, 1 and 2 closed as the program found them; and every one is
// close-on-exec, so a program the user runs inherits none of the core's
// fds (kqueue() has no flag for that on every BSD, and a pipe made with
// pipe() has none). Back-ends open their fds through it in their
// constructor and again in after_fork(), so a forked child's new fds obey
// the same rule.
//
// Errors are reported, never ignored: a failed move or flag change closes
// the fd and the back-end's creation fails with that errno (in practice
// EMFILE), rather than running with an fd that a standard stream may be
// mistaken for. close() errors are ignored on purpose: the number is
// released even when close reports EINTR or EIO.
#include "evmgr/private_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace evmgr {

int make_fd_private(int* fd) noexcept {
  if (*fd < 0) return EBADF;
  if (*fd < kFirstPrivateFd) {
    // The copy is close-on-exec whatever the original was.
    const int moved = fcntl(*fd, F_DUPFD_CLOEXEC, kFirstPrivateFd);
    const int err = moved < 0 ? errno : 0;
    (void)::close(*fd);
    *fd = moved;
    return err;
  }
  const int flags = fcntl(*fd, F_GETFD);
  if (flags >= 0 && ((flags & FD_CLOEXEC) != 0 || fcntl(*fd, F_SETFD, flags | FD_CLOEXEC) == 0)) {
    return 0;
  }
  const int err = errno;
  (void)::close(*fd);
  *fd = -1;
  return err;
}

}  // namespace evmgr
