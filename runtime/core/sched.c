/* core/sched.c — tasks as Lua threads, resumed only from one run queue.
 *
 * Owns: every lode_task (freed when its last reference drops: the scheduler's
 * while it runs, one per Lua handle, one per waiter), the run queue (tasks to
 * resume, and spawned tasks not started yet), the pool of finished tasks'
 * threads, the idle handle that drains the queue in bounded batches, and
 * every lode_op between lode_op_new and its release.
 * Loop callbacks only call lode_op_done(); drain_ready() is the single place
 * where lua_resume is called. lode.sleep's timers are in timer.c. */
#include <stdlib.h>
#include <string.h>
#include <assert.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lode.h"
#include "lode/core/mem.h"
#include "timer.h"

typedef enum {
    TS_READY,      /* queued to run */
    TS_RUNNING,
    TS_WAITING,    /* suspended on an op */
    TS_PENDING,    /* a future nobody has set yet */
    TS_OK,
    TS_FAILED,
    TS_CANCELLED
} task_state;

typedef struct waiter waiter;
struct waiter {
    waiter *next, *prev;
    lode_task *target;
    void (*notify)(waiter *w);   /* the target finished */
};

struct lode_task {
    lua_State *co;               /* NULL for a future, before it starts, and once finished */
    int co_ref;                  /* pins the thread while it runs */
    int start_ref;               /* until it starts: its function, or {fn, args...} */
    int nargs;                   /* values to pass on the next resume (or the start) */
    task_state state;
    int queued;                  /* in the run queue */
    int exposed;                 /* its thread was handed to Lua code (coroutine.running): never reused */
    lode_op *pending;            /* the op it is suspended on */
    int result_ref;              /* the one result, or a table {n=, ...} of several */
    int nresults;
    int error_ref;               /* error value */
    int traceback_ref;           /* traceback string of a failed task */
    int refs;
    int handles;                 /* Lua handles alive: results kept only then */
    int is_future;
    int observed;                /* someone read its error (await, :error()) */
    char *name;
    uint64_t id;
    lode_task *next_ready;
    uint64_t queued_at;          /* S.queue_seq when it was queued */
    waiter *waiters;
    lode_task *parent, *first_child, *next_sibling, *prev_sibling;
    lode_task *live_next, *live_prev;   /* S.live_head: unfinished tasks */
};

typedef struct {
    lode_task *t;
} task_handle;

/* Threads of tasks that returned, kept for the next tasks to start (a thread
 * is ~1 KiB to allocate, first touch and collect): with tasks started only as
 * the run queue reaches them, a million spawned tasks need only as many
 * threads as run at once. THREAD_POOL are kept, up to THREAD_POOL_MAX while as
 * many spawned tasks wait to start (1 M tasks sleeping 1 ms on a loaded
 * machine made 377,000 threads with 1,024 kept, 5,000 with 4,096). */
#define THREAD_POOL 1024
#define THREAD_POOL_MAX 16384

static struct {
    uv_loop_t loop;
    lua_State *L;
    uv_idle_t idle;
    int idle_active;
    lode_task *ready_head, *ready_tail;     /* tasks to resume */
    lode_task *fresh_head, *fresh_tail;     /* spawned tasks not started yet */
    long nready, nfresh;        /* tasks in the ready and fresh queues */
    uint64_t queue_seq;         /* tasks queued so far */
    struct { lua_State *co; int ref; } pool[THREAD_POOL_MAX];   /* finished tasks' threads */
    int npool;
    lode_task *current;
    lode_task *main;
    int dry_run;
    uint64_t next_id;
    long live;
    lode_task *live_head;
    int cleanups;               /* lode_cleanup_hold()s not yet released */
    int initialized;
} S;

uv_loop_t *lode_loop(void) { return &S.loop; }
lua_State *lode_main_state(void) { return S.L; }
int lode_dry_run(void) { return S.dry_run; }
void lode_set_dry_run(int on) { S.dry_run = on; }
uint64_t lode_now_ms(void) { return uv_now(&S.loop); }

/* Tasks come and go by the hundred thousand: they live in the small-block
 * allocator (mem.c), with the Lua state's own objects. */

static void drain_ready(uv_idle_t *h);
static void thread_recycle(lode_task *t);

static lode_task **extra(lua_State *L) { return (lode_task **)lua_getextraspace(L); }

lode_task *lode_task_of(lua_State *L)
{
    return *extra(L);
}

const char *lode_task_name(lode_task *t)
{
    if (!t) t = S.current;
    return t && t->name ? t->name : "main";
}

/* ---- task lifetime ------------------------------------------------------ */

