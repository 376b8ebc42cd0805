/* lode/core/task.h — tasks, the run queue, and the one way a C binding waits.
 *
 * A task is a Lua thread resumed only from the scheduler's run queue. A binding
 * that does I/O allocates a lode_op (its own struct with lode_op as the first
 * member), starts the I/O, and returns lode_op_yield(). Loop callbacks never
 * touch Lua: they call lode_op_done(), which queues the task; when the
 * scheduler resumes it, op->push runs in the task and pushes the results.
 *
 *   static int my_push(lua_State *L, lode_op *op) { ... return nresults; }
 *   static int l_thing(lua_State *L) {
 *       my_op *m = (my_op *)lode_op_new(L, sizeof *m, "thing", my_push, my_cancel, NULL);
 *       start_io(m);                      // its callback calls lode_op_done(&m->op)
 *       return lode_op_yield(L, &m->op);
 *   }
 *
 * Ownership: the scheduler owns the op from lode_op_new to its end. After
 * push (or after a cancelled op's lode_op_done), op->release is called once; with no
 * release hook the op is free()d. A release hook that must wait (uv_close) frees
 * the op itself later with free().
 */
#ifndef LODE_TASK_H
#define LODE_TASK_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include <uv.h>

typedef struct lode_task lode_task;
typedef struct lode_op lode_op;

/* Push the operation's results on L; return their count, or -1 with an error
 * value on top of the stack (it is raised after the op is released). */
typedef int (*lode_op_push_fn)(lua_State *L, lode_op *op);
/* Stop the I/O of a task that is being cancelled; lode_op_done must still be
 * called exactly once, now or later. */
typedef void (*lode_op_cancel_fn)(lode_op *op);
/* Release binding state; responsible for free(op) when set. */
typedef void (*lode_op_release_fn)(lode_op *op);

struct lode_op {
    lode_task *task;            /* NULL once the waiting task was cancelled */
    lode_op_push_fn push;
    lode_op_cancel_fn cancel;
    lode_op_release_fn release;
    const char *what;           /* operation name, for errors and debugging */
    int done;                   /* lode_op_done was called */
};

/* The loop every binding schedules its I/O on. */
uv_loop_t *lode_loop(void);
/* The state that owns every task; use it for luaL_ref/unref from callbacks. */
lua_State *lode_main_state(void);

/* The task running L, or NULL when L is not a lode task's thread. */
lode_task *lode_task_of(lua_State *L);
/* Raise a clear error unless L is a task that may yield now. */
void lode_check_task(lua_State *L, const char *what);

/* Allocate a zeroed op of `size` bytes for the task running L (raises when L
 * is not a task). */
lode_op *lode_op_new(lua_State *L, size_t size, const char *what,
                     lode_op_push_fn push, lode_op_cancel_fn cancel,
                     lode_op_release_fn release);
/* Suspend the task until lode_op_done(op); use as `return lode_op_yield(L, op);`.
 * If the op is already done, results are pushed at once without yielding. */
int lode_op_yield(lua_State *L, lode_op *op);
/* Mark the op complete; called from loop callbacks, never resumes Lua itself. */
void lode_op_done(lode_op *op);

/* Task name for logs ("main" or the pipeline task's name); never NULL. */
const char *lode_task_name(lode_task *t);

/* Whether the run is a dry run (`lode plan`). */
int lode_dry_run(void);
void lode_set_dry_run(int on);

/* Milliseconds on the loop's monotonic clock. */
uint64_t lode_now_ms(void);

/* Call fn(ud) when the run ends, before the loop closes: bindings close
 * their libuv handles and connections here. */
void lode_on_shutdown(void (*fn)(void *), void *ud);

/* A clean-up request in flight that must land even when the run is ending
 * (a multipart upload's abort): at exit the runtime keeps the loop running
 * until every hold is released, for at most LODE_CLEANUP_WAIT_MS, before the
 * shutdown hooks cancel what is left. Each hold is released exactly once. */
#define LODE_CLEANUP_WAIT_MS 5000
void lode_cleanup_hold(void);
void lode_cleanup_release(void);

/* Runtime lifetime, used by main and by the unit tests. */
int lode_runtime_init(lua_State *L);
/* Run `fn` (on top of L's stack, with nargs arguments below it... see main.c)
 * as the main task; drives the loop until it ends. Returns 0 and leaves the
 * results, or 1 and leaves the error value plus a traceback string. */
int lode_runtime_run_main(lua_State *L, int nargs);
void lode_runtime_shutdown(lua_State *L);

/* ---- the Lua side of tasks (lode.core), implemented in runtime/core/sched.c
 * and registered by bindings/core.c ---------------------------------------- */

#define LODE_TASK_MT "lode.core.task"

/* core.spawn(fn, ...) -> handle */
int lode_l_spawn(lua_State *L);
/* core.future() -> handle that completes with :set(...) or :fail(err) */
int lode_l_future(lua_State *L);
/* core.sleep(ms) */
int lode_l_sleep(lua_State *L);
/* core.wait_all({handles}) -> nil when all succeeded, or the index of the
 * first one that failed (the others keep running). */
int lode_l_wait_all(lua_State *L);
/* core.current() -> handle of the running task, or nil */
int lode_l_current(lua_State *L);
/* core.set_task_name(name) for the running task */
int lode_l_set_task_name(lua_State *L);
/* core.live_tasks() -> count of tasks not yet finished */
int lode_l_live_tasks(lua_State *L);
/* Install the handle metatable. */
void lode_sched_open(lua_State *L);

#endif
