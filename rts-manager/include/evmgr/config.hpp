// SPDX-License-Identifier: BSD-3-Clause
//
// Which back-ends this platform has, decided by the compiler from the
// platform itself, so that every build of the core (CMake, cabal, GHC's
// rts/ghc.mk, the fast-path script) agrees without passing a switch.
//
// A build may still set EVMGR_HAVE_EPOLL / EVMGR_HAVE_KQUEUE to 0 or 1
// (the test suite compiles the kqueue back-end on Linux against an
// emulation of kevent, and can build a poll-only core).
#pragma once

#if !defined(EVMGR_HAVE_EPOLL)
#if defined(__linux__)
#define EVMGR_HAVE_EPOLL 1
#else
#define EVMGR_HAVE_EPOLL 0
#endif
#endif

// ppoll(2), poll(2) with a nanosecond timeout: Linux and the BSDs; macOS
// has only poll(2), whose timeout is in milliseconds.
#if !defined(EVMGR_HAVE_PPOLL)
#if defined(__linux__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__DragonFly__)
#define EVMGR_HAVE_PPOLL 1
#else
#define EVMGR_HAVE_PPOLL 0
#endif
#endif

#if !defined(EVMGR_HAVE_KQUEUE)
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#define EVMGR_HAVE_KQUEUE 1
#else
#define EVMGR_HAVE_KQUEUE 0
#endif
#endif

// io_uring (Linux 5.11+ at run time: the back-end checks the features it
// needs and `auto` falls back to epoll when the kernel refuses a ring).
#if !defined(EVMGR_HAVE_IO_URING)
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#define EVMGR_HAVE_IO_URING 1
#endif
#endif
#endif
#if !defined(EVMGR_HAVE_IO_URING)
#define EVMGR_HAVE_IO_URING 0
#endif
