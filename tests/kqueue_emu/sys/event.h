/*
 * A small emulation of the BSD kqueue/kevent API on top of Linux epoll, for
 * tests only: it lets rts-manager/src/kqueue_backend.cpp be compiled and run
 * through the back-end conformance suite on Linux.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Semantics follow FreeBSD's kevent(2) where the back-end can observe them:
 *   - one knote per (ident, filter); EV_ADD of an existing knote modifies it
 *     (fflags, data, udata, EV_ENABLE/EV_DISABLE) but, as on FreeBSD, does
 *     NOT change its EV_ONESHOT/EV_DISPATCH/EV_CLEAR behaviour;
 *   - EV_DELETE of a missing knote: ENOENT; any change on an fd that is not
 *     open: EBADF; an unknown filter: EINVAL;
 *   - errors and EV_RECEIPT: an entry with flags == EV_ERROR and data == the
 *     errno (0 for success) per change, if the eventlist has room (else -1
 *     and errno for an error); when any such entry was returned, kevent
 *     returns without collecting events;
 *   - EV_ONESHOT deletes a knote once delivered, EV_DISPATCH disables it;
 *   - EV_CLEAR resets the state after delivery (edge-triggered);
 *   - EV_EOF on hang-up / peer close / a pipe's other end closed;
 *   - EVFILT_USER with NOTE_TRIGGER (and NOTE_FFAND/FFOR/FFCOPY);
 *   - knotes of a closed fd disappear (close() is not intercepted: the
 *     emulation notices through epoll, which drops the watch, and through
 *     the fd's identity (fstat) whenever it touches the knote again);
 *   - regular files (epoll: EPERM) are always ready for EVFILT_READ and
 *     EVFILT_WRITE. NOTE: real FreeBSD reports EVFILT_READ on a vnode only
 *     while the file offset is before EOF (unless NOTE_FILE_POLL); the
 *     emulation is ready even at EOF (data is still size - offset);
 *   - the kqueue fd is the epoll fd: it polls readable when kevent would
 *     return something; a copy of it (dup, F_DUPFD) works as well, found
 *     through /proc/self/fdinfo on first use; the emulation's own eventfd
 *     is numbered 3 or above, as it stands for kernel state, and is
 *     closed at the next kqueue() (or kqueue_emu_collect()) once no number
 *     names its kqueue;
 * Known gaps (not needed by the back-end): no EVFILT_TIMER/SIGNAL/PROC/VNODE
 * filters; EV_CLEAR on an fd is honoured only when every enabled knote of
 * that fd has it; a knote of a closed file that is still open elsewhere
 * (dup, fork) keeps reporting under epoll until its identity is checked;
 * fork: as on BSD, a kqueue is not inherited: a pthread_atfork child
 * handler closes the child's copies of every kqueue fd (so the number is
 * free for the child's next open) and forgets them.
 */
#ifndef EVMGR_TESTS_KQUEUE_EMU_SYS_EVENT_H
#define EVMGR_TESTS_KQUEUE_EMU_SYS_EVENT_H

/* Like the real <sys/event.h>, a system header: warnings such as -Wshadow
 * (the function kevent() hides struct kevent's implicit constructor in C++)
 * are not the includer's business. */
#if defined(__GNUC__)
#pragma GCC system_header
#endif

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kevent {
  uintptr_t ident;     /* identifier for this event (an fd, or a user id) */
  short filter;        /* EVFILT_* */
  unsigned short flags; /* EV_* action and state flags */
  unsigned int fflags; /* filter-specific flags (NOTE_*) */
  intptr_t data;       /* filter-specific data; the errno with EV_ERROR */
  void *udata;         /* opaque user data, returned unchanged */
};

#define EV_SET(kevp, a, b, c, d, e, f)          \
  do {                                          \
    struct kevent *ev_set_p_ = (kevp);          \
    ev_set_p_->ident = (uintptr_t)(a);          \
    ev_set_p_->filter = (short)(b);             \
    ev_set_p_->flags = (unsigned short)(c);     \
    ev_set_p_->fflags = (unsigned int)(d);      \
    ev_set_p_->data = (intptr_t)(e);            \
    ev_set_p_->udata = (void *)(f);             \
  } while (0)

/* Filters (FreeBSD's values). */
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_USER (-11)

/* Actions. */
#define EV_ADD 0x0001u     /* add the event, or modify it */
#define EV_DELETE 0x0002u  /* delete the event */
#define EV_ENABLE 0x0004u  /* enable the event */
#define EV_DISABLE 0x0008u /* disable it (not reported) */
/* Flags. */
#define EV_ONESHOT 0x0010u  /* delete after the first delivery */
#define EV_CLEAR 0x0020u    /* reset the state after delivery */
#define EV_RECEIPT 0x0040u  /* force an EV_ERROR entry per change */
#define EV_DISPATCH 0x0080u /* disable after delivery */
/* Returned values. */
#define EV_EOF 0x8000u   /* EOF detected */
#define EV_ERROR 0x4000u /* error; data is the errno */

/* EVFILT_USER fflags. */
#define NOTE_FFNOP 0x00000000u
#define NOTE_FFAND 0x40000000u
#define NOTE_FFOR 0x80000000u
#define NOTE_FFCOPY 0xc0000000u
#define NOTE_FFCTRLMASK 0xc0000000u
#define NOTE_FFLAGSMASK 0x00ffffffu
#define NOTE_TRIGGER 0x01000000u

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

/* Not BSD's: the emulation cannot see close(), so a closed kqueue's own
 * eventfd is freed when the emulation next looks (the next kqueue() call).
 * This looks now, for tests that count their open fds. */
void kqueue_emu_collect(void);

#ifdef __cplusplus
}
#endif

#endif /* EVMGR_TESTS_KQUEUE_EMU_SYS_EVENT_H */
