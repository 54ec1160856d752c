/* -----------------------------------------------------------------------------
 *
 * (c) The GHC Team 2026
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The evmgr I/O manager of the non-threaded RTS: blocked threads as
 * registrations of the evmgr event manager.
 *
 * Why
 * ---
 * The non-threaded RTS used to wait with select() (rts/posix/Select.c):
 * every scheduler pass rebuilt two fd_sets from the whole blocked_queue
 * (O(n) per pass), threadDelay inserted into a sorted list (O(n) per call,
 * in Cmm), and any fd >= FD_SETSIZE (1024) aborted the program. This file
 * puts the evmgr event manager (ffi/evmgr.h: epoll, kqueue or poll back-end,
 * a timer heap) behind the same scheduler hooks (IOHooks.h):
 *
 *   waitRead#/waitWrite# -> one one-shot fd registration  (O(1))
 *   delay#               -> one timer                     (O(log n))
 *   killThread/timeout   -> unregister / cancel           (O(1) / O(log n))
 *   scheduler pass       -> one evmgr_poll, cost ~ the number of ready events
 *
 * Invariants
 * ----------
 * For a thread `tso` with why_blocked in {BlockedOnRead, BlockedOnWrite,
 * BlockedOnDelay}, when the evmgr manager is in use:
 *
 *   - either tso->block_info.target holds the evmgr_key of the one live
 *     registration (fd or timer) whose token is the TSO's address,
 *   - or block_info.target == 0 and tso is on bad_fd_queue (linked through
 *     tso->_link): registering failed and the thread is owed blockedOnBadFD.
 *
 *   n_waiting counts the live registrations; anyPendingTimeoutsOrIO() is
 *   n_waiting > 0 || bad_fd_queue is non-empty.
 *
 * The GC does not look at block_info in these three states (scavengeTSO,
 * thread_TSO and the non-moving mark only follow it for MVar, black hole,
 * throwTo, IOCompletion and NotBlocked), so a key is a plain word there,
 * exactly like the fd and the wake-up time the select implementation stores.
 * A thread leaves those states only through this file (an event, a raised
 * blockedOnBadFD) or through removeFromQueues -> syncIOCancel; in every case
 * the registration is gone before appendToRunQueue reuses block_info.prev.
 *
 * Only IOHooks.c calls into this file, and only while the evmgr manager
 * runs; with --io-manager=select nothing here is used.
 *
 * ---------------------------------------------------------------------------*/

#include "evmgr/RtsVersion.h"
#include EVMGR_POSIX_SOURCE_H
#include "Rts.h"

#include "RtsUtils.h"
#include "Schedule.h"
#include "Capability.h"
#include "RaiseAsync.h"
#include "Threads.h"
#include "Prelude.h"
#include "RtsSignals.h"
#include "Trace.h"
#include "evmgr/EvMgrIO.h"

#include "evmgr.h"

#include <errno.h>
#include <string.h>

#if !defined(THREADED_RTS)

/* The manager; NULL before evmgrIOInit and after evmgrIOExit. */
static evmgr_manager *mgr = NULL;

/* Number of live registrations we made (one per blocked thread). */
static StgWord n_waiting = 0;

/* Threads whose registration failed; they get blockedOnBadFD at the next
 * evmgrIOAwait. Linked through tso->_link. A GC root. */
static StgTSO *bad_fd_queue = END_TSO_QUEUE;

/* Note [Closed fds when idle]
 * ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
 * epoll and kqueue forget a watch when its file is closed, and a closed fd
 * number may be reused by another file: a thread waiting on it would wait
 * forever. The core finds such fds with its closed-fd sweep
 * (evmgr_check_closed_fds: one poll(2) per 256 waited fds, plus a probe of
 * whether each number still names its file), and the waiting threads get
 * the IOError a closed fd gives (blockedOnBadFD, as select's EBADF path).
 *
 * Left to itself the core sweeps every 250 ms and cuts every blocking wait
 * to that period, so a program whose threads all wait made 8 syscalls a
 * second forever; stock select makes none. But in the non-threaded RTS no
 * Haskell code runs while the scheduler waits here, so no Haskell code can
 * have closed an fd since the last sweep unless the scheduler ran threads
 * since. We therefore turn the core's periodic sweep off and run it
 * ourselves:
 *
 *   - haskell_ran_since_sweep is set whenever we return to the scheduler
 *     (it may then run threads) and cleared by each sweep;
 *   - a sweep runs when one is due (CLOSED_FD_SWEEP_NS after the last) and
 *     Haskell code ran since the last: in non-blocking polls while threads
 *     run, and before a blocking wait;
 *   - a blocking wait with a sweep owed but not yet due waits at most until
 *     it is due; with none owed it waits without limit.
 *
 * So a fd closed by Haskell code is noticed within CLOSED_FD_SWEEP_NS, as
 * before, and a program whose threads all wait makes at most one more
 * sweep after it settles, then no syscall at all.
 *
 * A C library's own OS thread can close an fd while every Haskell thread
 * waits; then nothing is swept until Haskell code runs again (a timer, an
 * fd event, a signal handler). Stock select is no better: a close() from
 * another thread does not interrupt a select() either (it sees EBADF only
 * at its next call), so a thread waiting on such an fd waits as it would
 * on stock, until anything else wakes the RTS.
 */
