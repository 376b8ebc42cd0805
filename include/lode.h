/* lode.h — umbrella header for the lode runtime's public C API: one header
 * per subsystem under include/lode/<subsystem>/, grouped like runtime/
 * (see docs/architecture.md). Private headers stay beside their .c files. */
#ifndef LODE_H
#define LODE_H

#define LODE_VERSION "0.1.0"

/* core: scheduler and tasks, logging, structured errors, Lua helpers,
 * allocator, byte sources */
#include "lode/core/task.h"
#include "lode/core/log.h"
#include "lode/core/error.h"
#include "lode/core/luautil.h"
#include "lode/core/luajson.h"
#include "lode/core/mem.h"
#include "lode/core/source.h"
/* aws: SigV4 */
#include "lode/aws/config.h"
#include "lode/aws/sigv4.h"
#include "lode/aws/credentials.h"
#include "lode/aws/client.h"
/* http: curl multi on the loop */
#include "lode/http/http.h"
/* s3: client, the S3 byte source, opening a path or URL */
#include "lode/s3/s3.h"
#include "lode/s3/transfer.h"
#include "lode/s3/open.h"
/* pg: non-blocking libpq, statements as calls, COPY streaming */
#include "lode/pg/pg.h"
#include "lode/pg/call.h"
/* parquet: Thrift, footer model, page codecs, row reader */
#include "lode/parquet/thrift.h"
#include "lode/parquet/parquet.h"
#include "lode/parquet/codec.h"
#include "lode/parquet/read.h"
/* load: CSV, JSON, conversions, decompression, Parquet into COPY */
#include "lode/load/load.h"
#include "lode/load/decoder.h"
#include "lode/load/manifest.h"
#include "lode/load/textcopy.h"

#endif
