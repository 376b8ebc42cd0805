/* lode/aws/config.h — the AWS settings the aws CLI would use: credentials,
 * region, endpoint and S3 addressing style, from the environment and the
 * shared config/credentials files (runtime/aws/config.c). The S3 client and
 * any other AWS caller start from here. Never log a secret held here. */
#ifndef LODE_AWS_CONFIG_H
#define LODE_AWS_CONFIG_H

#include <stddef.h>

typedef enum { LODE_S3_ADDR_AUTO, LODE_S3_ADDR_PATH, LODE_S3_ADDR_VIRTUAL } lode_s3_addressing;

typedef struct {
    char *profile;
    char *access_key_id, *secret_access_key, *session_token;
    char *region;
    char *endpoint_url;            /* NULL: https://s3.<region>.amazonaws.com */
    lode_s3_addressing addressing;
} lode_aws_config;

/* The profile to use when the caller names none, as botocore's session
 * setting `profile`: AWS_DEFAULT_PROFILE, then AWS_PROFILE; NULL when neither
 * is set. Every AWS caller (S3, lode.aws clients, the credential chain)
 * goes through this, so they agree on the profile. */
const char *lode_aws_env_profile(void);

/* Resolve like the aws CLI: env, then the profile in the credentials and
 * config files. profile NULL: lode_aws_env_profile() or "default". 0, or -1
 * with err. */
int lode_aws_config_load(lode_aws_config *c, const char *profile, char *err, size_t errlen);
void lode_aws_config_free(lode_aws_config *c);

#endif
