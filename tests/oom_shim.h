/*
** oom_shim.h -- force-included (-include) into the engine and glue sources
** of the allocation-failure test (tests/oom.c), so that every allocation of
** theirs goes through a counter that can make the Nth one fail.  SQLite's
** own allocations go through the same counter by SQLITE_CONFIG_MALLOC.
*/
#ifndef OOM_SHIM_H
#define OOM_SHIM_H
#include <stdlib.h>
void *oom_malloc(size_t n);
void *oom_calloc(size_t n, size_t size);
void *oom_realloc(void *p, size_t n);
void *oom_aligned_alloc(size_t align, size_t n);
int oom_posix_memalign(void **p, size_t align, size_t n);
#define malloc oom_malloc
#define calloc oom_calloc
#define realloc oom_realloc
#define aligned_alloc oom_aligned_alloc
#define posix_memalign oom_posix_memalign
#endif