static void task_unref(lode_task *t)
{
    assert(t->refs > 0);
    if (--t->refs > 0) return;
    assert(t->waiters == NULL && !t->queued);
    if (S.L && t->state == TS_FAILED && !t->observed) {
        /* A failure nobody awaited must not vanish silently. */
        lua_rawgeti(S.L, LUA_REGISTRYINDEX, t->traceback_ref);
        char msg[4096];
        snprintf(msg, sizeof msg, "a task failed and nothing awaited it: %s",
                 lua_isstring(S.L, -1) ? lua_tostring(S.L, -1) : "(no message)");
        lua_pop(S.L, 1);
        lode_log_fields(LODE_LOG_ERROR, lode_task_name(t), msg, NULL);
    }
    if (S.L) {
        luaL_unref(S.L, LUA_REGISTRYINDEX, t->result_ref);
        luaL_unref(S.L, LUA_REGISTRYINDEX, t->error_ref);
        luaL_unref(S.L, LUA_REGISTRYINDEX, t->traceback_ref);
        luaL_unref(S.L, LUA_REGISTRYINDEX, t->co_ref);
        luaL_unref(S.L, LUA_REGISTRYINDEX, t->start_ref);
    }
    free(t->name);
    lode_mem_free(t, sizeof *t);
}

static lode_task *task_alloc(lode_task *parent)
{
    lode_task *t = lode_mem_calloc(sizeof *t);
    if (!t) return NULL;
    t->co_ref = t->start_ref = t->result_ref = t->error_ref = t->traceback_ref = LUA_NOREF;
    t->refs = 1;
    t->id = ++S.next_id;
    if (parent) {
        t->parent = parent;
        t->next_sibling = parent->first_child;
        if (parent->first_child) parent->first_child->prev_sibling = t;
        parent->first_child = t;
        if (parent->name) t->name = strdup(parent->name);
    }
    return t;
}

static void unlink_from_parent(lode_task *t)
{
    lode_task *p = t->parent;
    if (!p) return;
    if (t->prev_sibling) t->prev_sibling->next_sibling = t->next_sibling;
    else p->first_child = t->next_sibling;
    if (t->next_sibling) t->next_sibling->prev_sibling = t->prev_sibling;
    t->parent = t->next_sibling = t->prev_sibling = NULL;
}

/* A task not started yet waits in the fresh queue, one to resume in the
 * ready queue; queued_at orders the two (drain_ready). */
static void queue_ready(lode_task *t)
{
    t->state = TS_READY;
    if (t->queued) return;
    t->queued = 1;
    t->refs++;
    t->next_ready = NULL;
    t->queued_at = ++S.queue_seq;
    lode_task **head = &S.ready_head, **tail = &S.ready_tail;
    if (t->start_ref != LUA_NOREF) {
        head = &S.fresh_head;
        tail = &S.fresh_tail;
        S.nfresh++;
    } else {
        S.nready++;
    }
    if (*tail) (*tail)->next_ready = t;
    else *head = t;
    *tail = t;
    if (!S.idle_active) {
        uv_idle_start(&S.idle, drain_ready);
        S.idle_active = 1;
    }
}

static void waiter_add(lode_task *target, waiter *w)
{
    w->target = target;
    target->refs++;
    w->prev = NULL;
    w->next = target->waiters;
    if (target->waiters) target->waiters->prev = w;
    target->waiters = w;
}

static void waiter_remove(waiter *w)
{
    lode_task *t = w->target;
    if (!t) return;
    if (w->prev) w->prev->next = w->next;
    else t->waiters = w->next;
    if (w->next) w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->target = NULL;
    task_unref(t);
}

static int task_finished(const lode_task *t)
{
    return t->state == TS_OK || t->state == TS_FAILED || t->state == TS_CANCELLED;
}

/* Let go of a task's thread (the collector takes it). */
static void thread_unpin(lode_task *t)
{
    if (!t->co) return;
    *extra(t->co) = NULL;
    t->co = NULL;
    luaL_unref(S.L, LUA_REGISTRYINDEX, t->co_ref);
    t->co_ref = LUA_NOREF;
}

/* Record the end of a task, wake its waiters and drop the scheduler's ref.
 * Results (or the error) are on top of S.L: `nres` values, or one error and
 * one traceback string when failed. */
