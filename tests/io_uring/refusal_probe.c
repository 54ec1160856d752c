/* SPDX-License-Identifier: BSD-3-Clause
 *
 * refusal_probe ERRNO: run under no_io_uring ERRNO (io_uring_setup refused).
 * Checks what the C ABI says and does when the kernel refuses io_uring:
 * auto falls back to epoll quietly, an explicit io_uring fails naming the
 * kernel's errno, and the fallback manager works. Prints one line per check
 * and "N passed, M failed"; exit 1 if any failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evmgr.h"

static int passed, failed;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "PASS" : "FAIL", what);
  if (ok) passed++; else failed++;
}

int main(int argc, char **argv) {
  const int want = argc > 1 ? (strcmp(argv[1], "ENOSYS") == 0 ? ENOSYS : EPERM) : EPERM;
  check(evmgr_backend_refusal(EVMGR_BACKEND_IO_URING) == want,
        "evmgr_backend_refusal(io_uring) is the kernel's errno");
  check(!evmgr_backend_available(EVMGR_BACKEND_IO_URING), "io_uring is not available");
  check(evmgr_backend_available(EVMGR_BACKEND_EPOLL), "epoll still is");
  check(evmgr_backend_resolve(EVMGR_BACKEND_AUTO) == EVMGR_BACKEND_EPOLL,
        "auto resolves to epoll (what --info shows before start-up)");

  evmgr_manager *m = NULL;
  check(evmgr_new(EVMGR_BACKEND_IO_URING, &m) == want && m == NULL,
        "evmgr_new(io_uring) fails with the kernel's errno");
  check(evmgr_new(EVMGR_BACKEND_AUTO, &m) == 0 && m != NULL, "evmgr_new(auto) succeeds");
  if (m == NULL) goto out;
  check(evmgr_backend_of(m) == EVMGR_BACKEND_EPOLL, "auto runs epoll");

  int p[2];
  if (pipe(p) != 0) return 2;
  evmgr_key key;
  check(evmgr_fd_register(m, p[0], EVMGR_READ, EVMGR_ONESHOT, 7, &key) == 0, "register");
  check(write(p[1], "x", 1) == 1, "write");
  evmgr_event ev[4];
  const int n = evmgr_poll(m, 2000000000LL, ev, 4);
  check(n == 1 && ev[0].token == 7 && (ev[0].events & EVMGR_READ), "the fallback delivers");
  evmgr_free(m);
out:
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