#define CLOSED_FD_SWEEP_NS 250000000
static bool haskell_ran_since_sweep = true;
static int64_t next_sweep_ns = 0;

/* Runs the closed-fd sweep if one is owed and due at `now`. */
static void
sweepClosedFdsIfDue(int64_t now)
{
    if (!haskell_ran_since_sweep || now < next_sweep_ns) return;
    haskell_ran_since_sweep = false;
    next_sweep_ns = now + CLOSED_FD_SWEEP_NS;
    int r = evmgr_check_closed_fds(mgr);
    if (r != 0) {
        // ENOMEM: part of the fds went unchecked; try again next time.
        haskell_ran_since_sweep = true;
        debugTrace(DEBUG_sched, "closed-fd sweep: %s", strerror(r));
    }
}

/* evmgr_poll copies at most this many events per call; more stay queued in
 * the manager and are fetched by the next call (with timeout 0). */
#define EVENT_BATCH 256
static evmgr_event events[EVENT_BATCH];

/* -----------------------------------------------------------------------------
 * Life cycle
 * -------------------------------------------------------------------------- */

int
evmgrIOInit(evmgr_backend backend)
{
    bad_fd_queue = END_TSO_QUEUE;
    n_waiting = 0;
    mgr = NULL;
    // One OS thread makes every call but evmgr_wakeup (the non-threaded
    // RTS): the manager takes no lock.
    int r = evmgr_new_with(backend, EVMGR_SINGLE_THREADED, &mgr);
    if (r == 0) {
        // We run the closed-fd sweep ourselves: Note [Closed fds when idle].
        evmgr_set_closed_fd_check_interval(mgr, 0);
        haskell_ran_since_sweep = true;
        next_sweep_ns = evmgr_now_ns() + CLOSED_FD_SWEEP_NS;
    }
    return r;
}

evmgr_backend
evmgrIOBackend(void)
{
    return evmgr_backend_of(mgr);
}

void
evmgrIOExit(void)
{
    // No Haskell thread runs any more; pending registrations (threads that
    // were never woken) are dropped with the manager.
    evmgr_free(mgr);
    mgr = NULL;
    n_waiting = 0;
    bad_fd_queue = END_TSO_QUEUE;
}

/* Note [forkProcess]
 * ~~~~~~~~~~~~~~~~~~
 * After fork() the child shares the parent's epoll (or kqueue) object and the
 * manager's wake-up channel: an epoll_ctl in the child would change the
 * parent's watch set. So the child's first call on the manager is
 * evmgr_after_fork(), which gives it kernel objects of its own and re-arms
 * every registration there. forkProcess then deletes every thread of the
 * parent; each blocked one goes through removeFromQueues -> syncIOCancel -> evmgrIOCancel,
 * which removes its registration from the (now private) manager, so the
 * child starts with n_waiting == 0 and only its own waits.
 *
 * The old manager is never evmgr_free'd in the child: freeing could delete
 * the parent's watches from the shared kernel object. If evmgr_after_fork
 * fails we leak it and make a fresh manager; the cancels that follow then
 * meet stale keys (ENOENT, harmless) and n_waiting is reset below.
 */