static void task_finish(lode_task *t, task_state st, int nres)
{
    lua_State *L = S.L;
    t->state = st;
    if (st == TS_OK) {
        if (nres == 1 && t->handles > 0) {
            t->nresults = 1;                 /* the common case: no table */
            t->result_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        } else if (nres > 1 && t->handles > 0) {
            t->nresults = nres;
            lua_createtable(L, nres, 1);
            lua_insert(L, -nres - 1);
            for (int i = nres; i >= 1; i--) lua_rawseti(L, -(i + 1), i);
            lua_pushinteger(L, nres);
            lua_setfield(L, -2, "n");
            t->result_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        } else {
            lua_pop(L, nres);
        }
    } else {
        t->traceback_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        t->error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    thread_unpin(t);
    luaL_unref(L, LUA_REGISTRYINDEX, t->start_ref);   /* cancelled before it started */
    t->start_ref = LUA_NOREF;
    /* Children outlive a parent that finished normally. */
    for (lode_task *c = t->first_child; c; ) {
        lode_task *next = c->next_sibling;
        c->parent = c->next_sibling = c->prev_sibling = NULL;
        c = next;
    }
    t->first_child = NULL;
    unlink_from_parent(t);
    if (!t->is_future) {
        S.live--;
        if (t->live_prev) t->live_prev->live_next = t->live_next;
        else S.live_head = t->live_next;
        if (t->live_next) t->live_next->live_prev = t->live_prev;
        t->live_next = t->live_prev = NULL;
    }
    if (t == S.main) uv_stop(&S.loop);
    t->refs++;   /* keep t alive while waiters run */
    while (t->waiters) {
        waiter *w = t->waiters;
        t->waiters = w->next;
        if (w->next) w->next->prev = NULL;
        w->next = w->prev = NULL;
        w->target = NULL;
        task_unref(t);
        w->notify(w);
    }
    if (!t->is_future) task_unref(t);  /* the scheduler's own ref */
    task_unref(t);
}

/* ---- ops ----------------------------------------------------------------- */

static void op_release(lode_op *op)
{
    if (op->release) op->release(op);
    else free(op);
}

void lode_check_task(lua_State *L, const char *what)
{
    lode_task *t = lode_task_of(L);
    if (!t)
        luaL_error(L, "%s must be called from a lode task (the script's main "
                      "chunk, a pipeline task or lode.spawn), not from a plain "
                      "coroutine or outside `lode run`", what);
    if (!lua_isyieldable(L))
        luaL_error(L, "%s cannot wait here: it was called from a metamethod, "
                      "iterator or C function that cannot yield", what);
}

lode_op *lode_op_new(lua_State *L, size_t size, const char *what,
                     lode_op_push_fn push, lode_op_cancel_fn cancel,
                     lode_op_release_fn release)
{
    lode_check_task(L, what);
    assert(size >= sizeof(lode_op));
    lode_op *op = calloc(1, size);
    if (!op) {
        luaL_error(L, "%s: out of memory", what);
        return NULL;
    }
    op->task = lode_task_of(L);
    op->push = push;
    op->cancel = cancel;
    op->release = release;
    op->what = what;
    return op;
}

static int op_continue(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    lode_op *op = (lode_op *)ctx;
    lode_task *t = lode_task_of(L);
    if (t && t->pending == op) t->pending = NULL;
    int n = op->push(L, op);
    op_release(op);
    if (n < 0) return lua_error(L);
    return n;
}

int lode_op_yield(lua_State *L, lode_op *op)
{
    lode_task *t = op->task;
    if (op->done) return op_continue(L, LUA_OK, (lua_KContext)op);
    t->pending = op;
    t->state = TS_WAITING;
    return lua_yieldk(L, 0, (lua_KContext)op, op_continue);
}

void lode_op_done(lode_op *op)
{
    assert(!op->done);
    op->done = 1;
    lode_task *t = op->task;
    if (!t) {                      /* its task was cancelled */
        op_release(op);
        return;
    }
    if (t->pending == op) queue_ready(t);
    /* else: completed synchronously before lode_op_yield; it will push at once */
}

/* ---- cancellation --------------------------------------------------------- */

static void push_cancel_error(lua_State *L)
{
    lode_push_error(L, "task", "cancelled", "task cancelled", 0);
}

static const char *safe_tostring(lua_State *L, int idx);

/* Run the <close> handlers a task that is ending still holds: a coroutine
 * that dies by error, or is abandoned while suspended, does not close its
 * to-be-closed variables itself (Lua 5.4 manual §3.3.8, lua_closethread), and
 * `with_conn` and friends give their connection back only there. `err` is the
 * index in S.L of the error the task died with (0 when it is cancelled); that
 * error stays the task's error, and one raised by a __close handler (which Lua
 * would let replace it) is logged instead of being lost. Handlers run as the
 * task, and cannot yield. */
static void task_close_thread(lode_task *t, int err)
{
    lua_State *co = t->co;
    lode_task *prev = S.current;
    task_state st = t->state;
    if (err) err = lua_absindex(S.L, err);
    t->state = TS_RUNNING;        /* a handler cannot cancel the task again */
    S.current = t;
#if LUA_VERSION_RELEASE_NUM >= 50406
    int rc = lua_closethread(co, S.L);
#else
    int rc = lua_resetthread(co);
#endif
    S.current = prev;
    t->state = st;
    if (rc == LUA_OK) return;
    lua_xmove(co, S.L, 1);        /* the error object the closing ended with */
    if (!err || !lua_rawequal(S.L, -1, err)) {
        char msg[4096];
        snprintf(msg, sizeof msg, "a <close> handler failed while the task %s: %s",
                 err ? "ended by error (the task keeps its own error)" : "was cancelled",
                 safe_tostring(S.L, -1));
        lua_pop(S.L, 1);          /* safe_tostring's string */
        lode_log_fields(LODE_LOG_ERROR, lode_task_name(t), msg, NULL);
    }
    lua_pop(S.L, 1);
}

static void task_cancel(lode_task *t)
{
    if (task_finished(t) || t->state == TS_RUNNING) return;
    t->refs++;
    /* Structured concurrency: a cancelled task takes its children with it. */
    while (t->first_child) {
        lode_task *c = t->first_child;
        unlink_from_parent(c);
        task_cancel(c);
    }
    lode_op *op = t->pending;
    t->pending = NULL;
    if (op) {
        op->task = NULL;
        if (op->done) op_release(op);
        else if (op->cancel) op->cancel(op);
        /* with no cancel hook the op completes later and is released then */
    }
    if (t->co) task_close_thread(t, 0);
    push_cancel_error(S.L);
    lua_pushliteral(S.L, "task cancelled");
    task_finish(t, TS_CANCELLED, 0);
    task_unref(t);
}

/* ---- resuming ---------------------------------------------------------- */

/* tostring that never raises */
static const char *safe_tostring(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isstring(L, -1)) {
        lua_pop(L, 1);
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
    }
    return lua_tostring(L, -1);
}

