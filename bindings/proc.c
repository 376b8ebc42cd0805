/* proc.c — lode.proc: run a program without blocking the loop.
 *
 *   local r = proc.run({"aws", "s3", "ls"}, {stdin = "...", cwd = "/tmp",
 *                       env = {AWS_REGION = "x"}, timeout = 5000})
 *   -- r.status (exit code), r.signal, r.stdout, r.stderr
 *
 * Owns: the child's uv_process_t and pipes (closed in release, the op freed
 * after the last close callback), and the captured output buffers. */
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <lauxlib.h>

#include "lode.h"

extern char **environ;

typedef struct {
    char *data;
    size_t len, cap;
} growbuf;

typedef struct {
    lode_op op;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    uv_timer_t timer;
    uv_write_t wreq;
    char *stdin_data;
    size_t stdin_len;
    growbuf obuf, ebuf;
    size_t max_output;
    int64_t status;
    int term_signal;
    int exited, out_eof, err_eof, timed_out, too_much;
    int open_handles;   /* initialised handles whose close callback has not run */
    int released;
    int spawn_error;
} proc_op;

static void on_closed(uv_handle_t *h);

static void maybe_done(proc_op *p)
{
    if (p->exited && p->out_eof && p->err_eof && !p->op.done) {
        uv_timer_stop(&p->timer);
        lode_op_done(&p->op);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static char scratch[65536];
    (void)suggested;
    buf->base = scratch;
    buf->len = sizeof scratch;
}

static void append(proc_op *p, growbuf *g, const char *s, size_t n)
{
    if (g->len + n > p->max_output) {
        p->too_much = 1;
        uv_process_kill(&p->proc, SIGKILL);
        return;
    }
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4096;
        while (cap < g->len + n) cap *= 2;
        char *d = realloc(g->data, cap);
        if (!d) {
            p->too_much = 1;
            return;
        }
        g->data = d;
        g->cap = cap;
    }
    memcpy(g->data + g->len, s, n);
    g->len += n;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    proc_op *p = s->data;
    int is_out = s == (uv_stream_t *)&p->out;
    if (n > 0) {
        append(p, is_out ? &p->obuf : &p->ebuf, buf->base, (size_t)n);
        return;
    }
    if (n < 0) {
        uv_read_stop(s);
        if (is_out) p->out_eof = 1;
        else p->err_eof = 1;
        maybe_done(p);
    }
}

static void on_child_exit(uv_process_t *proc, int64_t status, int sig)
{
    proc_op *p = proc->data;
    p->status = status;
    p->term_signal = sig;
    p->exited = 1;
    maybe_done(p);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    proc_op *p = w->data;
    if (!uv_is_closing((uv_handle_t *)&p->in))
        uv_close((uv_handle_t *)&p->in, on_closed);
}

static void on_timeout(uv_timer_t *t)
{
    proc_op *p = t->data;
    p->timed_out = 1;
    uv_process_kill(&p->proc, SIGKILL);
}

static void on_closed(uv_handle_t *h)
{
    proc_op *p = h->data;
    if (--p->open_handles == 0 && p->released) {
        free(p->obuf.data);
        free(p->ebuf.data);
        free(p->stdin_data);
        free(p);
    }
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) uv_close(h, on_closed);
}

static void proc_release(lode_op *op)
{
    proc_op *p = (proc_op *)op;
    p->released = 1;
    close_handle((uv_handle_t *)&p->proc);
    close_handle((uv_handle_t *)&p->in);
    close_handle((uv_handle_t *)&p->out);
    close_handle((uv_handle_t *)&p->err);
    close_handle((uv_handle_t *)&p->timer);
}

static void proc_cancel(lode_op *op)
{
    proc_op *p = (proc_op *)op;
    uv_process_kill(&p->proc, SIGKILL);   /* exit and EOFs complete the op */
}

