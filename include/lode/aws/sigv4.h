/* lode/aws/sigv4.h — AWS Signature Version 4 (header signing and presigned URLs).
 *
 * Pure functions: the clock (`now`) and the credentials are parameters, never
 * read here, so the AWS test suite runs as a unit test with a fixed clock.
 * Paths and query parameters are given decoded (raw bytes); the signer encodes
 * them exactly once with the S3 rules (RFC 3986 unreserved kept, uppercase
 * %XX, `/` kept in paths only), and the same encoders build the wire URL so
 * what is signed is what is sent.
 *
 *   lode_kv hdrs[] = { {"host", "bucket.s3.amazonaws.com"}, {"x-amz-date", date},
 *                      {"x-amz-content-sha256", hash} };
 *   lode_sigv4_request r = { .method = "GET", .path = "/my key", .headers = hdrs,
 *                            .nheaders = 3, .payload_hash = hash, .region = "us-east-1",
 *                            .service = "s3", .now = time(NULL) };
 *   lode_sigv4_result out;
 *   if (lode_sigv4_sign(&r, &creds, &out) == 0) { use(out.authorization); lode_sigv4_result_free(&out); }
 */
#ifndef LODE_SIGV4_H
#define LODE_SIGV4_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const char *value;
} lode_kv;

typedef struct {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;      /* NULL or "" without temporary credentials */
} lode_aws_credentials;

typedef struct {
    const char *method;             /* "GET", "PUT", ... */
    const char *path;               /* decoded path, starting with '/' */
    const lode_kv *query;           /* decoded names/values; value NULL means "name=" */
    size_t nquery;
    const lode_kv *headers;         /* every header to sign; must include host and x-amz-date */
    size_t nheaders;
    const char *payload_hash;       /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *region;
    const char *service;
    int64_t now;                    /* Unix seconds of the request */
    int normalize_path;             /* generic services only: remove dot segments and "//"; never for S3 */
} lode_sigv4_request;

typedef struct {
    char *canonical_request;
    char *string_to_sign;
    char *authorization;            /* the Authorization header value */
    char *query;                    /* presign: the full encoded query string incl. X-Amz-Signature */
    char signature[65];
} lode_sigv4_result;

/* Sign `r` for an Authorization header. Returns 0, or -1 when out of memory. */
int lode_sigv4_sign(const lode_sigv4_request *r, const lode_aws_credentials *c, lode_sigv4_result *out);

/* Presign `r` (its headers are the signed headers, normally only host):
 * fills out->query with the X-Amz-* parameters, `r`'s own query and the
 * signature; the payload is UNSIGNED-PAYLOAD. Returns 0, or -1 when out of memory. */
int lode_sigv4_presign(const lode_sigv4_request *r, const lode_aws_credentials *c,
                       int64_t expires_seconds, lode_sigv4_result *out);

/* Free the strings of a result (safe on a zeroed result). */
void lode_sigv4_result_free(lode_sigv4_result *out);

/* "YYYYMMDDTHHMMSSZ" for `now` into buf[17]. */
void lode_sigv4_amz_date(int64_t now, char buf[17]);

/* URI-encode `len` bytes of s (keep_slash: '/' stays, for paths). Returns a
 * malloc'd string or NULL. */
char *lode_uri_encode(const char *s, size_t len, int keep_slash);

/* The canonical (sorted, encoded) query string, also valid on the wire; malloc'd or NULL. */
char *lode_sigv4_canonical_query(const lode_kv *query, size_t nquery);

/* Hex SHA-256 of data into out[65]. */
void lode_sha256_hex(const void *data, size_t len, char out[65]);

/* The SHA-256 of an empty payload. */
#define LODE_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#endif