static void task_resume(lode_task *t)
{
    lua_State *co = t->co;
    int nargs = t->nargs, nres = 0;
    lode_task *prev = S.current;
    t->nargs = 0;
    t->state = TS_RUNNING;
    S.current = t;
    int st = lua_resume(co, S.L, nargs, &nres);
    S.current = prev;
    if (st == LUA_YIELD) {
        if (t->state == TS_RUNNING) {   /* a plain yield: run again later */
            lua_pop(co, nres);
            queue_ready(t);
        }
        return;
    }
    if (st == LUA_OK) {
        lua_xmove(co, S.L, nres);
        thread_recycle(t);
        task_finish(t, TS_OK, nres);
        return;
    }
    /* A copy of the error value: the original stays on top of co, where
     * lua_closethread hands it to the __close handlers. */
    lua_pushvalue(co, -1);
    lua_xmove(co, S.L, 1);
    const char *msg = safe_tostring(S.L, -1);
    luaL_traceback(S.L, co, msg, 0);              /* before the stack unwinds */
    lua_remove(S.L, -2);
    task_close_thread(t, -2);
    task_finish(t, TS_FAILED, 0);
}

/* Pool a finished task's thread when it is clean: it returned (status LUA_OK,
 * empty stack: its to-be-closed variables were closed) and has the main state's
 * hook, as a new thread would. In the pool it looks "dead", like any finished
 * coroutine; a thread that failed or was cancelled is left to the collector. */
static void thread_recycle(lode_task *t)
{
    lua_State *co = t->co;
    int room = S.npool < THREAD_POOL || (S.npool < THREAD_POOL_MAX && S.npool < S.nfresh);
    if (!room || t->exposed || lua_status(co) != LUA_OK || lua_gettop(co) != 0
        || lua_gethook(co) != lua_gethook(S.L) || lua_gethookmask(co) != lua_gethookmask(S.L)
        || lua_gethookcount(co) != lua_gethookcount(S.L))
        return;                        /* task_finish unpins it */
    *extra(co) = NULL;
    S.pool[S.npool].co = co;
    S.pool[S.npool].ref = t->co_ref;
    S.npool++;
    t->co = NULL;
    t->co_ref = LUA_NOREF;
}

static int new_thread(lua_State *L) { lua_newthread(L); return 1; }   /* may raise: pcall it */

/* First run: a pooled (or new) thread, the function and arguments onto it. */
static void task_start(lode_task *t)
{
    lua_State *co;
    int n = t->nargs;
    if (S.npool > 0) {
        S.npool--;
        co = S.pool[S.npool].co;
        t->co_ref = S.pool[S.npool].ref;
    } else {
        lua_pushcfunction(S.L, new_thread);
        if (lua_pcall(S.L, 0, 1, 0) != LUA_OK) {
            /* the error is Lua's preallocated memory-error string */
            lua_pushvalue(S.L, -1);
            task_finish(t, TS_FAILED, 0);
            return;
        }
        co = lua_tothread(S.L, -1);
        t->co_ref = luaL_ref(S.L, LUA_REGISTRYINDEX);
    }
    t->co = co;
    *extra(co) = t;
    if (!lua_checkstack(co, n + 2)) {  /* the spawner held them: only when memory runs out */
        lua_pushliteral(S.L, "not enough memory");
        lua_pushvalue(S.L, -1);
        task_finish(t, TS_FAILED, 0);
        return;
    }
    if (t->state != TS_READY) {        /* a finalizer run by those allocations cancelled it */
        thread_unpin(t);
        return;
    }
    lua_rawgeti(co, LUA_REGISTRYINDEX, t->start_ref);
    if (n > 0) {                       /* {fn, args...} */
        for (int i = 1; i <= n + 1; i++) lua_rawgeti(co, -i, i);
        lua_remove(co, -(n + 2));
    }
    luaL_unref(S.L, LUA_REGISTRYINDEX, t->start_ref);
    t->start_ref = LUA_NOREF;
    task_resume(t);
}

/* Resumes per loop turn: libuv runs timers and polls I/O between two batches,
 * so with a million runnable tasks a due timer or a readable socket is seen
 * after at most this many resumes (~1 ms), not after all of them. */
#define DRAIN_BATCH 1024
/* Of which at most START_BATCH start tasks, fewer (down to START_MIN) when the
 * tasks to resume need the room: woken tasks do not wait behind a backlog of
 * spawned ones, so they end (giving their thread back) as later ones start. */
#define START_BATCH 512
#define START_MIN 64

