/* credentials_config.c — the shared config and credentials files read as
 * botocore reads them (configparser.RawConfigParser + build_profile_map):
 * keys lower-cased, '=' or ':' delimiters, whole-line '#'/';' comments,
 * indented continuation lines, a duplicate section or key is an error; the
 * config file's "[profile x]" / "[default]" sections become profiles, each
 * updated with the credentials file's section of the same name (the
 * credentials file wins). Owns every string of a creds_ini. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "credentials_internal.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

void creds_ini_free(creds_ini *ini)
{
    for (size_t i = 0; i < ini->n; i++) {
        for (size_t j = 0; j < ini->s[i].n; j++) {
            free(ini->s[i].kv[j].key);
            if (ini->s[i].kv[j].value) {
                memset(ini->s[i].kv[j].value, 0, strlen(ini->s[i].kv[j].value));
                free(ini->s[i].kv[j].value);
            }
        }
        free(ini->s[i].kv);
        free(ini->s[i].name);
    }
    free(ini->s);
    memset(ini, 0, sizeof *ini);
}

const creds_section *creds_ini_section(const creds_ini *ini, const char *name)
{
    for (size_t i = 0; i < ini->n; i++)
        if (strcmp(ini->s[i].name, name) == 0) return &ini->s[i];
    return NULL;
}

const char *creds_section_get(const creds_section *s, const char *key)
{
    if (!s) return NULL;
    for (size_t j = 0; j < s->n; j++)
        if (strcmp(s->kv[j].key, key) == 0) return s->kv[j].value;
    return NULL;
}

static creds_section *section_add(creds_ini *ini, const char *name)
{
    creds_section *ns = realloc(ini->s, (ini->n + 1) * sizeof *ns);
    if (!ns) return NULL;
    ini->s = ns;
    creds_section *s = &ini->s[ini->n];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    if (!s->name) return NULL;
    ini->n++;
    return s;
}

/* Set key in s (replacing an existing value when replace, else error). */
static int section_set(creds_section *s, const char *key, const char *value, int replace)
{
    for (size_t j = 0; j < s->n; j++)
        if (strcmp(s->kv[j].key, key) == 0) {
            if (!replace) return 1;
            char *v = strdup(value);
            if (!v) return -1;
            free(s->kv[j].value);
            s->kv[j].value = v;
            return 0;
        }
    creds_kv *nk = realloc(s->kv, (s->n + 1) * sizeof *nk);
    if (!nk) return -1;
    s->kv = nk;
    s->kv[s->n].key = strdup(key);
    s->kv[s->n].value = strdup(value);
    if (!s->kv[s->n].key || !s->kv[s->n].value) {
        free(s->kv[s->n].key);
        free(s->kv[s->n].value);
        return -1;
    }
    s->n++;
    return 0;
}

int creds_ini_read(const char *path, creds_ini *ini, char *why, size_t whylen)
{
    memset(ini, 0, sizeof *ini);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        if (path && errno != ENOENT) {
            snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
            return -1;
        }
        return 1;
    }
    char line[8192];
    creds_section *cur = NULL;
    creds_kv *last = NULL;         /* the value a continuation line extends */
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (*s == '#' || *s == ';') continue;
        if (*s == '\0') continue;
        if (indented && last) {    /* continuation: "\n" + line, as configparser */
            size_t ol = strlen(last->value), al = strlen(s);
            char *nv = realloc(last->value, ol + al + 2);
            if (!nv) goto oom;
            nv[ol] = '\n';
            memcpy(nv + ol + 1, s, al + 1);
            last->value = nv;
            continue;
        }
        if (*s == '[') {
            char *e = strrchr(s, ']');
            if (!e) goto syntax;
            *e = '\0';
            const char *name = s + 1;
            if (creds_ini_section(ini, name)) {
                snprintf(why, whylen, "%s line %d: section [%s] appears twice", path, lineno, name);
                goto fail;
            }
            cur = section_add(ini, name);
            if (!cur) goto oom;
            last = NULL;
            continue;
        }
        if (!cur) {
            snprintf(why, whylen, "%s line %d: a key before any [section] header", path, lineno);
            goto fail;
        }
        char *d = s + strcspn(s, "=:");
        if (!*d) goto syntax;
        *d = '\0';
        char *k = trim(s), *v = trim(d + 1);
        for (char *p = k; *p; p++) *p = (char)tolower((unsigned char)*p);
        int rc = section_set(cur, k, v, 0);
        if (rc < 0) goto oom;
        if (rc > 0) {
            snprintf(why, whylen, "%s line %d: key '%s' appears twice in [%s]", path, lineno, k, cur->name);
            goto fail;
        }
        last = &cur->kv[cur->n - 1];
    }
    fclose(f);
    return 0;
