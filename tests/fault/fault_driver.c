/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The fault driver: one fixed scenario of C ABI calls on one back-end,
 * run with a fault injected (EVMGR_FAULT, see fault.h) by sweep.sh. It
 * checks that the core returns the error and stays consistent:
 *   - every result is 0, a count or an errno; a failed call changed nothing
 *     (its registration is not counted, its key never comes back);
 *   - every event names a registration the driver made and still holds;
 *   - afterwards (the fault was a single one) the manager works: a fresh
 *     pipe with data is delivered, a 1 ms timer fires;
 *   - once every key is unregistered or cancelled and the queue drained,
 *     evmgr_pending_count is 0 (nothing leaked inside the manager), and
 *     under ASan, LeakSanitizer finds no leak after evmgr_free.
 * Output: "OUTCOME <first visible error>" and exit 0, or a message and
 * exit 1. Usage: fault_driver BACKEND | --list
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evmgr.h"

int __real_pipe2(int[2], int);
int __real_fcntl(int, int, ...);

static char outcome[128] = "none (no call failed)";
static int failures;

static void note(const char *call, int err) {
  if (err == 0 || failures++) return;
  snprintf(outcome, sizeof outcome, "%s -> %s%s", call, err < 0 ? "-" : "",
           strerrorname_np(err < 0 ? -err : err) ? strerrorname_np(err < 0 ? -err : err) : "?");
}
static void die(const char *what, long v) {
  printf("OUTCOME %s\nFAIL %s (%ld)\n", outcome, what, v);
  exit(1);
}

#define MAXK 16
static evmgr_key keys[MAXK];   /* keys the driver holds, by token (index) */
static int is_timer[MAXK];
static int got[MAXK];
static int got_error[MAXK];

static int poll_once(evmgr_manager *m, long long timeout) {
  evmgr_event ev[4];
  const int n = evmgr_poll(m, timeout, ev, 4);
  if (n < 0) {
    note("evmgr_poll", n);
    return 0;
  }
  for (int i = 0; i < n; ++i) {
    const uintptr_t t = ev[i].token;
    if (t >= MAXK || keys[t] == 0 || keys[t] != ev[i].key) die("event for a key not held", (long)t);
    got[t]++;
    if (ev[i].events & EVMGR_ERROR) got_error[t] = 1;
    /* one-shots and timers are gone once delivered; so is a closed fd's */
    if (is_timer[t] || t != 2 || (ev[i].events & EVMGR_CLOSED)) keys[t] = 0;
  }
  return n;
}

