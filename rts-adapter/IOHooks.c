/* -----------------------------------------------------------------------------
 *
 * (c) The GHC Team 2026
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The I/O manager hooks of the non-threaded RTS (IOHooks.h): the choice made
 * by +RTS --io-manager, and each hook dispatched once to that choice:
 *
 *   evmgr   EvMgrIO.c          blocked threads as evmgr registrations
 *   select  rts/posix/Select.c GHC's original queues and select()
 *
 * Nothing here knows how either keeps its threads.
 *
 * ---------------------------------------------------------------------------*/

#include "evmgr/RtsVersion.h"
#include EVMGR_POSIX_SOURCE_H
#include "Rts.h"

#include "RtsUtils.h"
#include "Schedule.h"
#include "Capability.h"
#include "evmgr/IOHooks.h"

#if !defined(THREADED_RTS)
#if EVMGR_GHC_IOMANAGER_LAYER
#include "IOManager.h"      // awaitEvent(cap, wait)
#else
#include "AwaitEvent.h"     // awaitEvent(wait)
#endif
#include "posix/Select.h"
#include "evmgr/EvMgrIO.h"
#endif

#include "evmgr.h"

#include <errno.h>
#include <string.h>

/* Note [Choosing the I/O manager]
 * ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
 * +RTS --io-manager=<name> picks how the non-threaded RTS waits:
 *
 *   io_uring  Linux 5.11+ (the default there unless the kernel refuses
 *           io_uring: a seccomp profile, kernel.io_uring_disabled)
 *   epoll   Linux (the default there when io_uring is refused)
 *   kqueue  FreeBSD, macOS and the other BSDs (the default there)
 *   poll    poll(2): portable, O(n) per wait, no fd limit
 *   select  the original GHC implementation (Select.c): O(n) per scheduler
 *           pass, aborts on fds >= FD_SETSIZE. Kept as the way back.
 *   auto    the best the platform has and the kernel allows
 *           (evmgr_backend_resolve decides; a refused io_uring falls back to
 *           epoll silently, with a -Ds debug trace naming the reason)
 *
 * The evmgr names and their availability come from the evmgr C ABI
 * (evmgr_backend_parse, evmgr_backend_name, evmgr_backend_available); this
 * file adds only "select". If the default (auto) cannot be created at
 * start-up (no fd left, a sandbox without epoll), the RTS warns and falls
 * back to select rather than refuse to start; an explicit choice that
 * cannot be created is a fatal error naming the reason.
 *
 * The choice lives in the variables below, private to the RTS, and NOT in
 * RtsFlags.MiscFlags.ioManager: base's GHC.RTS.Flags peeks that field and
 * decodes it as IoSubSystem, which has two constructors (IoPOSIX, IoNative);
 * any third value would make getRTSFlags throw. `--io-manager=posix` and
 * `native` keep their old meaning (the MiscFlags field) and are handled by
 * RtsFlags.c before this parser sees the option.
 *
 * The threaded RTS accepts the same names (so one GHCRTS works for every
 * way) and ignores them: it waits in the Haskell I/O manager (GHC.Event).
 */
static bool use_select = false;
static evmgr_backend evmgr_choice = EVMGR_BACKEND_AUTO;

bool
setIOManagerByName(const char *name)
{
    evmgr_backend b;
    if (strcmp(name, "select") == 0) {
        use_select = true;
        return true;
    }
    // io_uring is accepted wherever this build has it, even if the kernel
    // refuses it: initIOManager then fails naming the kernel's reason.
    if (evmgr_backend_parse(name, &b) == 0 &&
        (evmgr_backend_available(b) ||
         (b == EVMGR_BACKEND_IO_URING && evmgr_backend_refusal(b) != EOPNOTSUPP))) {
        use_select = false;
        evmgr_choice = b;
        return true;
    }

    // List what this platform knows, in the C ABI's order.
    char known[64] = "";
    for (int i = EVMGR_BACKEND_EPOLL; i <= EVMGR_BACKEND_IO_URING; i++) {
        const char *n = evmgr_backend_name((evmgr_backend)i);
        if (n != NULL && evmgr_backend_available((evmgr_backend)i)) {
            strncat(known, n, sizeof(known) - strlen(known) - 1);
            strncat(known, ", ", sizeof(known) - strlen(known) - 1);
        }
    }
    errorBelch("unknown I/O manager `%s' in --io-manager=%s\n"
               "    (the non-threaded RTS knows: %sselect, auto; "
               "posix and native are the old names of the I/O subsystem)",
               name, name, known);
    return false;
}

#if defined(THREADED_RTS)

const char *
showIOManager(void)
{
    return "mio (threaded RTS: GHC.Event; --io-manager ignored)";
}

#else /* !THREADED_RTS */

/* A key must fit in block_info (one word). On a 32-bit platform it does not,
 * and select is the only I/O manager. */
#define EVMGR_KEY_FITS (SIZEOF_VOID_P >= 8)

/* Set by initIOManager: the evmgr manager runs. */
static bool evmgr_running = false;

#define USING_SELECT() (!evmgr_running)

