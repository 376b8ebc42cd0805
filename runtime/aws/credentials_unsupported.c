/* credentials_unsupported.c — providers lode does not implement yet (sso).
 * Each detects its configuration exactly as botocore does and then fails,
 * so that a later source (say the same profile's static keys) never answers
 * for a profile botocore would resolve otherwise: different credentials
 * would be wrong data, not a fallback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials_internal.h"

static void unsupported_resolve(creds_source *s, creds_result *res)
{
    creds_profiles pr;
    char why[512];
    if (creds_profiles_load(&pr, why, sizeof why) != 0) {
        creds_fail(res, "InvalidConfig", 0, "%s", why);
        return;
    }
    const creds_section *prof = creds_ini_section(&pr.profiles, s->profile);
    const char *configured = NULL;
    if (creds_section_get(prof, "sso_role_name") || creds_section_get(prof, "sso_account_id"))
        configured = "sso_role_name/sso_account_id";
    if (configured)
        creds_fail(res, "CredentialRetrievalError", 0,
                   "profile '%s' sets %s: the %s provider is not supported by lode yet", s->profile, configured,
                   s->name);
    else
        creds_skip(res, "not configured for profile '%s'", s->profile);
    creds_profiles_free(&pr);
}

static void source_free(creds_source *s) { free(s); }

creds_source *creds_source_unsupported(const char *name)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = name;
    s->resolve = unsupported_resolve;
    s->free = source_free;
    return s;
}
