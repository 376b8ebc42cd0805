/* log.c — leveled logs on stderr: text for a terminal, JSON lines for machines.
 * Owns the log configuration; messages are written whole with one fwrite so
 * lines from concurrent tasks never interleave. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include <cjson/cJSON.h>

#include "lode.h"

static struct {
    lode_log_level level;
    int json;
    int color;
    char run_id[64];
    char pipeline[128];
} G = { LODE_LOG_INFO, 0, -1, "", "" };

static const char *const names[] = {"debug", "info", "warn", "error", "off"};

void lode_log_set_level(lode_log_level level) { G.level = level; }
lode_log_level lode_log_get_level(void) { return G.level; }
void lode_log_set_json(int on) { G.json = on; }
int lode_log_enabled(lode_log_level level) { return level >= G.level && G.level != LODE_LOG_OFF; }

void lode_log_set_run(const char *run_id, const char *pipeline)
{
    snprintf(G.run_id, sizeof G.run_id, "%s", run_id ? run_id : "");
    snprintf(G.pipeline, sizeof G.pipeline, "%s", pipeline ? pipeline : "");
}

int lode_log_parse_level(const char *s)
{
    for (int i = 0; i <= LODE_LOG_OFF; i++)
        if (strcasecmp(s, names[i]) == 0) return i;
    if (strcasecmp(s, "warning") == 0) return LODE_LOG_WARN;
    return -1;
}

static void now_iso(char *buf, size_t n, int with_date)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    if (with_date)
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(tv.tv_usec / 1000));
    else
        snprintf(buf, n, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(tv.tv_usec / 1000));
}

static void write_all(const char *s, size_t n)
{
    fwrite(s, 1, n, stderr);
    fflush(stderr);
}

void lode_log_fields(lode_log_level level, const char *task, const char *msg,
                     cJSON *fields)
{
    if (!lode_log_enabled(level)) {
        cJSON_Delete(fields);
        return;
    }
    if (!task) task = lode_task_name(NULL);
    char ts[96];
    if (G.json) {
        now_iso(ts, sizeof ts, 1);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "level", names[level]);
        if (G.pipeline[0]) cJSON_AddStringToObject(o, "pipeline", G.pipeline);
        cJSON_AddStringToObject(o, "task", task);
        if (G.run_id[0]) cJSON_AddStringToObject(o, "run_id", G.run_id);
        cJSON_AddStringToObject(o, "msg", msg);
        if (fields) cJSON_AddItemToObject(o, "fields", fields);
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (s) {
            size_t n = strlen(s);
            s[n] = '\n';   /* cJSON's buffer always has room for the NUL we replace */
            write_all(s, n + 1);
            free(s);
        }
        return;
    }
    if (G.color < 0) G.color = isatty(2) && getenv("NO_COLOR") == NULL;
    static const char *const colors[] = {"\033[2m", "\033[36m", "\033[33m", "\033[31m", ""};
    now_iso(ts, sizeof ts, 0);
    char *extra = NULL;
    size_t extra_n = 0;
    FILE *mem = open_memstream(&extra, &extra_n);
    if (mem && fields) {
        for (cJSON *f = fields->child; f; f = f->next) {
            if (cJSON_IsString(f)) {
                const char *v = f->valuestring;
                int quote = strpbrk(v, " \t\"=") != NULL || !*v;
                fprintf(mem, quote ? " %s=\"%s\"" : " %s=%s", f->string, v);
            } else {
                char *v = cJSON_PrintUnformatted(f);
                if (v) fprintf(mem, " %s=%s", f->string, v);
                free(v);
            }
        }
    }
    if (mem) fclose(mem);
    char *line = NULL;
    size_t line_n = 0;
    FILE *out = open_memstream(&line, &line_n);
    if (out) {
        if (G.color)
            fprintf(out, "\033[2m%s\033[0m %s%-5s\033[0m \033[1m%s\033[0m %s%s\n", ts,
                    colors[level], names[level], task, msg, extra ? extra : "");
        else
            fprintf(out, "%s %-5s %s %s%s\n", ts, names[level], task, msg, extra ? extra : "");
        fclose(out);
        write_all(line, line_n);
    }
    free(line);
    free(extra);
    cJSON_Delete(fields);
}

void lode_logf(lode_log_level level, const char *fmt, ...)
{
    if (!lode_log_enabled(level)) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lode_log_fields(level, NULL, buf, NULL);
}
