/* mem_test.c — the small-block allocator: alignment, contents kept across
 * every kind of Lua realloc (within a class, across classes, small to large
 * and back), freed blocks reused by their class, a Lua state that runs and
 * closes on it, and chunks returned at release. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "tap.h"
#include "lode/core/mem.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 7);
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7)) return 0;
    return 1;
}

int main(void)
{
    lode_mem_init();
    int sys = lode_mem_is_system();
    tap_diag("allocator: %s", sys ? "system malloc (LODE_MALLOC=system or sanitizer build)" : "small blocks");

    /* Alignment and independence of many live blocks of every class. */
    enum { NB = 5000 };
    static unsigned char *blk[NB];
    static size_t sz[NB];
    int aligned = 1, intact = 1;
    for (int i = 0; i < NB; i++) {
        sz[i] = 1 + (size_t)(i * 37) % 1500;   /* small and large */
        blk[i] = lode_mem_alloc(sz[i]);
        if (!blk[i] || ((uintptr_t)blk[i] & 15)) aligned = 0;
        if (blk[i]) fill(blk[i], sz[i], (unsigned)i);
    }
    for (int i = 0; i < NB; i++)
        if (!blk[i] || !same(blk[i], sz[i], (unsigned)i)) intact = 0;
    ok(aligned, "%d blocks of 1..1500 bytes are 16-byte aligned", NB);
    ok(intact, "no block overlaps another: every fill pattern is intact");
    for (int i = 0; i < NB; i++) lode_mem_free(blk[i], sz[i]);

    /* Lua's realloc: every transition keeps the contents. */
    size_t steps[] = {8, 16, 17, 100, 1024, 1025, 5000, 600, 24, 1};
    unsigned char *p = lode_lua_alloc(NULL, NULL, LUA_TSTRING, steps[0]);
    fill(p, steps[0], 3);
    int kept = 1;
    for (size_t i = 1; i < sizeof steps / sizeof *steps; i++) {
        size_t o = steps[i - 1], n = steps[i];
        p = lode_lua_alloc(NULL, p, o, n);
        if (!p || !same(p, o < n ? o : n, 3)) kept = 0;
        if (p) fill(p, n, 3);
    }
    ok(kept, "contents kept across reallocs 8→16→17→100→1024→1025→5000→600→24→1");
    ok(lode_lua_alloc(NULL, p, 1, 0) == NULL, "free through the Lua interface returns NULL");

    /* A freed block is the next one of its class. */
    if (sys) {
        tap_skip("system malloc", "freed block reused by its class");
        tap_skip("system malloc", "same-class realloc stays in place");
    } else {
        void *a = lode_mem_alloc(200);
        lode_mem_free(a, 200);
        void *b = lode_mem_alloc(193);     /* same 208-byte class */
        ok(a == b, "a freed 200-byte block is reused for a 193-byte one");
        void *c = lode_lua_alloc(NULL, b, 193, 208);
        ok(c == b, "a realloc within the class stays in place");
        lode_mem_free(c, 208);
    }
    unsigned char *z = lode_mem_calloc(333);
    int zero = 1;
    for (int i = 0; i < 333; i++)
        if (z[i]) zero = 0;
    ok(zero, "calloc zeroes a reused block");
    lode_mem_free(z, 333);

    /* A real Lua state on it: tables, strings, coroutines, a full GC. */
    lua_State *L = lua_newstate(lode_lua_alloc, NULL);
    ok(L != NULL, "lua_newstate over lode_lua_alloc");
    luaL_openlibs(L);
    const char *chunk =
        "local t = {} for i = 1, 20000 do t[i] = ('x'):rep(i % 3000) end "
        "local cos = {} for i = 1, 2000 do cos[i] = coroutine.wrap(function(a) "
        "  local b = coroutine.yield(a + 1) return a + b end) end "
        "local s = 0 for i = 1, 2000 do s = s + cos[i](i) end "
        "for i = 1, 2000 do s = s + cos[i](1) end "
        "t = nil collectgarbage() "
        "return s + #table.concat({'a','b','c'})";
    int rc = luaL_dostring(L, chunk);
    ok(rc == LUA_OK, "a Lua workload runs%s%s", rc ? ": " : "", rc ? lua_tostring(L, -1) : "");
    lua_Integer s = rc == LUA_OK ? lua_tointeger(L, -1) : -1;
    /* sum(i+1) + sum(i+1) for i=1..2000 = 2 * (2001000 + 2000) + 3 */
    is_int((long long)s, 2LL * (2001000 + 2000) + 3, "and computes the right answer");
    lua_close(L);

    if (sys) {
        tap_skip("system malloc", "chunks are held, then returned at release");
    } else {
        ok(lode_mem_chunk_bytes() > 0, "chunks held: %zu bytes", lode_mem_chunk_bytes());
    }
    lode_mem_release();
    is_int((long long)lode_mem_chunk_bytes(), 0, "no chunk held after release");
    return done_testing();
}
