/* core/timer.h — private to runtime/core/: the timers behind lode.sleep
 * (timer.c), started and torn down with the runtime (sched.c). */
#ifndef LODE_CORE_TIMER_H
#define LODE_CORE_TIMER_H

#include <uv.h>

/* Initialise the shared sleep timer on loop (lode_runtime_init). */
void sleep_timers_init(uv_loop_t *loop);
/* Close the timer and free the buckets left (lode_runtime_shutdown, after
 * every task was cancelled); the loop runs the close callback later. */
void sleep_timers_close(void);

#endif