static int proc_push(lua_State *L, lode_op *op)
{
    proc_op *p = (proc_op *)op;
    if (p->spawn_error) {
        lode_push_error(L, "proc.run", uv_err_name(p->spawn_error), uv_strerror(p->spawn_error), 0);
        return -1;
    }
    if (p->too_much) {
        lode_push_error(L, "proc.run", "output_too_large", "the program's output exceeded max_output", 0);
        return -1;
    }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)p->status);
    lua_setfield(L, -2, "status");
    if (p->term_signal) {
        lua_pushinteger(L, p->term_signal);
        lua_setfield(L, -2, "signal");
    }
    lua_pushboolean(L, p->timed_out);
    lua_setfield(L, -2, "timed_out");
    lua_pushlstring(L, p->obuf.data ? p->obuf.data : "", p->obuf.len);
    lua_setfield(L, -2, "stdout");
    lua_pushlstring(L, p->ebuf.data ? p->ebuf.data : "", p->ebuf.len);
    lua_setfield(L, -2, "stderr");
    return 1;
}

static int l_run(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int argc = (int)luaL_len(L, 1);
    luaL_argcheck(L, argc >= 1, 1, "argv must name a program");
    lode_check_task(L, "proc.run");
    lua_settop(L, 2);
    const char **argv = lua_newuserdatauv(L, sizeof(char *) * ((size_t)argc + 1), 0);
    lua_createtable(L, argc, 0);         /* anchors the argument strings */
    int anchor = lua_gettop(L);
    for (int i = 1; i <= argc; i++) {
        lua_rawgeti(L, 1, i);
        argv[i - 1] = luaL_tolstring(L, -1, NULL);
        lua_rawseti(L, anchor, i);
        lua_pop(L, 1);
    }
    argv[argc] = NULL;

    const char *cwd = NULL, *in = NULL;
    size_t in_len = 0;
    lua_Integer timeout = 0, max_output = 256 << 20;
    char **env = NULL;
    if (lua_istable(L, 2)) {
        if (lua_getfield(L, 2, "cwd") == LUA_TSTRING) cwd = lua_tostring(L, -1);
        if (lua_getfield(L, 2, "stdin") == LUA_TSTRING) in = lua_tolstring(L, -1, &in_len);
        if (lua_getfield(L, 2, "timeout") == LUA_TNUMBER) timeout = lua_tointeger(L, -1);
        if (lua_getfield(L, 2, "max_output") == LUA_TNUMBER) max_output = lua_tointeger(L, -1);
        if (lua_getfield(L, 2, "env") == LUA_TTABLE) {
            /* env strings: build "K=V" strings anchored in a table */
            int t = lua_gettop(L);
            size_t n = 0;
            while (environ[n]) n++;
            size_t extra = 0;
            lua_pushnil(L);
            while (lua_next(L, t)) { extra++; lua_pop(L, 1); }
            env = lua_newuserdatauv(L, sizeof(char *) * (n + extra + 1), 0);
            lua_createtable(L, (int)extra, 0);
            int strs = lua_gettop(L);
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(environ[i], '=');
                size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
                lua_pushlstring(L, environ[i], klen);
                int overridden = lua_rawget(L, t) != LUA_TNIL;
                lua_pop(L, 1);
                if (!overridden) env[k++] = environ[i];
            }
            int si = 0;
            lua_pushnil(L);
            while (lua_next(L, t)) {
                if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
                    lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
                    env[k++] = (char *)lua_tostring(L, -1);
                    lua_rawseti(L, strs, ++si);
                }
                lua_pop(L, 1);
            }
            env[k] = NULL;
        }
    }

    proc_op *p = (proc_op *)lode_op_new(L, sizeof *p, "proc.run", proc_push,
                                        proc_cancel, proc_release);
    p->max_output = (size_t)max_output;
    uv_loop_t *loop = lode_loop();
    uv_pipe_init(loop, &p->in, 0);
    uv_pipe_init(loop, &p->out, 0);
    uv_pipe_init(loop, &p->err, 0);
    uv_timer_init(loop, &p->timer);
    p->in.data = p->out.data = p->err.data = p->timer.data = p->proc.data = p;
    p->open_handles = 5;   /* uv_spawn initialises the process handle even when it fails */

    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&p->in;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&p->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&p->err;

    uv_process_options_t o;
    memset(&o, 0, sizeof o);
    o.file = argv[0];
    o.args = (char **)argv;
    o.env = env;
    o.cwd = cwd;
    o.exit_cb = on_child_exit;
    o.stdio = stdio;
    o.stdio_count = 3;
    int rc = uv_spawn(loop, &p->proc, &o);
    if (rc != 0) {
        p->spawn_error = rc;
        p->op.done = 1;
        return lode_op_yield(L, &p->op);
    }
    if (in_len > 0) {
        p->stdin_data = malloc(in_len);
        if (p->stdin_data) memcpy(p->stdin_data, in, in_len);
        p->stdin_len = in_len;
        uv_buf_t b = uv_buf_init(p->stdin_data, (unsigned)in_len);
        p->wreq.data = p;
        uv_write(&p->wreq, (uv_stream_t *)&p->in, &b, 1, on_written);
    } else {
        uv_close((uv_handle_t *)&p->in, on_closed);
    }
    uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&p->err, on_alloc, on_read);
    if (timeout > 0) uv_timer_start(&p->timer, on_timeout, (uint64_t)timeout, 0);
    return lode_op_yield(L, &p->op);
}

