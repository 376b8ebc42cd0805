/* core/timer.c — the timers behind lode.sleep: one uv_timer for every
 * sleeping task.
 *
 * Owns: the shared uv_timer (closed by sleep_timers_close), the heap of
 * sleep buckets and each bucket (freed when it fires or its last sleep is
 * cancelled). A sleep_op is a lode_op: the scheduler owns it from
 * lode_l_sleep to its release. The timer callback only calls lode_op_done. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lode.h"
#include "lode/core/mem.h"
#include "timer.h"

/* Every lode.sleep shares one uv_timer. Sleeps with the same deadline (ms)
 * queue in one bucket, FIFO, and the buckets sit in a binary min-heap by
 * (deadline, seq); a new sleep joins the bucket the previous one went to when
 * their deadlines match (a batch of tasks sleeping the same time: O(1) each,
 * no heap work). One uv_timer per sleep cost an insertion and a removal in
 * libuv's pointer heap, which at 1 M pending sleeps is ~20 cache misses each
 * (17 % of the 1 M-task bench's CPU, against nothing at 10 k). */
typedef struct sleep_bucket sleep_bucket;
typedef struct sleep_op sleep_op;
struct sleep_op {
    lode_op op;
    sleep_bucket *b;                  /* NULL once fired or cancelled */
    sleep_op *next, *prev;
};
struct sleep_bucket {
    uint64_t deadline, seq;
    sleep_op *head, *tail;
    size_t hi;                        /* index in T.heap */
};

static struct {
    uv_loop_t *loop;
    uv_timer_t timer;                 /* one timer for every lode.sleep */
    sleep_bucket **heap;              /* min-heap of buckets by (deadline, seq) */
    size_t n, cap;
    uint64_t next_seq;
    sleep_bucket *last;               /* where the latest sleep went */
} T;

static int bucket_before(const sleep_bucket *a, const sleep_bucket *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_put(size_t i, sleep_bucket *b)
{
    T.heap[i] = b;
    b->hi = i;
}

static void heap_up(size_t i)
{
    sleep_bucket *b = T.heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bucket_before(b, T.heap[parent])) break;
        heap_put(i, T.heap[parent]);
        i = parent;
    }
    heap_put(i, b);
}

static void heap_down(size_t i)
{
    sleep_bucket *b = T.heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= T.n) break;
        if (c + 1 < T.n && bucket_before(T.heap[c + 1], T.heap[c])) c++;
        if (!bucket_before(T.heap[c], b)) break;
        heap_put(i, T.heap[c]);
        i = c;
    }
    heap_put(i, b);
}

/* Take b out of the heap and free it (its sleeps are the caller's). */
static void bucket_drop(sleep_bucket *b)
{
    size_t i = b->hi;
    if (--T.n != i) {
        sleep_bucket *last = T.heap[T.n];
        heap_put(i, last);
        heap_down(i);
        heap_up(last->hi);
    }
    if (T.last == b) T.last = NULL;
    lode_mem_free(b, sizeof *b);
}

static void sleeps_fire(uv_timer_t *tm);

/* Point the shared timer at the earliest deadline; stop it when none is
 * left, so a run with nothing else to do ends (or reports its deadlock). */
static void sleeps_arm(void)
{
    if (T.n == 0) {
        uv_timer_stop(&T.timer);
        return;
    }
    uint64_t now = uv_now(T.loop), due = T.heap[0]->deadline;
    uv_timer_start(&T.timer, sleeps_fire, due > now ? due - now : 0, 0);
}

/* Every bucket that is due, in deadline order; lode_op_done only queues. */
static void sleeps_fire(uv_timer_t *tm)
{
    (void)tm;
    uint64_t now = uv_now(T.loop);
    while (T.n > 0 && T.heap[0]->deadline <= now) {
        sleep_bucket *b = T.heap[0];
        sleep_op *s = b->head;
        bucket_drop(b);
        while (s) {
            sleep_op *next = s->next;
            s->b = NULL;
            s->next = s->prev = NULL;
            lode_op_done(&s->op);
            s = next;
        }
    }
    sleeps_arm();
}

/* Add s to the bucket of `deadline` (the last one used, or a new one). */
static int sleeps_add(sleep_op *s, uint64_t deadline)
{
    sleep_bucket *b = T.last;
    if (!b || b->deadline != deadline) {
        if (T.n == T.cap) {
            size_t cap = T.cap ? T.cap * 2 : 64;
            sleep_bucket **h = realloc(T.heap, cap * sizeof *h);
            if (!h) return -1;
            T.heap = h;
            T.cap = cap;
        }
        b = lode_mem_calloc(sizeof *b);
        if (!b) return -1;
        b->deadline = deadline;
        b->seq = T.next_seq++;
        T.heap[T.n] = b;
        b->hi = T.n++;
        heap_up(b->hi);
        T.last = b;
        if (b->hi == 0) sleeps_arm();   /* the new earliest */
    }
    s->b = b;
    s->prev = b->tail;
    if (b->tail) b->tail->next = s;
    else b->head = s;
    b->tail = s;
    return 0;
}

static void sleep_release(lode_op *op) { lode_mem_free(op, sizeof(sleep_op)); }
static void sleep_cancel(lode_op *op)
{
    sleep_op *s = (sleep_op *)op;
    sleep_bucket *b = s->b;
    if (b) {
        if (s->prev) s->prev->next = s->next;
        else b->head = s->next;
        if (s->next) s->next->prev = s->prev;
        else b->tail = s->prev;
        s->b = NULL;
        s->next = s->prev = NULL;
        if (!b->head) {
            int was_first = b->hi == 0;
            bucket_drop(b);
            if (was_first) sleeps_arm();
        }
    }
    lode_op_done(op);
}
static int sleep_push(lua_State *L, lode_op *op) { (void)L; (void)op; return 0; }

int lode_l_sleep(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_argcheck(L, ms >= 0, 1, "sleep time must be >= 0 ms");
    lode_check_task(L, "lode.sleep");
    sleep_op *s = lode_mem_calloc(sizeof *s);
    if (!s) return luaL_error(L, "lode.sleep: out of memory");
    s->op.task = lode_task_of(L);
    s->op.push = sleep_push;
    s->op.cancel = sleep_cancel;
    s->op.release = sleep_release;
    s->op.what = "lode.sleep";
    /* as uv_timer_start: due at the loop's cached time plus ms */
    uint64_t now = uv_now(T.loop);
    uint64_t deadline = (uint64_t)ms > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)ms;
    if (sleeps_add(s, deadline) != 0) {
        lode_mem_free(s, sizeof *s);
        return luaL_error(L, "lode.sleep: out of memory");
    }
    return lode_op_yield(L, &s->op);
}

void sleep_timers_init(uv_loop_t *loop)
{
    memset(&T, 0, sizeof T);
    T.loop = loop;
    uv_timer_init(loop, &T.timer);
}

void sleep_timers_close(void)
{
    uv_close((uv_handle_t *)&T.timer, NULL);
    while (T.n > 0) {                 /* sleeps of tasks nobody cancelled (none after the shutdown's cancels) */
        sleep_bucket *b = T.heap[0];
        for (sleep_op *s = b->head; s; s = s->next) s->b = NULL;
        bucket_drop(b);
    }
    free(T.heap);
    T.heap = NULL;
    T.cap = 0;
}
