/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Fault injection: which call fails, and how (see tests/fault/README.md).
 *
 * EVMGR_FAULT="call:N:ERRNO[,call:N:ERRNO...]" makes the Nth call (1-based,
 * counted per call name) of `call` fail with ERRNO; "N+" fails the Nth and
 * every later one. EVMGR_FAULT_LOG=1 reports each injected failure on
 * stderr; EVMGR_FAULT_COUNT=FILE writes how often each call was made at
 * exit (to size a sweep over N).
 *
 * Shared by the two ways of interposing: link-time wrapping of the core's
 * own calls (-Wl,--wrap, fault_wrap.c) for the C driver, and an LD_PRELOAD
 * library (fault_preload.c) for the patched GHC's programs.
 */
#ifndef EVMGR_FAULT_H
#define EVMGR_FAULT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fault_call {
  F_EPOLL_CREATE1, F_EPOLL_CTL, F_EVENTFD, F_EPOLL_WAIT, F_POLL, F_FCNTL, F_PIPE2,
  F_MALLOC, F_REALLOC, F_POSIX_MEMALIGN, F_WRITE, F_READ, F_IO_URING_SETUP,
  F_IO_URING_ENTER, F_NCALLS
};
static const char *const fault_names[F_NCALLS] = {
  "epoll_create1", "epoll_ctl", "eventfd", "epoll_wait", "poll", "fcntl", "pipe2",
  "malloc", "realloc", "posix_memalign", "write", "read", "io_uring_setup", "io_uring_enter"};

#define FAULT_MAX_RULES 8
struct fault_rule { int call; unsigned long nth; int every_after; int err; };
static struct fault_rule fault_rules[FAULT_MAX_RULES];
static int fault_nrules = -1;
static unsigned long fault_counts[F_NCALLS];
static int fault_log;

static int fault_errno_of(const char *s) {
  static const struct { const char *name; int value; } names[] = {
    {"ENOMEM", ENOMEM}, {"ENOSPC", ENOSPC}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE},
    {"EINTR", EINTR}, {"EAGAIN", EAGAIN}, {"EBADF", EBADF}, {"EPERM", EPERM},
    {"EINVAL", EINVAL}, {"EIO", EIO}, {"ENOSYS", ENOSYS}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
    if (strcmp(s, names[i].name) == 0) return names[i].value;
  return atoi(s);
}

static void fault_write_counts(void) {
  const char *path = getenv("EVMGR_FAULT_COUNT");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (!f) return;
  for (int i = 0; i < F_NCALLS; ++i) fprintf(f, "%s %lu\n", fault_names[i], fault_counts[i]);
  fclose(f);
}

static void fault_init(void) {
  char spec[512];
  const char *env = getenv("EVMGR_FAULT");
  fault_nrules = 0;
  fault_log = getenv("EVMGR_FAULT_LOG") != NULL;
  if (getenv("EVMGR_FAULT_COUNT")) atexit(fault_write_counts);
  if (!env) return;
  snprintf(spec, sizeof spec, "%s", env);
  for (char *save = NULL, *tok = strtok_r(spec, ",", &save); tok && fault_nrules < FAULT_MAX_RULES;
       tok = strtok_r(NULL, ",", &save)) {
    char *n = strchr(tok, ':');
    char *e = n ? strchr(n + 1, ':') : NULL;
    if (!e) continue;
    *n++ = '\0';
    *e++ = '\0';
    for (int c = 0; c < F_NCALLS; ++c) {
      if (strcmp(tok, fault_names[c]) != 0) continue;
      struct fault_rule *r = &fault_rules[fault_nrules++];
      r->call = c;
      r->nth = strtoul(n, NULL, 10);
      r->every_after = strchr(n, '+') != NULL;
      r->err = fault_errno_of(e);
    }
  }
}

/* Counts one call; nonzero (the errno to fail with) when it must fail. */
static int fault_hit(int call) {
  if (fault_nrules < 0) fault_init();
  const unsigned long n = __atomic_add_fetch(&fault_counts[call], 1, __ATOMIC_RELAXED);
  for (int i = 0; i < fault_nrules; ++i) {
    const struct fault_rule *r = &fault_rules[i];
    if (r->call == call && (n == r->nth || (r->every_after && n > r->nth))) {
      if (fault_log) {
        static const char msg[] = "evmgr-fault: injected\n";
        /* no stdio: malloc may be the failing call */
        if (write(2, msg, sizeof msg - 1) < 0) {}
      }
      return r->err;
    }
  }
  return 0;
}

/* In a wrapper of `call`: when this is the call's Nth hit, fail it with the
 * configured errno and `value` (both interposers use it). */
#define FAIL_WITH(call, value)             \
  do {                                     \
    const int fault_err = fault_hit(call); \
    if (fault_err) {                       \
      errno = fault_err;                   \
      return value;                        \
    }                                      \
  } while (0)

#endif
