/* mem.c — size-classed small blocks over huge-page chunks (see mem.h).
 *
 * Classes are multiples of 16 bytes up to LODE_MEM_SMALL. A free block goes on
 * its class's list; a new block is cut from the current chunk by bumping a
 * pointer, so classes share chunks and nothing is reserved per class. Chunks
 * are never given back while the state lives: freed blocks are reused by the
 * next allocation of the same class, so a streaming load keeps a flat heap. */
#include "lode/core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define GRAIN 16
#define NCLASS (LODE_MEM_SMALL / GRAIN)
#define CHUNK_SIZE ((size_t)2 << 20)

typedef struct chunk {
    struct chunk *next;
} chunk;

static struct {
    int system;
    int chosen;
    void *free[NCLASS + 1];     /* by class: size / GRAIN */
    char *bump, *end;
    chunk *chunks;
    size_t nchunks;
} M;

static int sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
    return 1;
#else
    return 0;
#endif
#else
    return 0;
#endif
}

void lode_mem_init(void)
{
    if (M.chosen) return;
    const char *e = getenv("LODE_MALLOC");
    M.system = sanitized() || (e && strcmp(e, "system") == 0);
    M.chosen = 1;
}

int lode_mem_is_system(void)
{
    lode_mem_init();
    return M.system;
}

static size_t class_of(size_t size) { return (size + GRAIN - 1) / GRAIN; }

/* A fresh chunk aligned to its size, so the kernel can back it with one huge
 * page; over-map by one chunk and trim the ends. */
static int new_chunk(void)
{
    size_t span = CHUNK_SIZE * 2;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return -1;
    uintptr_t start = ((uintptr_t)raw + CHUNK_SIZE - 1) & ~(uintptr_t)(CHUNK_SIZE - 1);
    char *c = (char *)start;
    if (c > raw) munmap(raw, (size_t)(c - raw));
    char *tail = c + CHUNK_SIZE;
    if (tail < raw + span) munmap(tail, (size_t)(raw + span - tail));
#ifdef MADV_HUGEPAGE
    madvise(c, CHUNK_SIZE, MADV_HUGEPAGE);   /* advice only: fine if refused */
#endif
    /* The old chunk's tail (under LODE_MEM_SMALL bytes) becomes one free
     * block of the largest class that fits. */
    size_t left = (size_t)(M.end - M.bump);
    if (left >= GRAIN) {
        size_t k = left / GRAIN;
        *(void **)M.bump = M.free[k];
        M.free[k] = M.bump;
    }
    chunk *ch = (chunk *)c;
    ch->next = M.chunks;
    M.chunks = ch;
    M.nchunks++;
    M.bump = c + GRAIN;           /* keep blocks 16-byte aligned */
    M.end = c + CHUNK_SIZE;
    return 0;
}

void *lode_mem_alloc(size_t size)
{
    if (size == 0) size = 1;
    if (M.system || size > LODE_MEM_SMALL) return malloc(size);
    size_t k = class_of(size);
    void *p = M.free[k];
    if (p) {
        M.free[k] = *(void **)p;
        return p;
    }
    size_t bytes = k * GRAIN;
    if ((size_t)(M.end - M.bump) < bytes && new_chunk() != 0) return NULL;
    p = M.bump;
    M.bump += bytes;
    return p;
}

void *lode_mem_calloc(size_t size)
{
    void *p = lode_mem_alloc(size);
    if (p) memset(p, 0, size ? size : 1);
    return p;
}

void lode_mem_free(void *p, size_t size)
{
    if (!p) return;
    if (size == 0) size = 1;
    if (M.system || size > LODE_MEM_SMALL) {
        free(p);
        return;
    }
    size_t k = class_of(size);
    *(void **)p = M.free[k];
    M.free[k] = p;
}

void *lode_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (M.system) {
        if (nsize == 0) {
            free(ptr);
            return NULL;
        }
        return realloc(ptr, nsize);
    }
    if (!ptr) osize = 0;          /* then osize only tells the object's type */
    if (nsize == 0) {
        lode_mem_free(ptr, osize);
        return NULL;
    }
    if (ptr) {
        int osmall = osize <= LODE_MEM_SMALL, nsmall = nsize <= LODE_MEM_SMALL;
        if (!osmall && !nsmall) return realloc(ptr, nsize);
        if (osmall && nsmall && class_of(osize) == class_of(nsize)) return ptr;
    }
    void *n = lode_mem_alloc(nsize);
    if (!n) {
        /* A shrink cannot fail: keep the bigger block. Lua will free it with
         * the smaller size, which is safe both ways: a small block goes back
         * on a (smaller) class list, and a malloc block given as small simply
         * joins the class lists for good; a small block is never handed to
         * free(), since no grow past LODE_MEM_SMALL ever returns one. */
        return nsize <= osize ? ptr : NULL;   /* NULL: Lua keeps the old block */
    }
    if (ptr) {
        memcpy(n, ptr, osize < nsize ? osize : nsize);
        lode_mem_free(ptr, osize);
    }
    return n;
}

void lode_mem_release(void)
{
    while (M.chunks) {
        chunk *c = M.chunks;
        M.chunks = c->next;
        munmap(c, CHUNK_SIZE);
    }
    memset(M.free, 0, sizeof M.free);
    M.bump = M.end = NULL;
    M.nchunks = 0;
}

size_t lode_mem_chunk_bytes(void) { return M.nchunks * CHUNK_SIZE; }