static void reg(evmgr_manager *m, int fd, uint32_t ev, uint32_t flags, int token) {
  evmgr_key k = 0;
  const int rc = evmgr_fd_register(m, fd, ev, flags, (uintptr_t)token, &k);
  note("evmgr_fd_register", rc);
  if (rc == 0) keys[token] = k;
}
static void timer(evmgr_manager *m, long long ns, int token) {
  evmgr_key k = 0;
  const int rc = evmgr_timer_add(m, ns, (uintptr_t)token, &k);
  note("evmgr_timer_add", rc);
  if (rc == 0) {
    keys[token] = k;
    is_timer[token] = 1;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "--list") == 0) {
    for (int b = 1; b < 64; ++b)
      if (evmgr_backend_name((evmgr_backend)b) && evmgr_backend_available((evmgr_backend)b))
        printf("%s\n", evmgr_backend_name((evmgr_backend)b));
    return 0;
  }
  evmgr_backend backend;
  if (evmgr_backend_parse(argv[1], &backend) != 0) return 2;
  setvbuf(stdout, NULL, _IONBF, 0);

  evmgr_manager *m = NULL;
  int rc = evmgr_new(backend, &m);
  note("evmgr_new", rc);
  if (rc != 0) {
    if (m != NULL) die("evmgr_new failed but set the handle", rc);
    rc = evmgr_new(backend, &m);  /* the fault was a single one */
    if (rc != 0) die("evmgr_new failed twice", rc);
  }
  evmgr_set_closed_fd_check_interval(m, 0);

  int p[4][2];
  for (int i = 0; i < 4; ++i)
    if (__real_pipe2(p[i], O_NONBLOCK | O_CLOEXEC) != 0) die("pipe2", errno);

  /* Tokens: 1 one-shot read, 2 persistent read, 3 one-shot write, 4 read
   * on a pipe closed below, 5..7 timers, 8 high fd. */
  reg(m, p[0][0], EVMGR_READ, EVMGR_ONESHOT, 1);
  reg(m, p[1][0], EVMGR_READ, EVMGR_PERSISTENT, 2);
  reg(m, p[2][1], EVMGR_WRITE, EVMGR_ONESHOT, 3);
  reg(m, p[3][0], EVMGR_READ, EVMGR_ONESHOT, 4);
  const int high = __real_fcntl(p[0][0], F_DUPFD_CLOEXEC, 300);  /* grows the fd table */
  if (high >= 0) reg(m, high, EVMGR_READ, EVMGR_ONESHOT, 8);
  timer(m, 1000000, 5);
  timer(m, 10000000000LL, 6);
  timer(m, 0, 7);
  if (keys[6]) note("evmgr_timer_update", evmgr_timer_update(m, keys[6], 2000000));
  if (write(p[0][1], "x", 1) != 1 || write(p[1][1], "x", 1) != 1) die("write", errno);
  if (keys[2]) note("evmgr_fd_modify", evmgr_fd_modify(m, keys[2], EVMGR_READ | EVMGR_WRITE));
  note("evmgr_wakeup", evmgr_wakeup(m));
  for (int i = 0; i < 20; ++i) poll_once(m, 1000000);
  rc = evmgr_after_fork(m);
  note("evmgr_after_fork", rc);
  /* A failed after_fork leaves no kernel objects; a second try (the fault
   * was a single one) must give the manager working ones again. */
  if (rc != 0 && (rc = evmgr_after_fork(m)) != 0) die("evmgr_after_fork failed twice", rc);
  close(p[3][0]);
  close(p[3][1]);
  note("evmgr_check_closed_fds", evmgr_check_closed_fds(m));
  for (int i = 0; i < 5; ++i) poll_once(m, 0);

  /* Recovery: the manager still works. */
  memset(got, 0, sizeof got);
  int q[2];
  if (__real_pipe2(q, O_NONBLOCK | O_CLOEXEC) != 0) die("pipe2", errno);
  if (write(q[1], "y", 1) != 1) die("write", errno);
  evmgr_key k = 0;
  rc = evmgr_fd_register(m, q[0], EVMGR_READ, EVMGR_ONESHOT, 9, &k);
  if (rc != 0) die("register after the fault", rc);
  keys[9] = k;
  evmgr_key tk = 0;
  rc = evmgr_timer_add(m, 1000000, 10, &tk);
  if (rc != 0) die("timer after the fault", rc);
  keys[10] = tk;
  is_timer[10] = 1;
  const int64_t until = evmgr_now_ns() + 3000000000LL;
  while ((!got[9] || !got[10]) && evmgr_now_ns() < until) poll_once(m, 100000000);
  if (!got[9] || !got[10]) die("no event after the fault (fd, timer)", got[9] * 2 + got[10]);

  /* Consistency: drop everything held, drain, nothing left. */
  for (int t = 0; t < MAXK; ++t) {
    if (!keys[t]) continue;
    rc = is_timer[t] ? evmgr_timer_cancel(m, keys[t]) : evmgr_fd_unregister(m, keys[t]);
    if (rc != 0 && rc != ENOENT) die("unregister/cancel", rc);
    if (rc == ENOENT && (is_timer[t] || (t == 2 && !got_error[t]))) die("a held key was unknown", t);
    keys[t] = 0;
  }
  for (int i = 0; i < 3; ++i) poll_once(m, 0);
  const size_t left = evmgr_pending_count(m);
  if (left != 0) die("registrations left after dropping every key", (long)left);
  evmgr_free(m);
  for (int i = 0; i < 3; ++i) {
    close(p[i][0]);
    close(p[i][1]);
  }
  close(q[0]);
  close(q[1]);
  if (high >= 0) close(high);
  printf("OUTCOME %s\nOK\n", outcome);
  return 0;
}
