/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Allocation counter for evmgr_bench: replaces malloc and friends in the
 * executable (glibc supports this: they forward to the __libc_* entry
 * points) and counts calls and requested bytes while counting is enabled.
 * operator new is replaced in evmgr_bench.cpp to go through malloc, so C++
 * allocations in the core, libev and libevent are all seen here.
 *
 * Counting is off by default; bench code turns it on around the loops whose
 * allocations it wants to see (steady-state event loops, timer fires).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "malloc_count.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

volatile int evb_counting = 0;
static uint64_t calls;
static uint64_t bytes;

static void note(size_t size) {
  if (evb_counting) {
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&bytes, (uint64_t)size, __ATOMIC_RELAXED);
  }
}

void evb_count_start(void) {
  __atomic_store_n(&calls, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&bytes, 0, __ATOMIC_RELAXED);
  evb_counting = 1;
}

void evb_count_stop(void) { evb_counting = 0; }
uint64_t evb_count_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }
uint64_t evb_count_bytes(void) { return __atomic_load_n(&bytes, __ATOMIC_RELAXED); }

void *malloc(size_t size) {
  note(size);
  return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
  note(count * size);
  return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size) {
  note(size);
  return __libc_realloc(ptr, size);
}

void free(void *ptr) { __libc_free(ptr); }

void *memalign(size_t alignment, size_t size) {
  note(size);
  return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
  note(size);
  return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  void *p;
  if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
  note(size);
  p = __libc_memalign(alignment, size);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}