const char *
showIOManager(void)
{
    if (use_select || !EVMGR_KEY_FITS) {
        return "select";
    }
    // Before initIOManager (+RTS --info) this is the back-end that will be
    // used; after it, the one in use.
    evmgr_backend b = evmgr_running ? evmgrIOBackend()
                                    : evmgr_backend_resolve(evmgr_choice);
    switch (b) {
    case EVMGR_BACKEND_EPOLL:  return "epoll (evmgr)";
    case EVMGR_BACKEND_KQUEUE: return "kqueue (evmgr)";
    case EVMGR_BACKEND_POLL:   return "poll (evmgr)";
    case EVMGR_BACKEND_IO_URING: return "io_uring (evmgr)";
    default:                   return "evmgr";
    }
}

/* -----------------------------------------------------------------------------
 * Life cycle
 * -------------------------------------------------------------------------- */

void
IOHOOK(initIOManager)(void)
{
    evmgr_running = false;
    if (use_select || !EVMGR_KEY_FITS) {
        debugTrace(DEBUG_sched, "I/O manager: select");
        return;
    }
    if (evmgr_choice == EVMGR_BACKEND_AUTO) {
        // auto: io_uring unless the kernel refuses it, then epoll, quietly.
        int why = evmgr_backend_refusal(EVMGR_BACKEND_IO_URING);
        if (why != 0) {
            debugTrace(DEBUG_sched, "I/O manager: io_uring refused (%s); "
                       "auto uses the next best", strerror(why));
        }
    }
    int r = evmgrIOInit(evmgr_choice);
    if (r != 0) {
        if (evmgr_choice == EVMGR_BACKEND_IO_URING) {
            errorBelch("cannot create the I/O manager `io_uring': "
                       "io_uring_setup failed: %s%s", strerror(r),
                       r == EPERM ? " (refused by a seccomp profile or "
                                    "kernel.io_uring_disabled)"
                       : r == ENOSYS ? " (kernel without io_uring, or "
                                       "older than Linux 5.11)"
                       : "");
            stg_exit(EXIT_FAILURE);
        }
        if (evmgr_choice == EVMGR_BACKEND_AUTO) {
            errorBelch("warning: cannot create the event manager (%s); "
                       "falling back to --io-manager=select", strerror(r));
            use_select = true;
            return;
        }
        errorBelch("cannot create the I/O manager `%s': %s",
                   evmgr_backend_name(evmgr_choice), strerror(r));
        stg_exit(EXIT_FAILURE);
    }
    evmgr_running = true;
    debugTrace(DEBUG_sched, "I/O manager: %s",
               evmgr_backend_name(evmgrIOBackend()));
}

void
IOHOOK(exitIOManager)(void)
{
    if (evmgr_running) {
        evmgrIOExit();
        evmgr_running = false;
    }
}

void
ioManagerAfterForkChild(void)
{
    if (evmgr_running) evmgrIOAfterForkChild();
}

/* -----------------------------------------------------------------------------
 * The hooks: one dispatch each
 * -------------------------------------------------------------------------- */

void
syncIOWaitReady(Capability *cap STG_UNUSED, StgTSO *tso, StgWord is_write,
                StgWord fd)
{
    ASSERT(tso->why_blocked == (is_write ? BlockedOnWrite : BlockedOnRead));
    ASSERT(tso->_link == END_TSO_QUEUE);
    if (USING_SELECT()) selectWaitReady(tso, fd);
    else                evmgrIOWaitReady(tso, is_write, fd);
}

void
syncDelay(Capability *cap, StgTSO *tso, StgInt us)
{
    ASSERT(tso->why_blocked == BlockedOnDelay);
    ASSERT(tso->_link == END_TSO_QUEUE);
    if (USING_SELECT()) selectDelay(cap, tso, us);
    else                evmgrIODelay(tso, us);
}

void
syncIOCancel(Capability *cap, StgTSO *tso)
{
    if (USING_SELECT()) selectCancel(cap, tso);
    else                evmgrIOCancel(cap, tso);
}

bool
IOHOOK(anyPendingTimeoutsOrIO)(void)
{
    return USING_SELECT() ? selectAnyPending() : evmgrIOAnyPending();
}

void
awaitCompletedTimeoutsOrIO(bool wait)
{
#if EVMGR_GHC_IOMANAGER_LAYER
    if (USING_SELECT()) awaitEvent(&MainCapability, wait);
#else
    if (USING_SELECT()) awaitEvent(wait);
#endif
    else                evmgrIOAwait(wait);
}

void
interruptIOManager(void)
{
    // select needs nothing: the signal interrupts select() itself.
    if (evmgr_running) evmgrIOInterrupt();
}

void
markIOManager(evac_fn evac, void *user)
{
    // select's queues are marked by markScheduler itself.
    if (evmgr_running) evmgrIOMark(evac, user);
}

void
printIOManagerBlockage(StgTSO *tso)
{
    if (USING_SELECT()) selectPrintBlockage(tso);
    else                evmgrIOPrintBlockage(tso);
}

#endif /* !THREADED_RTS */
