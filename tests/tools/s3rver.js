#!/usr/bin/env node
// tests/tools/s3rver.js — s3rver (tests/node_modules) answering suffix byte
// ranges the way S3 does. Same command line as s3rver's own bin/s3rver.js.
//
// s3rver 3.7.1 reads "Range: bytes=-N" (the last N bytes, RFC 9110 §14.1.2)
// as "bytes=0-N" and sends the object's head with a 206. Clients that read
// Parquet footers open objects with one suffix-range GET, so the tests need a
// server that answers it as S3 does: this wraps s3rver's GET Object handler
// (after authentication, so signatures stay valid) to resolve a suffix range
// against the object's size first. Buckets whose name starts with
// "s3rver-head-" keep s3rver's own answer, so tests can exercise a client's
// handling of servers that ignore suffix ranges.
'use strict';
const fs = require('fs');
const path = require('path');

const base = process.env.LODE_S3RVER_BASE || path.join(__dirname, '..', 'node_modules', 's3rver');
const objectCtrl = require(path.join(base, 'lib', 'controllers', 'object'));
const S3Error = require(path.join(base, 'lib', 'models', 'error'));
const getObject = objectCtrl.getObject;

objectCtrl.getObject = async function getObjectSuffixAware(ctx) {
  const m = /^bytes=-(\d+)$/.exec(ctx.headers.range || '');
  const bucket = ctx.params.bucket || '';
  if (m && !bucket.startsWith('s3rver-head-')) {
    let size = -1;
    try {
      size = (await fs.promises.stat(ctx.store.getResourcePath(bucket, ctx.params.key, 'object'))).size;
    } catch (e) {
      // missing object: s3rver answers NoSuchKey below
    }
    const n = Number(m[1]);
    if (size === 0) {
      // as S3: no byte of an empty object is in any range (s3rver sends a
      // 206 announcing one byte and closes the connection)
      throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
        RangeRequested: ctx.headers.range,
        ActualObjectSize: 0,
      });
    }
    if (size > 0 && n > 0) {
      ctx.headers.range = `bytes=${Math.max(0, size - n)}-`;
    }
  }
  return getObject(ctx);
};

require(path.join(base, 'bin', 's3rver.js'));
