/* evmgr_process.c: the two system calls System.Evmgr.Process needs, with
 * the wait status decoded in C (the W* macros are not visible to the FFI).
 * Part of the Haskell binding only, not of the C ABI in ffi/evmgr.h. */
#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#if defined(__linux__) && !defined(SYS_pidfd_open) && defined(__x86_64__)
#define SYS_pidfd_open 434 /* Linux 5.3; headers older than the kernel */
#endif

/* An fd that becomes readable when process `pid` exits (Linux >= 5.3;
 * always close-on-exec), or -errno: -ENOSYS where there is no pidfd. */
int evmgr_hs_pidfd_open(int pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    long r = syscall(SYS_pidfd_open, (pid_t)pid, 0);
    return r < 0 ? -errno : (int)r;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

/* Reaps child `pid` if it has exited, without blocking. Returns 1 and sets
 * *code to its exit status, or to minus the signal that killed it (as the
 * `process` package reports it); 0 if it is still running; -errno on error
 * (-ECHILD: not our child, or already reaped). */
int evmgr_hs_reap(int pid, int *code)
{
    int st;
    pid_t r;
    do {
        r = waitpid((pid_t)pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return 0;
    if (WIFEXITED(st))
        *code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        *code = -WTERMSIG(st);
    else
        return 0; /* stopped or continued: only reported with WUNTRACED */
    return 1;
}
