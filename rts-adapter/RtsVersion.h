/* -----------------------------------------------------------------------------
 *
 * (c) The GHC Team 2026
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The few places where the RTS adapter depends on which GHC's RTS it is
 * compiled into (GHC passes __GLASGOW_HASKELL__ to every C file it
 * compiles, the RTS's included). Included first, before Rts.h.
 *
 *   EVMGR_POSIX_SOURCE_H   the header that sets the POSIX feature macros:
 *                          rts/PosixSource.h (9.0: a private RTS header),
 *                          rts/include/rts/PosixSource.h (9.4 and later).
 *
 *   EVMGR_GHC_IOMANAGER_LAYER
 *                          1 on GHC 9.6 and later, whose rts/IOManager.{h,c}
 *                          is GHC's own hook layer for I/O managers: it
 *                          already defines initIOManager, exitIOManager and
 *                          anyPendingTimeoutsOrIO (with a CapIOManager
 *                          argument) and, patched, calls ours (IOHOOK in
 *                          IOHooks.h); the select half waits per capability
 *                          (awaitEvent(cap, wait)). See docs/rts-adapter.md,
 *                          "GHC 9.6".
 *
 * ---------------------------------------------------------------------------*/

#pragma once

#if !defined(__GLASGOW_HASKELL__)
#error "the RTS adapter is compiled by GHC, as part of the RTS"
#endif

#if __GLASGOW_HASKELL__ >= 904
#define EVMGR_POSIX_SOURCE_H "rts/PosixSource.h"
#else
#define EVMGR_POSIX_SOURCE_H "PosixSource.h"
#endif

#if __GLASGOW_HASKELL__ >= 906
#define EVMGR_GHC_IOMANAGER_LAYER 1
#else
#define EVMGR_GHC_IOMANAGER_LAYER 0
#endif