void
evmgrIOAfterForkChild(void)
{
    int r = evmgr_after_fork(mgr);
    if (r != 0) {
        errorBelch("warning: forkProcess: evmgr_after_fork: %s; "
                   "starting a fresh event manager", strerror(r));
        evmgr_manager *fresh = NULL;
        r = evmgr_new_with(evmgr_backend_of(mgr), EVMGR_SINGLE_THREADED, &fresh);
        if (r != 0) {
            errorBelch("forkProcess: cannot create the I/O manager: %s",
                       strerror(r));
            stg_exit(EXIT_FAILURE);
        }
        // Sweeps stay ours, as in evmgrIOInit: Note [Closed fds when idle].
        evmgr_set_closed_fd_check_interval(fresh, 0);
        mgr = fresh;  // the old one is leaked on purpose, see the Note
        // Threads still hold keys of the old manager; evmgrIOCancel copes
        // with ENOENT, and the counter is recomputed as they are deleted.
    }
}

/* -----------------------------------------------------------------------------
 * Blocking
 * -------------------------------------------------------------------------- */

static void
enqueueBadFd(StgTSO *tso, int err)
{
    debugTrace(DEBUG_sched, "thread %lu: cannot wait on fd %d: %s",
               (unsigned long)tso->id, (int)tso->block_info.fd, strerror(err));
    tso->block_info.target = 0;
    tso->_link = bad_fd_queue;
    bad_fd_queue = tso;
    (void)err;
}

void
evmgrIOWaitReady(StgTSO *tso, StgWord is_write, StgWord fd)
{
    evmgr_key key = 0;
    int r = evmgr_fd_register(mgr, (int)(StgInt)fd,
                              is_write ? EVMGR_WRITE : EVMGR_READ,
                              EVMGR_ONESHOT, (uintptr_t)tso, &key);
    if (r != 0) {
        // EBADF (not open), EINVAL, ENOMEM, ENOSPC...: like select's EBADF
        // path, the thread gets blockedOnBadFD (an IOError) at the next
        // scheduler pass. It cannot be raised here: we are in a primop.
        tso->block_info.fd = (StgInt)fd;
        enqueueBadFd(tso, r);
        return;
    }
    tso->block_info.target = (StgWord)key;
    n_waiting++;
    debugTrace(DEBUG_sched, "thread %lu waits to %s fd %d (key 0x%" FMT_HexWord64 ")",
               (unsigned long)tso->id, is_write ? "write" : "read",
               (int)(StgInt)fd, (StgWord64)key);
}

void
evmgrIODelay(StgTSO *tso, StgInt us)
{
    // The C ABI converts (saturating, <= 0 means "at the next poll"), so
    // threadDelay maxBound does not overflow.
    evmgr_key key = 0;
    int r = evmgr_timer_add(mgr, evmgr_ns_from_us((int64_t)us), (uintptr_t)tso, &key);
    if (r != 0) {
        // Only ENOMEM is possible; there is no exception a delay can raise.
        errorBelch("threadDelay: cannot add a timer: %s", strerror(r));
        stg_exit(EXIT_FAILURE);
    }
    tso->block_info.target = (StgWord)key;
    n_waiting++;
    debugTrace(DEBUG_sched, "thread %lu sleeps %ld us (key 0x%" FMT_HexWord64 ")",
               (unsigned long)tso->id, (long)us, (StgWord64)key);
}

/* Note [Async exceptions and blocked threads]
 * ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
 * throwTo to a thread blocked in waitRead#/waitWrite#/delay# (killThread,
 * System.Timeout.timeout, forkProcess's deleteThread) goes through
 * removeFromQueues, which calls syncIOCancel before putting the thread on
 * the run queue (which overwrites block_info). The registration is removed
 * from the manager, and an event of it already queued in the manager is
 * dropped with it (evmgr guarantees that), so no stale wake-up can ever hit
 * the thread later, when it waits for something else or has died. The fd
 * itself is untouched: the thread (or another) may wait on it again at once.
 * Events are copied out of the manager only inside
 * awaitCompletedTimeoutsOrIO and handled before it returns, so there is no
 * window in which an event has left the manager but not yet reached its
 * thread.
 */
