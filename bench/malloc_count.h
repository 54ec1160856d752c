/* SPDX-License-Identifier: BSD-3-Clause
 * Allocation counter for evmgr_bench (see malloc_count.c). */
#ifndef EVMGR_BENCH_MALLOC_COUNT_H
#define EVMGR_BENCH_MALLOC_COUNT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resets the counters and starts counting malloc/calloc/realloc/memalign
 * calls (operator new included) made by any thread. */
void evb_count_start(void);
/* Stops counting; the counters keep their values. */
void evb_count_stop(void);
uint64_t evb_count_calls(void);
uint64_t evb_count_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
