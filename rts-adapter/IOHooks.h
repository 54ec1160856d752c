/* -----------------------------------------------------------------------------
 *
 * (c) The GHC Team 2026
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The I/O manager hooks of the non-threaded RTS: every call the scheduler,
 * the primops, the GC, forkProcess and the signal code make to wait for fds
 * and timeouts. IOHooks.c dispatches each hook, once, to the I/O manager
 * chosen at start-up (+RTS --io-manager, see Note [Choosing the I/O
 * manager] in IOHooks.c):
 *
 *   - evmgr (EvMgrIO.c): the evmgr event manager (epoll, kqueue or poll);
 *   - select (rts/posix/Select.c): GHC's original implementation, with its
 *     blocked_queue and sleeping_queue.
 *
 * In the GHC tree this directory is rts/evmgr/ (a link to evmgr's
 * rts-adapter/ made by the build), so RTS files include "evmgr/IOHooks.h".
 *
 * The threaded RTS waits in the Haskell I/O manager (GHC.Event) and calls
 * none of the wait hooks; only the option parsing and --info hooks exist
 * there. The hooks mirror those of rts/IOManager.h in later GHCs; how each
 * maps onto them is in evmgr's docs/design.md, "Forward port".
 *
 * ---------------------------------------------------------------------------*/

#pragma once

#include "evmgr/RtsVersion.h"

#include "BeginPrivate.h"

/* IOHOOK(name): the name a hook has in the RTS it is compiled into. GHC 9.6
 * and later define initIOManager, exitIOManager and anyPendingTimeoutsOrIO
 * in their own hook layer (rts/IOManager.c, see EVMGR_GHC_IOMANAGER_LAYER in
 * RtsVersion.h); there these three hooks are called by GHC's, as
 * initIOManagerPosix etc. (the non-threaded POSIX I/O manager's half).
 * Every other hook has the same name and shape in every version. */
#if EVMGR_GHC_IOMANAGER_LAYER
#define IOHOOK(name) name##Posix
#else
#define IOHOOK(name) name
#endif

/* ---- Start-up, option parsing (all ways) -------------------------------- */

/* Parses the argument of +RTS --io-manager=<name> ("select", "auto", or an
 * evmgr back-end: "epoll", "kqueue", "poll"). Stores the choice in an
 * RTS-private variable, never in RtsFlags (base decodes
 * RtsFlags.MiscFlags.ioManager and knows only two values). Returns false,
 * after an errorBelch naming the known names, on an unknown name.
 * Called by: setupRtsFlags (RtsFlags.c), before the RTS is initialised. */
bool setIOManagerByName(const char *name);

/* Name of the I/O manager in use (or that will be used), for +RTS --info:
 * "epoll (evmgr)", "kqueue (evmgr)", "poll (evmgr)" or "select"
 * (non-threaded), a description of GHC.Event (threaded). Never NULL. */
const char *showIOManager(void);

#if !defined(THREADED_RTS)

/* ---- Life cycle --------------------------------------------------------- */

/* Creates the chosen I/O manager. Called by: initScheduler (9.0);
 * initIOManager, late in hs_init_ghc (9.6). Post: the hooks below may be
 * called. */
void IOHOOK(initIOManager)(void);

/* Frees it. Called by: freeScheduler (9.0), exitIOManager (9.6), when no
 * Haskell thread runs. */
void IOHOOK(exitIOManager)(void);

/* In the child of forkProcess, before any thread is deleted: gives the
 * manager kernel objects of its own (Note [forkProcess] in EvMgrIO.c).
 * Called by: forkProcess, child side. */
void ioManagerAfterForkChild(void);

/* ---- Blocking a thread (called from the primops, Cmm) -------------------- */

/* Blocks `tso` until `fd` is readable (is_write == 0) or writable. The
 * caller has set tso->why_blocked to BlockedOnRead / BlockedOnWrite and will
 * jump to stg_block_noregs. Never fails: a bad fd makes the thread receive
 * blockedOnBadFD at the next scheduler pass, as with select (#4934).
 * Called by: stg_waitReadzh, stg_waitWritezh. */
void syncIOWaitReady(Capability *cap, StgTSO *tso, StgWord is_write,
                     StgWord fd);

/* Blocks `tso` for at least `us` microseconds (<= 0: until the next
 * scheduler pass; any large value is clamped, never overflows). The caller
 * has set tso->why_blocked = BlockedOnDelay. Called by: stg_delayzh. */
void syncDelay(Capability *cap, StgTSO *tso, StgInt us);

/* Removes `tso` (BlockedOnRead, BlockedOnWrite or BlockedOnDelay) from the
 * I/O manager: its wait is cancelled and will never be delivered.
 * Called by: removeFromQueues (throwTo: killThread, timeout, forkProcess's
 * deleteThread). Post: the caller may put tso on the run queue. */
void syncIOCancel(Capability *cap, StgTSO *tso);

/* ---- The scheduler ------------------------------------------------------- */

/* True when some thread waits for I/O or a timeout (or for the blockedOnBadFD
 * exception it is owed). Called by: the scheduler (emptyThreadQueues,
 * scheduleCheckBlockedThreads), deleteAllThreads (assertion); on 9.6 through
 * GHC's anyPendingTimeoutsOrIO(cap->iomgr). */
#if !EVMGR_GHC_IOMANAGER_LAYER
bool IOHOOK(anyPendingTimeoutsOrIO)(void);
#endif
/* (9.6: GHC's rts/IOManager.h declares it, for its inline
 * anyPendingTimeoutsOrIO; declaring it twice would trip -Wredundant-decls.) */

/* Wakes the threads whose fds are ready or whose delays expired; with `wait`
 * blocks until at least one thread could be woken, a signal arrived or the
 * RTS is interrupted. Called by: scheduleCheckBlockedThreads (the old
 * awaitEvent call). */
void awaitCompletedTimeoutsOrIO(bool wait);

/* Makes a blocked awaitCompletedTimeoutsOrIO return promptly.
 * Async-signal-safe. Called by: the RTS's signal handler (generic_handler),
 * interruptStgRts. */
void interruptIOManager(void);

/* ---- The GC -------------------------------------------------------------- */

/* Evacuates every TSO pointer the I/O manager holds outside the heap
 * (Note [GC roots] in EvMgrIO.c). Called by: markScheduler (9.0),
 * markCapabilityIOManager (9.6). */
void markIOManager(evac_fn evac, void *user);

/* ---- Debugging ----------------------------------------------------------- */

/* debugBelch's why `tso` (BlockedOnRead/Write/Delay) is blocked.
 * Called by: printThreadBlockage. */
void printIOManagerBlockage(StgTSO *tso);

#endif /* !THREADED_RTS */

#include "EndPrivate.h"
