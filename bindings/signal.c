/* signal.c — lode.signal: wait for SIGINT or SIGTERM, for a clean shutdown.
 *
 *   local name, number = signal.wait()      -- in a task: "SIGTERM", 15
 *   signal.configure{ grace_ms = 9000 }      -- hard stop after the first signal
 *
 * The handlers are installed by the first wait(), so a script that never
 * waits keeps the default disposition. The first signal wakes every waiter
 * (a wait() after it returns at once); a second signal, or grace_ms after the
 * first, ends the process at once with 128 + the first signal's number. Both
 * work however busy the run is — even a Lua loop that never yields — because
 * they happen in the signal handler and a watchdog thread, not on the loop.
 *
 * Owns: the sigaction handlers, a uv_async_t (unreferenced: it never keeps the
 * loop alive) and the watchdog thread, all living until the process exits;
 * the waiting ops (a list). */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lode.h"

typedef struct wait_op {
    lode_op op;
    struct wait_op *next, **pprev;
} wait_op;

static struct {
    int installed;
    volatile sig_atomic_t got;  /* first signal's number, 0 until one arrives */
    int delivered;              /* the loop has woken the waiters */
    long grace_ms;
    uv_async_t wake;
    sem_t armed;                /* posted by the handler: starts the watchdog's clock */
    wait_op *waiters;
} G = {.grace_ms = 9000};

static const char *sig_name(int s) { return s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : "signal"; }

/* async-signal-safe: write(2) and _exit(2) only */
static void exit_now(int s, const char *why)
{
    char line[160];
    size_t n = 0;
    const char *parts[] = {"lode: ", why, "; exiting now\n"};
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && n < sizeof line; p++) line[n++] = *p;
    ssize_t w = write(2, line, n);
    (void)w;
    _exit(128 + s);
}

static void on_signal(int s)
{
    int saved = errno;
    if (G.got) exit_now(G.got, s == SIGINT ? "second signal (SIGINT)" : "second signal (SIGTERM)");
    G.got = s;
    sem_post(&G.armed);
    uv_async_send(&G.wake);
    errno = saved;
}

static void *watchdog(void *arg)
{
    (void)arg;
    while (sem_wait(&G.armed) != 0) {
    }
    struct timespec ts = {G.grace_ms / 1000, (G.grace_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    exit_now(G.got, G.got == SIGINT ? "did not stop in time after SIGINT" : "did not stop in time after SIGTERM");
    return NULL;
}

static void waiter_unlink(wait_op *w)
{
    if (!w->pprev) return;
    *w->pprev = w->next;
    if (w->next) w->next->pprev = w->pprev;
    w->next = NULL;
    w->pprev = NULL;
}

static void on_wake(uv_async_t *a)
{
    (void)a;
    G.delivered = 1;
    while (G.waiters) {
        wait_op *w = G.waiters;
        waiter_unlink(w);
        lode_op_done(&w->op);
    }
}

static int install(lua_State *L)
{
    if (G.installed) return 0;
    if (sem_init(&G.armed, 0, 0) != 0) return luaL_error(L, "signal: sem_init: %s", strerror(errno));
    uv_async_init(lode_loop(), &G.wake, on_wake);
    uv_unref((uv_handle_t *)&G.wake);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    /* the watchdog takes no signals: they go to the loop's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&th, &at, watchdog, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
    if (rc != 0) return luaL_error(L, "signal: cannot start the watchdog: %s", strerror(rc));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    G.installed = 1;
    return 0;
}

static int wait_push(lua_State *L, lode_op *op)
{
    (void)op;
    lua_pushstring(L, sig_name(G.got));
    lua_pushinteger(L, G.got);
    return 2;
}

static void wait_cancel(lode_op *op)
{
    waiter_unlink((wait_op *)op);
    lode_op_done(op);
}

/* signal.wait() -> name, number */
static int l_wait(lua_State *L)
{
    lode_check_task(L, "signal.wait");
    install(L);
    wait_op *w = (wait_op *)lode_op_new(L, sizeof *w, "signal.wait", wait_push, wait_cancel, NULL);
    if (G.delivered) {
        lode_op_done(&w->op);
    } else {
        w->next = G.waiters;
        if (w->next) w->next->pprev = &w->next;
        w->pprev = &G.waiters;
        G.waiters = w;
    }
    return lode_op_yield(L, &w->op);
}

/* signal.received() -> name, number of the first signal, or nil */
static int l_received(lua_State *L)
{
    if (!G.got) return 0;
    lua_pushstring(L, sig_name(G.got));
    lua_pushinteger(L, G.got);
    return 2;
}

/* signal.configure{ grace_ms = n }: before the first signal */
static int l_configure(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "grace_ms");
    if (!lua_isnil(L, -1)) {
        lua_Integer ms = luaL_checkinteger(L, -1);
        luaL_argcheck(L, ms > 0 && ms <= 3600000, 1, "grace_ms must be between 1 and 3600000");
        G.grace_ms = (long)ms;
    }
    lua_pop(L, 1);
    return 0;
}

int luaopen_lode_signal(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"wait", l_wait},
        {"received", l_received},
        {"configure", l_configure},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