void
evmgrIOCancel(Capability *cap, StgTSO *tso)
{
    evmgr_key key = (evmgr_key)tso->block_info.target;
    if (key == 0) {
        // Owed blockedOnBadFD; the new exception replaces it.
        removeThreadFromQueue(cap, &bad_fd_queue, tso);
        return;
    }

    int r;
    switch (tso->why_blocked) {
    case BlockedOnRead:
    case BlockedOnWrite:
        r = evmgr_fd_unregister(mgr, key);
        break;
    case BlockedOnDelay:
        r = evmgr_timer_cancel(mgr, key);
        break;
    default:
        barf("syncIOCancel: thread %lu is not blocked on I/O (%d)",
             (unsigned long)tso->id, tso->why_blocked);
    }
    // ENOENT only after a failed evmgr_after_fork (see Note [forkProcess]).
    if (r != 0 && r != ENOENT) {
        errorBelch("warning: cancelling the wait of thread %lu: %s",
                   (unsigned long)tso->id, strerror(r));
    }
    ASSERT(n_waiting > 0);
    if (n_waiting > 0) n_waiting--;
    tso->block_info.target = 0;
    debugTrace(DEBUG_sched, "thread %lu: wait cancelled", (unsigned long)tso->id);
}

/* -----------------------------------------------------------------------------
 * Waiting
 * -------------------------------------------------------------------------- */

bool
evmgrIOAnyPending(void)
{
    return n_waiting != 0 || bad_fd_queue != END_TSO_QUEUE;
}

/* Raises blockedOnBadFD in every thread of bad_fd_queue. True if any. */
static bool
raiseBadFdThreads(void)
{
    bool woke = false;
    while (bad_fd_queue != END_TSO_QUEUE) {
        StgTSO *tso = bad_fd_queue;
        bad_fd_queue = tso->_link;
        tso->_link = END_TSO_QUEUE;
        debugTrace(DEBUG_sched, "killing thread %lu blocked on bad fd",
                   (unsigned long)tso->id);
        // raiseAsync sets why_blocked = NotBlocked and queues the thread.
        raiseAsync(&MainCapability, tso,
                   (StgClosure *)blockedOnBadFD_closure, false, NULL);
        woke = true;
    }
    return woke;
}

/* Note [Woken threads go to the front]
 * ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
 * A thread woken by an fd event or an expired delay is pushed on the FRONT
 * of the run queue, as stock's select path does (wakeUpSleepingThreads and
 * awaitEvent in Select.c call pushOnRunQueue). Two things follow, and both
 * are stock behaviour a program may rely on:
 *
 *   - latency: the woken thread runs at the next context switch, not after
 *     every runnable thread has had its time slice. With eight CPU-bound
 *     threads and the default 20 ms slice, a 5 ms threadDelay appended to
 *     the queue overslept by ~160 ms; pushed, it oversleeps by at most
 *     about one slice (the scheduler polls the manager at every context
 *     switch while threads wait);
 *   - order: threads woken by one poll run in the reverse of the order the
 *     manager delivered them. The manager delivers the waiters of one fd in
 *     the order they registered and expired delays by deadline, so, as
 *     with select, the last thread to block on a ready fd runs first, and
 *     of two delays that expire in the same poll the later one runs first.
 *
 * A thread owed blockedOnBadFD (raiseBadFdThreads, an fd closed while
 * waited on) is queued by raiseAsync, as in Select.c.
 */

/* Hands one event to its thread. */
static void
dispatchEvent(const evmgr_event *ev)
{
    StgTSO *tso = (StgTSO *)ev->token;

    ASSERT(LOOKS_LIKE_CLOSURE_PTR(tso));
    ASSERT(tso->why_blocked == BlockedOnRead
           || tso->why_blocked == BlockedOnWrite
           || tso->why_blocked == BlockedOnDelay);
    ASSERT((evmgr_key)tso->block_info.target == ev->key);

    ASSERT(n_waiting > 0);
    if (n_waiting > 0) n_waiting--;
    tso->block_info.target = 0;

    if (ev->events & EVMGR_CLOSED) {
        // The fd was closed while the thread waited on it: the same
        // IOError select gives for EBADF (#4934). The manager has removed
        // the registration already.
        debugTrace(DEBUG_sched, "thread %lu: fd %d closed while waiting",
                   (unsigned long)tso->id, (int)ev->fd);
        raiseAsync(&MainCapability, tso,
                   (StgClosure *)blockedOnBadFD_closure, false, NULL);
        return;
    }

    // READ/WRITE (possibly with ERROR: the thread's next read or write
    // reports it, as after select) or TIMEOUT.
    debugTrace(DEBUG_sched, "waking up thread %lu (fd %d, events %#x)",
               (unsigned long)tso->id, (int)ev->fd, (unsigned)ev->events);
    tso->why_blocked = NotBlocked;
    tso->_link = END_TSO_QUEUE;
    // See Note [Woken threads go to the front].
    pushOnRunQueue(&MainCapability, tso);
}