/* The next task to run this turn: the one queued first (before the turn began)
 * of the two queues, one FIFO as long as starts stay under their limit. */
static lode_task *next_to_run(uint64_t last, int may_start)
{
    lode_task *r = S.ready_head, *f = may_start ? S.fresh_head : NULL;
    if (r && r->queued_at > last) r = NULL;
    if (f && f->queued_at > last) f = NULL;
    if (f && (!r || f->queued_at < r->queued_at)) {
        if (!(S.fresh_head = f->next_ready)) S.fresh_tail = NULL;
        S.nfresh--;
    } else if (r) {
        if (!(S.ready_head = r->next_ready)) S.ready_tail = NULL;
        S.nready--;
        f = r;
    }
    if (f) {
        f->next_ready = NULL;
        f->queued = 0;
    }
    return f;
}

static void drain_ready(uv_idle_t *h)
{
    (void)h;
    /* Run what was queued before this turn, at most DRAIN_BATCH of it (tasks
     * queued meanwhile wait a turn); cancelled tasks in the queue don't count. */
    uint64_t last = S.queue_seq;
    long room = DRAIN_BATCH - S.nready;
    int budget = DRAIN_BATCH;
    int starts = room > START_BATCH ? START_BATCH : room < START_MIN ? START_MIN : (int)room;
    lode_task *t;
    while (budget > 0 && (t = next_to_run(last, starts > 0))) {
        if (t->state == TS_READY) {
            budget--;
            if (t->co) {
                task_resume(t);
            } else {
                starts--;
                task_start(t);
            }
        }
        task_unref(t);
    }
    while (S.npool > THREAD_POOL && S.npool > S.nfresh) {   /* the backlog is gone */
        S.npool--;
        luaL_unref(S.L, LUA_REGISTRYINDEX, S.pool[S.npool].ref);
    }
    if (!S.ready_head && !S.fresh_head && S.idle_active) {
        uv_idle_stop(&S.idle);
        S.idle_active = 0;
    }
}

/* A task of the function and nargs arguments on top of L (popped); its
 * thread comes when it first runs (task_start). */
static lode_task *task_spawn(lua_State *L, int nargs, lode_task *parent)
{
    if (nargs > 0) {
        luaL_checkstack(L, 2, "spawn");
        lua_createtable(L, nargs + 1, 0);
        lua_insert(L, -(nargs + 2));
        for (int i = nargs + 1; i >= 1; i--) lua_rawseti(L, -(i + 1), i);
    }
    int start_ref = luaL_ref(L, LUA_REGISTRYINDEX);   /* may raise: before task_alloc */
    lode_task *t = task_alloc(parent);
    if (!t) {
        luaL_unref(L, LUA_REGISTRYINDEX, start_ref);
        luaL_error(L, "spawn: out of memory");
        return NULL;
    }
    t->start_ref = start_ref;
    t->nargs = nargs;
    S.live++;
    t->live_next = S.live_head;
    if (S.live_head) S.live_head->live_prev = t;
    S.live_head = t;
    queue_ready(t);
    return t;
}

/* ---- Lua handles ----------------------------------------------------------- */

static void push_handle(lua_State *L, lode_task *t)
{
    task_handle *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->t = t;
    t->refs++;
    t->handles++;
    luaL_setmetatable(L, LODE_TASK_MT);
}

static lode_task *check_handle(lua_State *L, int idx)
{
    task_handle *h = luaL_checkudata(L, idx, LODE_TASK_MT);
    if (!h->t) luaL_argerror(L, idx, "task handle is closed");
    return h->t;
}

static int handle_gc(lua_State *L)
{
    task_handle *h = luaL_checkudata(L, 1, LODE_TASK_MT);
    if (h->t) {
        h->t->handles--;
        task_unref(h->t);
        h->t = NULL;
    }
    return 0;
}

int lode_l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (!S.initialized) return luaL_error(L, "lode.spawn: the runtime is not running");
    int nargs = lua_gettop(L) - 1;
    lode_task *t = task_spawn(L, nargs, lode_task_of(L));
    push_handle(L, t);
    return 1;
}

int lode_l_future(lua_State *L)
{
    lode_task *t = task_alloc(NULL);
    if (!t) return luaL_error(L, "future: out of memory");
    t->is_future = 1;
    t->state = TS_PENDING;
    t->refs = 0;
    push_handle(L, t);
    return 1;
}

static int push_results(lua_State *L, lode_task *t)
{
    if (t->state == TS_OK) {
        if (t->nresults == 0) return 0;
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->result_ref);
        if (t->nresults == 1) return 1;
        lua_getfield(L, -1, "n");
        int n = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        luaL_checkstack(L, n, "too many results");
        for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
        lua_remove(L, -n - 1);
        return n;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->error_ref);
    t->observed = 1;
    return -1;
}

typedef struct {
    lode_op op;
    waiter w;
    lode_task *target;
    uv_timer_t timer;
    int timer_started;
    int timed_out;
    int want_values;      /* await: results; wait: a boolean */
} await_op;

