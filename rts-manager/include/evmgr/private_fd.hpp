// SPDX-License-Identifier: BSD-3-Clause
//
// The core's own fds (the epoll or kqueue fd, the eventfd, the wake-up
// pipe): numbered 3 or above and close-on-exec, in every back-end and
// after fork. Note [The core's own fds] in src/private_fd.cpp.
#pragma once

namespace evmgr {

// The lowest number the core's own fds may take: 0, 1 and 2 belong to the
// standard streams even while they are closed.
inline constexpr int kFirstPrivateFd = 3;

// Makes *fd, which the core has just opened, its own: moves it to a number
// >= kFirstPrivateFd if it is below, and sets close-on-exec. Returns 0, or
// an errno after closing *fd and setting it to -1 (EMFILE: no free number
// at or above 3; EBADF: *fd was not open).
int make_fd_private(int* fd) noexcept;

}  // namespace evmgr
