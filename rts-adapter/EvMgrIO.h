/* -----------------------------------------------------------------------------
 *
 * (c) The GHC Team 2026
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The evmgr I/O manager of the non-threaded RTS (EvMgrIO.c): threads
 * blocked in waitRead#, waitWrite# and delay# kept as registrations of the
 * evmgr event manager (ffi/evmgr.h). Called only through the hooks of
 * IOHooks.c, each of which documents its caller and contract; the functions
 * here are those hooks' evmgr halves.
 *
 * ---------------------------------------------------------------------------*/

#pragma once

#if !defined(THREADED_RTS)

#include "evmgr.h"

#include "BeginPrivate.h"

/* Creates the manager on `backend`. 0 or an errno (nothing is created). */
int  evmgrIOInit(evmgr_backend backend);
void evmgrIOExit(void);
/* The back-end in use; only while initialised. */
evmgr_backend evmgrIOBackend(void);
void evmgrIOAfterForkChild(void);

void evmgrIOWaitReady(StgTSO *tso, StgWord is_write, StgWord fd);
void evmgrIODelay(StgTSO *tso, StgInt us);
void evmgrIOCancel(Capability *cap, StgTSO *tso);

bool evmgrIOAnyPending(void);
void evmgrIOAwait(bool wait);
void evmgrIOInterrupt(void);
void evmgrIOMark(evac_fn evac, void *user);
void evmgrIOPrintBlockage(StgTSO *tso);

#include "EndPrivate.h"

#endif /* !THREADED_RTS */
