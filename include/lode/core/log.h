/* lode/core/log.h — leveled logs to stderr, as text for people or one JSON object
 * per line for machines. */
#ifndef LODE_LOG_H
#define LODE_LOG_H

#include <stdarg.h>

typedef enum {
    LODE_LOG_DEBUG = 0,
    LODE_LOG_INFO,
    LODE_LOG_WARN,
    LODE_LOG_ERROR,
    LODE_LOG_OFF
} lode_log_level;

struct cJSON;

void lode_log_set_level(lode_log_level level);
lode_log_level lode_log_get_level(void);
void lode_log_set_json(int on);
void lode_log_set_run(const char *run_id, const char *pipeline);
/* Parse "debug|info|warn|error|off"; returns -1 when unknown. */
int lode_log_parse_level(const char *s);
int lode_log_enabled(lode_log_level level);

/* Log a message; `task` may be NULL (the current task is used). `fields` is
 * a cJSON object or NULL and is consumed. */
void lode_log_fields(lode_log_level level, const char *task, const char *msg,
                     struct cJSON *fields);
void lode_logf(lode_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