/* Note [Signals and the non-threaded I/O manager]
 * ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
 * A Haskell signal handler (installHandler) must run promptly even when
 * every thread sleeps. The RTS's handler (generic_handler, Signals.c) only
 * records the signal; the scheduler must notice. Two things make it so:
 *
 *   1. evmgr_poll returns -EINTR when the signal interrupts it, as select
 *      does; we then start the handlers (startSignalHandlers), as Select.c.
 *   2. generic_handler also calls interruptIOManager() -> evmgr_wakeup(),
 *      which is async-signal-safe. This closes the window between our check
 *      of signals_pending() and the moment evmgr_poll blocks, and covers a
 *      signal delivered to another OS thread (the ticker blocks all signals,
 *      but a C library's thread may not): the wait returns 0 events and we
 *      look at signals_pending() again.
 *
 * interruptStgRts (^C, hs_exit) calls interruptIOManager too, so a wait
 * returns when sched_state becomes SCHED_INTERRUPTING.
 */
void
evmgrIOInterrupt(void)
{
    evmgr_manager *m = mgr;
    if (m != NULL) {
        (void)evmgr_wakeup(m);
    }
}

/* Returns true when the scheduler must regain control instead of waiting
 * again: signal handlers were started, the RTS is interrupted, or a thread
 * became runnable. */
static bool
mustReturnToScheduler(void)
{
#if defined(RTS_USER_SIGNALS)
    if (RtsFlags.MiscFlags.install_signal_handlers && signals_pending()) {
        startSignalHandlers(&MainCapability);
        return true;
    }
#endif
    if (sched_state >= SCHED_INTERRUPTING) {
        return true;
    }
    return !emptyRunQueue(&MainCapability);
}

/* Note [Fewer polls]
 * ~~~~~~~~~~~~~~~~~~
 * The non-threaded scheduler calls awaitCompletedTimeoutsOrIO on every pass
 * while any thread waits: with `wait` when the run queue is empty (we must
 * block until something happens), without it otherwise. Most of the
 * non-blocking calls are pointless: in a ping-pong the pass right after a
 * blocking poll woke the other thread polls again, finds nothing (nothing
 * ran in between) and costs a syscall per hop; in a busy server every
 * request's thread returns to the scheduler and polls an empty kernel list.
 *
 * The rule: a non-blocking poll is skipped when the last poll of any kind
 * ended less than POLL_GAP_NS ago. A blocking poll is never skipped, so
 * this never delays a program that has nothing else to do. The latency
 * bound: while threads keep the run queue busy, a ready fd or an expired
 * delay is noticed at the first scheduler pass at least POLL_GAP_NS after
 * the previous poll; the scheduler passes at least once per context switch
 * (20 ms by default), so the bound is max(POLL_GAP_NS, the time to the
 * next pass), which is what stock's select path gives (it polls at every
 * pass, and a CPU-bound thread keeps it from passing until the context
 * switch), give or take POLL_GAP_NS. The woken thread then goes to the
 * front of the run queue (Note [Woken threads go to the front]), so it
 * runs at once.
 *
 * POLL_GAP_NS is 100 us: a few requests' worth of a busy server's work, so
 * one poll collects the readiness of many connections, and far below the
 * context-switch interval.
 */
#define POLL_GAP_NS 100000

/* When the last evmgr_poll returned (evmgr_now_ns clock). */
static int64_t last_poll_ns = 0;

static void awaitCompletedIO(bool wait, int64_t now);

void
evmgrIOAwait(bool wait)
{
    int64_t now = evmgr_now_ns();
    if (!wait && bad_fd_queue == END_TSO_QUEUE && now - last_poll_ns < POLL_GAP_NS) {
        return;  // Note [Fewer polls]
    }
    awaitCompletedIO(wait, now);
    // The scheduler may run threads now: Note [Closed fds when idle].
    haskell_ran_since_sweep = true;
}