static void detached_closed(uv_handle_t *h) { free(h); }

/* proc.daemon(argv, {log=path, cwd=, env=}) -> pid: start a program that
 * outlives lode (a local server for `lode dev up`), stdout/stderr to log. */
static int l_daemon(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int argc = (int)luaL_len(L, 1);
    luaL_argcheck(L, argc >= 1, 1, "argv must name a program");
    const char *log = NULL, *cwd = NULL;
    if (lua_istable(L, 2)) {
        if (lua_getfield(L, 2, "log") == LUA_TSTRING) log = lua_tostring(L, -1);
        if (lua_getfield(L, 2, "cwd") == LUA_TSTRING) cwd = lua_tostring(L, -1);
    }
    const char **argv = lua_newuserdatauv(L, sizeof(char *) * ((size_t)argc + 1), 0);
    lua_createtable(L, argc, 0);
    for (int i = 1; i <= argc; i++) {
        lua_rawgeti(L, 1, i);
        argv[i - 1] = luaL_tolstring(L, -1, NULL);
        lua_rawseti(L, -3, i);
        lua_pop(L, 1);
    }
    argv[argc] = NULL;
    int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return luaL_error(L, "proc.daemon: cannot open log %s: %s", log, strerror(errno));
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fd;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fd;
    uv_process_options_t o;
    memset(&o, 0, sizeof o);
    o.file = argv[0];
    o.args = (char **)argv;
    o.cwd = cwd;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.flags = UV_PROCESS_DETACHED;
    uv_process_t *proc = calloc(1, sizeof *proc);
    if (!proc) {
        close(fd);
        return luaL_error(L, "proc.daemon: out of memory");
    }
    int rc = uv_spawn(lode_loop(), proc, &o);
    close(fd);
    int pid = proc->pid;
    uv_close((uv_handle_t *)proc, detached_closed);
    if (rc != 0)
        return lode_raise_error(L, "proc.daemon", uv_err_name(rc), uv_strerror(rc), 0);
    lua_pushinteger(L, pid);
    return 1;
}

/* proc.kill(pid [, signal=15]) -> true, or false when no such process */
static int l_kill(lua_State *L)
{
    int pid = (int)luaL_checkinteger(L, 1);
    int sig = (int)luaL_optinteger(L, 2, SIGTERM);
    luaL_argcheck(L, pid > 0, 1, "pid must be positive");
    lua_pushboolean(L, uv_kill(pid, sig) == 0);
    return 1;
}

/* proc.free_port() -> a TCP port on 127.0.0.1 that was free a moment ago */
static int l_free_port(lua_State *L)
{
    uv_tcp_t *tcp = calloc(1, sizeof *tcp);
    if (!tcp) return luaL_error(L, "out of memory");
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(lode_loop(), tcp);
    int rc = uv_tcp_bind(tcp, (const struct sockaddr *)&addr, 0);
    struct sockaddr_storage name;
    int len = sizeof name;
    if (rc == 0) rc = uv_tcp_getsockname(tcp, (struct sockaddr *)&name, &len);
    uv_close((uv_handle_t *)tcp, detached_closed);
    if (rc != 0) return lode_raise_error(L, "proc.free_port", uv_err_name(rc), uv_strerror(rc), 0);
    lua_pushinteger(L, ntohs(((struct sockaddr_in *)&name)->sin_port));
    return 1;
}

int luaopen_lode_proc(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"run", l_run},
        {"daemon", l_daemon},
        {"kill", l_kill},
        {"free_port", l_free_port},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    return 1;
}