static void await_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void await_release(lode_op *op)
{
    await_op *a = (await_op *)op;
    waiter_remove(&a->w);
    if (a->target) task_unref(a->target);
    if (a->timer_started) uv_close((uv_handle_t *)&a->timer, await_timer_closed);
    else free(a);
}

static void await_notify(waiter *w)
{
    await_op *a = (await_op *)((char *)w - offsetof(await_op, w));
    if (a->timer_started) uv_timer_stop(&a->timer);
    if (!a->op.done) lode_op_done(&a->op);
}

static void await_timeout(uv_timer_t *tm)
{
    await_op *a = tm->data;
    a->timed_out = 1;
    waiter_remove(&a->w);
    if (!a->op.done) lode_op_done(&a->op);
}

static void await_cancel(lode_op *op)
{
    await_op *a = (await_op *)op;
    waiter_remove(&a->w);
    if (a->timer_started) uv_timer_stop(&a->timer);
    lode_op_done(op);
}

static int await_push(lua_State *L, lode_op *op)
{
    await_op *a = (await_op *)op;
    if (!a->want_values) {
        lua_pushboolean(L, !a->timed_out && task_finished(a->target));
        return 1;
    }
    return push_results(L, a->target);
}

/* handle:await() -> the task's results, or raises its error */
static int handle_await(lua_State *L)
{
    lode_task *t = check_handle(L, 1);
    if (t == lode_task_of(L)) return luaL_error(L, "a task cannot await itself");
    if (task_finished(t)) {
        int n = push_results(L, t);
        if (n < 0) return lua_error(L);
        return n;
    }
    await_op *a = (await_op *)lode_op_new(L, sizeof *a, "await", await_push,
                                          await_cancel, await_release);
    a->target = t;
    t->refs++;
    a->want_values = 1;
    a->w.notify = await_notify;
    waiter_add(t, &a->w);
    return lode_op_yield(L, &a->op);
}

/* handle:wait([ms]) -> true when finished, false when ms elapsed first */
static int handle_wait(lua_State *L)
{
    lode_task *t = check_handle(L, 1);
    lua_Integer ms = luaL_optinteger(L, 2, -1);
    if (t == lode_task_of(L)) return luaL_error(L, "a task cannot wait for itself");
    if (task_finished(t)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    await_op *a = (await_op *)lode_op_new(L, sizeof *a, "wait", await_push,
                                          await_cancel, await_release);
    a->target = t;
    t->refs++;
    a->w.notify = await_notify;
    waiter_add(t, &a->w);
    if (ms >= 0) {
        uv_timer_init(&S.loop, &a->timer);
        a->timer.data = a;
        a->timer_started = 1;
        uv_timer_start(&a->timer, await_timeout, (uint64_t)ms, 0);
    }
    return lode_op_yield(L, &a->op);
}

static int handle_cancel(lua_State *L)
{
    lode_task *t = check_handle(L, 1);
    if (t->state == TS_RUNNING) return luaL_error(L, "a running task cannot cancel itself; raise an error instead");
    if (t->is_future && t->state == TS_PENDING) {
        push_cancel_error(L);
        lua_pushliteral(L, "future cancelled");
        lua_xmove(L, S.L, 2);
        task_finish(t, TS_CANCELLED, 0);
    } else {
        task_cancel(t);
    }
    return 0;
}

static const char *state_name(task_state s)
{
    switch (s) {
    case TS_READY: return "ready";
    case TS_RUNNING: return "running";
    case TS_WAITING: return "waiting";
    case TS_PENDING: return "pending";
    case TS_OK: return "ok";
    case TS_FAILED: return "failed";
    case TS_CANCELLED: return "cancelled";
    }
    return "?";
}

static int handle_status(lua_State *L)
{
    lua_pushstring(L, state_name(check_handle(L, 1)->state));
    return 1;
}

static int handle_done(lua_State *L)
{
    lua_pushboolean(L, task_finished(check_handle(L, 1)));
    return 1;
}

/* handle:error() -> error value, traceback (nil when it did not fail) */
static int handle_error(lua_State *L)
{
    lode_task *t = check_handle(L, 1);
    if (t->error_ref == LUA_NOREF) return 0;
    t->observed = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->error_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->traceback_ref);
    return 2;
}