syntax:
    snprintf(why, whylen, "%s line %d: not a [section], key = value or comment", path, lineno);
    goto fail;
oom:
    snprintf(why, whylen, "out of memory reading %s", path);
fail:
    fclose(f);
    creds_ini_free(ini);
    return -1;
}

static char *home_path(const char *env, const char *rel)
{
    const char *p = getenv(env);
    char *out = NULL;
    if (p && *p) {
        if (p[0] == '~' && p[1] == '/' && getenv("HOME")) {
            if (asprintf(&out, "%s%s", getenv("HOME"), p + 1) < 0) return NULL;
            return out;
        }
        return strdup(p);
    }
    const char *home = getenv("HOME");
    if (!home) return NULL;
    if (asprintf(&out, "%s/%s", home, rel) < 0) return NULL;
    return out;
}

char *creds_config_path(void) { return home_path("AWS_CONFIG_FILE", ".aws/config"); }
char *creds_credentials_path(void) { return home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"); }

/* "profile  x" -> "x" when it is exactly two shell words; NULL otherwise. */
static const char *profile_name_of(const char *section, char *buf, size_t len)
{
    if (strcmp(section, "default") == 0) return "default";
    if (strncmp(section, "profile", 7) != 0) return NULL;
    const char *p = section + 7;
    if (!isspace((unsigned char)*p)) return NULL;
    while (isspace((unsigned char)*p)) p++;
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1])) n--;
    if (n == 0 || n >= len) return NULL;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)p[i]) || p[i] == '"' || p[i] == '\'') return NULL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static int merge_section(creds_ini *dst, const char *name, const creds_section *src)
{
    creds_section *d = (creds_section *)creds_ini_section(dst, name);
    if (!d && !(d = section_add(dst, name))) return -1;
    for (size_t j = 0; j < src->n; j++)
        if (section_set(d, src->kv[j].key, src->kv[j].value, 1) < 0) return -1;
    return 0;
}

int creds_profiles_load(creds_profiles *p, char *why, size_t whylen)
{
    memset(p, 0, sizeof *p);
    p->config_path = creds_config_path();
    p->credentials_path = creds_credentials_path();
    creds_ini cred = {0};
    int rc = creds_ini_read(p->config_path, &p->config, why, whylen);
    if (rc < 0) goto fail;
    p->have_config = rc == 0;
    rc = creds_ini_read(p->credentials_path, &cred, why, whylen);
    if (rc < 0) goto fail;
    for (size_t i = 0; i < p->config.n; i++) {
        char buf[256];
        const char *name = profile_name_of(p->config.s[i].name, buf, sizeof buf);
        if (name && merge_section(&p->profiles, name, &p->config.s[i]) < 0) goto oom;
    }
    for (size_t i = 0; i < cred.n; i++)
        if (merge_section(&p->profiles, cred.s[i].name, &cred.s[i]) < 0) goto oom;
    creds_ini_free(&cred);
    return 0;
oom:
    snprintf(why, whylen, "out of memory reading the AWS config files");
fail:
    creds_ini_free(&cred);
    creds_profiles_free(p);
    return -1;
}

void creds_profiles_free(creds_profiles *p)
{
    creds_ini_free(&p->config);
    creds_ini_free(&p->profiles);
    free(p->config_path);
    free(p->credentials_path);
    memset(p, 0, sizeof *p);
}

int64_t creds_parse_time(const char *s)
{
    int Y, M, D, h, m, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6) return -1;
    const char *p = s + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++) {}
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') p++;
    else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) return -1;
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    }
    if (*p) return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
    return (int64_t)timegm(&tm) - off;
}

int64_t creds_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
