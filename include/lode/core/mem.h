/* lode/core/mem.h — the allocator behind the Lua state and the scheduler's small structs.
 *
 * Small blocks (up to LODE_MEM_SMALL bytes) come from size-classed free lists
 * over 2 MiB chunks that ask the kernel for transparent huge pages; larger
 * ones go to malloc. Every free names the block's size, as Lua's allocator
 * interface does. Single-threaded: only the loop thread may call it.
 *
 * Why: a task is ~1.7 KiB of small blocks, and on virtual machines the first
 * touch of each fresh 4 KiB page costs several microseconds — more than the
 * rest of a spawn. One huge page fault covers 512 of them.
 *
 * `LODE_MALLOC=system` (and sanitizer builds) use malloc for everything, so
 * ASan and valgrind see every block. */
#ifndef LODE_MEM_H
#define LODE_MEM_H

#include <stddef.h>

#define LODE_MEM_SMALL 1024

/* Chooses the system allocator when `LODE_MALLOC=system` is set or the build
 * is sanitized. Call once, before the first allocation. */
void lode_mem_init(void);
int lode_mem_is_system(void);

void *lode_mem_alloc(size_t size);          /* NULL when out of memory */
void *lode_mem_calloc(size_t size);         /* zeroed */
void lode_mem_free(void *p, size_t size);   /* size as allocated; p may be NULL */

/* A lua_Alloc over the above: lua_newstate(lode_lua_alloc, NULL). */
void *lode_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Returns every chunk to the kernel; only after the last block is freed
 * (after lua_close). */
void lode_mem_release(void);

/* Bytes held in chunks (small blocks, used or free). */
size_t lode_mem_chunk_bytes(void);

#endif