/* future:set(...) and future:fail(err) */
static int future_complete(lua_State *L, int ok)
{
    lode_task *t = check_handle(L, 1);
    if (!t->is_future) return luaL_argerror(L, 1, "not a future");
    if (t->state != TS_PENDING) {
        lua_pushboolean(L, 0);     /* already set or cancelled */
        return 1;
    }
    if (ok) {
        int n = lua_gettop(L) - 1;
        lua_xmove(L, S.L, n);
        task_finish(t, TS_OK, n);
    } else {
        lua_settop(L, 2);
        const char *msg = safe_tostring(L, 2);
        lua_pushstring(L, msg);
        lua_remove(L, -2);
        lua_xmove(L, S.L, 2);
        task_finish(t, TS_FAILED, 0);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int future_set(lua_State *L) { return future_complete(L, 1); }
static int future_fail(lua_State *L) { return future_complete(L, 0); }

/* Whether anyone is waiting on this handle (a semaphore skips dead waiters). */
static int handle_waited(lua_State *L)
{
    lua_pushboolean(L, check_handle(L, 1)->waiters != NULL);
    return 1;
}

static int handle_index_name(lua_State *L)
{
    lode_task *t = check_handle(L, 1);
    lua_pushstring(L, lode_task_name(t));
    return 1;
}

static int handle_tostring(lua_State *L)
{
    task_handle *h = luaL_checkudata(L, 1, LODE_TASK_MT);
    if (!h->t) lua_pushliteral(L, "lode.task (closed)");
    else lua_pushfstring(L, "lode.task #%d %s (%s)", (int)h->t->id,
                         lode_task_name(h->t), state_name(h->t->state));
    return 1;
}

/* ---- wait_all ---------------------------------------------------------------- */

typedef struct wait_all_waiter wait_all_waiter;
typedef struct {
    lode_op op;
    int n, remaining, failed;   /* failed: 1-based index or 0 */
    wait_all_waiter *ws;
} wait_all_op;

struct wait_all_waiter {
    waiter w;                   /* first member: notify casts back */
    wait_all_op *owner;
    int index;
    lode_task *t;
};

static void wait_all_notify(waiter *w)
{
    wait_all_waiter *ww = (wait_all_waiter *)w;
    wait_all_op *a = ww->owner;
    if (a->op.done) return;
    if (ww->t->state != TS_OK) a->failed = ww->index;
    if (a->failed || --a->remaining == 0) lode_op_done(&a->op);
}

static void wait_all_cancel(lode_op *op)
{
    wait_all_op *a = (wait_all_op *)op;
    for (int i = 0; i < a->n; i++) waiter_remove(&a->ws[i].w);
    lode_op_done(op);
}

static void wait_all_release(lode_op *op)
{
    wait_all_op *a = (wait_all_op *)op;
    wait_all_waiter *ws = a->ws;
    for (int i = 0; i < a->n; i++) {
        waiter_remove(&ws[i].w);
        task_unref(ws[i].t);
    }
    free(ws);
    free(a);
}

static int wait_all_push(lua_State *L, lode_op *op)
{
    wait_all_op *a = (wait_all_op *)op;
    if (a->failed) lua_pushinteger(L, a->failed);
    else lua_pushnil(L);
    return 1;
}

int lode_l_wait_all(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)luaL_len(L, 1);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        lode_task *t = check_handle(L, -1);
        lua_pop(L, 1);
        if (task_finished(t) && t->state != TS_OK) {
            lua_pushinteger(L, i);
            return 1;
        }
    }
    wait_all_op *a = (wait_all_op *)lode_op_new(L, sizeof *a, "lode.all", wait_all_push,
                                                wait_all_cancel, wait_all_release);
    wait_all_waiter *ws = calloc((size_t)(n ? n : 1), sizeof *ws);
    if (!ws) {
        free(a);
        return luaL_error(L, "lode.all: out of memory");
    }
    a->ws = ws;
    a->n = n;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        lode_task *t = check_handle(L, -1);
        lua_pop(L, 1);
        ws[i].owner = a;
        ws[i].index = i + 1;
        ws[i].t = t;
        t->refs++;
        ws[i].w.notify = wait_all_notify;
        if (!task_finished(t)) {
            a->remaining++;
            waiter_add(t, &ws[i].w);
        }
    }
    if (a->remaining == 0) a->op.done = 1;
    return lode_op_yield(L, &a->op);
}

int lode_l_current(lua_State *L)
{
    lode_task *t = lode_task_of(L);
    if (!t) return 0;
    push_handle(L, t);
    return 1;
}

int lode_l_set_task_name(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lode_task *t = lode_task_of(L);
    if (!t) return luaL_error(L, "set_task_name: not in a task");
    char *copy = strdup(name);
    if (!copy) return luaL_error(L, "out of memory");
    free(t->name);
    t->name = copy;
    return 0;
}

int lode_l_live_tasks(lua_State *L)
{
    lua_pushinteger(L, S.live);
    return 1;
}

/* coroutine.running(), as Lua's; a task whose thread it hands to Lua code
 * keeps that thread to itself: the thread is not given to a later task, so a
 * value kept from coroutine.running() (a weak table's key, a status check)
 * never turns into another task's coroutine. */
static int co_running(lua_State *L)
{
    int ismain = lua_pushthread(L);
    lode_task *t = *extra(L);
    if (t && t->co == L) t->exposed = 1;
    lua_pushboolean(L, ismain);
    return 2;
}

void lode_sched_open(lua_State *L)
{
    if (lua_getglobal(L, "coroutine") == LUA_TTABLE) {
        lua_pushcfunction(L, co_running);
        lua_setfield(L, -2, "running");
    }
    lua_pop(L, 1);
    static const luaL_Reg methods[] = {
        {"await", handle_await},
        {"wait", handle_wait},
        {"cancel", handle_cancel},
        {"status", handle_status},
        {"done", handle_done},
        {"error", handle_error},
        {"set", future_set},
        {"fail", future_fail},
        {"waited", handle_waited},
        {"name", handle_index_name},
        {NULL, NULL}
    };
    lode_new_class(L, LODE_TASK_MT, methods, handle_gc, NULL, handle_tostring);
}

