/* SPDX-License-Identifier: BSD-3-Clause
 *
 * no_io_uring ERRNO PROGRAM [ARGS...]: runs PROGRAM with io_uring_setup(2)
 * refused with ERRNO (EPERM, ENOSYS, or a number), the way a container
 * runtime's default seccomp profile or kernel.io_uring_disabled refuses it.
 * A seccomp filter, inherited by PROGRAM across exec; every other system
 * call is allowed. Used by the core's io_uring_refusal tests and by the
 * e2e suite's fallback cases.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#endif

static int parse_errno(const char *s) {
  if (strcmp(s, "EPERM") == 0) return EPERM;
  if (strcmp(s, "ENOSYS") == 0) return ENOSYS;
  if (strcmp(s, "EACCES") == 0) return EACCES;
  return atoi(s);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ERRNO PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  const int err = parse_errno(argv[1]);
  if (err <= 0 || err > 4095) {
    fprintf(stderr, "no_io_uring: bad errno `%s'\n", argv[1]);
    return 2;
  }
  struct sock_filter filter[] = {
#if defined(THIS_ARCH)
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
#endif
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("no_io_uring: seccomp");
    return 2;
  }
  execvp(argv[2], argv + 2);
  perror("no_io_uring: exec");
  return 127;
}
