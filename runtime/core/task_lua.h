/* task_lua.h — the scheduler's Lua-facing pieces, used by bindings/core.c.
 * The C API every binding uses is in include/lode/core/task.h. */
#ifndef LODE_TASK_LUA_H
#define LODE_TASK_LUA_H

#include <lua.h>

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
