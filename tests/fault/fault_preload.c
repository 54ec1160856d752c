/* SPDX-License-Identifier: BSD-3-Clause
 *
 * LD_PRELOAD fault injection for whole programs (the patched GHC's e2e
 * programs): the calls of the core's mechanisms, each passed on with
 * dlsym(RTLD_NEXT) unless EVMGR_FAULT (fault.h) says this one fails.
 * Unlike the link-time wrapping of fault_wrap.c, every caller in the
 * process is counted (the core is linked into the RTS); epoll_*, eventfd
 * and ppoll have no other caller in a non-threaded GHC program, fcntl and
 * poll do (the base library's fd set-up), which the docs' table says.
 * The allocator is not interposed here: a failing malloc in the GHC RTS
 * itself is out of scope (the C driver covers the core's allocations).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))
int epoll_create1(int flags) {
  FAIL_WITH(F_EPOLL_CREATE1, -1);
  return REAL(epoll_create1)(flags);
}
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  FAIL_WITH(F_EPOLL_CTL, -1);
  return REAL(epoll_ctl)(epfd, op, fd, ev);
}
int eventfd(unsigned initval, int flags) {
  FAIL_WITH(F_EVENTFD, -1);
  return REAL(eventfd)(initval, flags);
}
int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout) {
  FAIL_WITH(F_EPOLL_WAIT, -1);
  return REAL(epoll_wait)(epfd, evs, max, timeout);
}
int epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *ts,
                 const sigset_t *mask) {
  FAIL_WITH(F_EPOLL_WAIT, -1);
  return REAL(epoll_pwait2)(epfd, evs, max, ts, mask);
}
int poll(struct pollfd *fds, nfds_t n, int timeout) {
  FAIL_WITH(F_POLL, -1);
  return REAL(poll)(fds, n, timeout);
}
int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask) {
  FAIL_WITH(F_POLL, -1);
  return REAL(ppoll)(fds, n, ts, mask);
}
int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const long arg = va_arg(ap, long);
  va_end(ap);
  FAIL_WITH(F_FCNTL, -1);
  return REAL(fcntl)(fd, cmd, arg);
}
int pipe2(int fds[2], int flags) {
  FAIL_WITH(F_PIPE2, -1);
  return REAL(pipe2)(fds, flags);
}