/* ---- runtime lifetime -------------------------------------------------------- */

int lode_runtime_init(lua_State *L)
{
    memset(&S, 0, sizeof S);
    if (uv_loop_init(&S.loop) != 0) return -1;
    uv_idle_init(&S.loop, &S.idle);
    sleep_timers_init(&S.loop);
    S.L = L;
    *extra(L) = NULL;
    S.initialized = 1;
    lode_error_init(L);
    lode_sched_open(L);
    return 0;
}

int lode_runtime_run_main(lua_State *L, int nargs)
{
    lode_task *t = task_spawn(L, nargs, NULL);
    int deadlock = 0;
    t->refs++;           /* ours, to read the outcome */
    t->handles++;        /* keep the results */
    S.main = t;
    while (!task_finished(t)) {
        uv_run(&S.loop, UV_RUN_DEFAULT);
        if (!task_finished(t) && !S.ready_head && !S.fresh_head && !uv_loop_alive(&S.loop)) {
            /* Nothing can ever wake it: report a deadlock instead of hanging. */
            deadlock = 1;
            task_cancel(t);
        }
    }
    S.main = NULL;
    int rc = 0;
    if (deadlock) {
        rc = 1;
        lode_push_error(L, "lode", "deadlock",
                        "the main task waits for something that can never happen "
                        "(a future nobody sets, or tasks awaiting each other)", 0);
        lua_pushliteral(L, "deadlock: no pending I/O, timers or runnable tasks");
    } else if (t->state == TS_OK) {
        if (t->nresults == 1) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, t->result_ref);
        } else if (t->nresults > 1) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, t->result_ref);
            lua_rawgeti(L, -1, 1);
            lua_remove(L, -2);
        } else {
            lua_pushnil(L);
        }
    } else {
        rc = 1;
        t->observed = 1;
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->error_ref);
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->traceback_ref);
    }
    t->handles--;
    task_unref(t);
    return rc;
}

typedef struct shutdown_hook {
    void (*fn)(void *);
    void *ud;
    struct shutdown_hook *next;
} shutdown_hook;
static shutdown_hook *hooks;

void lode_on_shutdown(void (*fn)(void *), void *ud)
{
    shutdown_hook *h = malloc(sizeof *h);
    if (!h) return;
    h->fn = fn;
    h->ud = ud;
    h->next = hooks;
    hooks = h;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

void lode_cleanup_hold(void) { S.cleanups++; }

void lode_cleanup_release(void)
{
    assert(S.cleanups > 0);
    S.cleanups--;
}

static void cleanup_timer_fired(uv_timer_t *t) { *(int *)t->data = 1; }

/* Run the loop until every clean-up request in flight has ended, or for at
 * most LODE_CLEANUP_WAIT_MS: the shutdown hooks cancel whatever is left, and
 * a multipart upload whose abort is cancelled stays open (and billed) on S3. */
static void wait_for_cleanups(void)
{
    static uv_timer_t timer;           /* static: closed on a later loop turn */
    int expired = 0;
    if (S.cleanups == 0) return;
    uv_timer_init(&S.loop, &timer);
    timer.data = &expired;
    uv_timer_start(&timer, cleanup_timer_fired, LODE_CLEANUP_WAIT_MS, 0);
    while (S.cleanups > 0 && !expired) uv_run(&S.loop, UV_RUN_ONCE);
    if (S.cleanups > 0)
        lode_logf(LODE_LOG_WARN, "%d clean-up request(s) still in flight after %d ms: cancelled at exit",
                  S.cleanups, LODE_CLEANUP_WAIT_MS);
    uv_timer_stop(&timer);
    timer.data = NULL;
    uv_close((uv_handle_t *)&timer, NULL);
}

void lode_runtime_shutdown(lua_State *L)
{
    /* The run is over: cancel what is still running, let the clean-up that
     * cancelling started (multipart aborts) land, then let every binding
     * close its handles, and give libuv the turns it needs to call back. */
    while (S.live_head) task_cancel(S.live_head);
    wait_for_cleanups();
    while (hooks) {
        shutdown_hook *h = hooks;
        hooks = h->next;
        h->fn(h->ud);
        free(h);
    }
    uv_run(&S.loop, UV_RUN_NOWAIT);
    lode_task *t;                     /* cancelled tasks still queued */
    while ((t = next_to_run(UINT64_MAX, 1))) task_unref(t);
    S.npool = 0;                      /* lua_close frees the threads */
    lua_close(L);
    S.L = NULL;
    S.initialized = 0;
    if (S.idle_active) uv_idle_stop(&S.idle);
    uv_close((uv_handle_t *)&S.idle, NULL);
    sleep_timers_close();
    while (uv_run(&S.loop, UV_RUN_DEFAULT)) {}
    if (uv_loop_close(&S.loop) == UV_EBUSY) {
        uv_walk(&S.loop, close_walk, NULL);
        while (uv_run(&S.loop, UV_RUN_DEFAULT)) {}
        uv_loop_close(&S.loop);
    }
    lode_mem_release();
}