static void
awaitCompletedIO(bool wait, int64_t now)
{
    debugTrace(DEBUG_sched, "checking for threads blocked on I/O%s",
               wait ? " (waiting)" : "");

    bool woke = raiseBadFdThreads();

    for (;;) {
        if (n_waiting == 0) {
            // Nothing registered: waiting would never end.
            return;
        }
        sweepClosedFdsIfDue(now);
        int64_t timeout = 0;
        if (wait && !woke) {
            // No limit, unless a sweep is owed: Note [Closed fds when idle].
            timeout = haskell_ran_since_sweep ? next_sweep_ns - now : -1;
        }
        int n = evmgr_poll(mgr, timeout, events, EVENT_BATCH);
        now = last_poll_ns = evmgr_now_ns();

        if (n < 0) {
            if (n == -EINTR) {
                if (mustReturnToScheduler()) return;
                continue;
            }
            errorBelch("evmgr_poll: %s", strerror(-n));
            stg_exit(EXIT_FAILURE);
        }

        for (int i = 0; i < n; i++) {
            dispatchEvent(&events[i]);
        }
        if (n > 0) woke = true;

        if (n == EVENT_BATCH) {
            // The array was full: more events may be queued. Fetch them
            // (timeout 0, since woke is set) before returning.
            continue;
        }
        if (woke || !wait) {
            return;
        }
        // Nothing ready: evmgr_wakeup from a signal handler or
        // interruptStgRts, or the wait ended for a sweep that is due now.
        if (mustReturnToScheduler()) return;
    }
}

/* -----------------------------------------------------------------------------
 * GC
 * -------------------------------------------------------------------------- */

/* Note [GC roots]
 * ~~~~~~~~~~~~~~~
 * A blocked thread is reachable only through the I/O manager: the select
 * implementation keeps it on blocked_queue or sleeping_queue (roots in
 * markScheduler); with evmgr its TSO's address is the token of its
 * registration, in the manager's C++ memory, which the GC does not scan.
 * TSOs move during GC, so every token is a root that must be evacuated AND
 * updated: markIOManager (called by markScheduler, once per GC, before any
 * weak pointer or thread-list traversal) asks the manager to visit every
 * token slot in place (evmgr_visit_tokens) and passes each slot to the
 * GC's evac function, which writes the new address back. Both kinds of
 * registration carry TSO tokens, and queued-but-undelivered events are
 * visited too, so an event later copied out by evmgr_poll carries the
 * TSO's current address.
 *
 * Being roots, blocked threads are never "unreachable": like with select, a
 * thread blocked on an fd or a delay is never sent BlockedIndefinitely, and
 * a program whose only threads wait on fds/timers is not deadlocked
 * (anyPendingTimeoutsOrIO). The bad_fd_queue is a root too.
 *
 * The same evac function serves the copying GC, the compacting GC (-c:
 * thread-and-update) and the non-moving GC (-xn: roots are pushed onto the
 * mark queue; TSOs in the non-moving heap do not move, the write-back is a
 * no-op), exactly like the queue heads of the select implementation.
 * Nothing here calls back into the manager from the visitor, as
 * evmgr_visit_tokens requires (it holds the manager's lock).
 */
typedef struct {
    evac_fn evac;
    void *user;
} MarkCtx;

static void
markToken(void *ctx, uintptr_t *token)
{
    MarkCtx *m = (MarkCtx *)ctx;
    // uintptr_t and StgClosure* have the same size and representation.
    m->evac(m->user, (StgClosure **)(void *)token);
}

void
evmgrIOMark(evac_fn evac, void *user)
{
    evac(user, (StgClosure **)(void *)&bad_fd_queue);
    MarkCtx ctx = { evac, user };
    evmgr_visit_tokens(mgr, markToken, &ctx);
}

/* -----------------------------------------------------------------------------
 * Debugging
 * -------------------------------------------------------------------------- */

void
evmgrIOPrintBlockage(StgTSO *tso)
{
    evmgr_key key = (evmgr_key)tso->block_info.target;
    switch (tso->why_blocked) {
    case BlockedOnRead:
    case BlockedOnWrite:
        if (key == 0) {
            debugBelch("is blocked on a bad fd (blockedOnBadFD pending)");
        } else {
            debugBelch("is blocked on %s fd %d (evmgr key 0x%" FMT_HexWord64 ")",
                       tso->why_blocked == BlockedOnRead ? "read from" : "write to",
                       evmgr_key_fd(mgr, key), (StgWord64)key);
        }
        break;
    case BlockedOnDelay:
        debugBelch("is blocked on a delay (evmgr timer key 0x%" FMT_HexWord64 ")",
                   (StgWord64)key);
        break;
    default:
        break;
    }
}

#endif /* !THREADED_RTS */
