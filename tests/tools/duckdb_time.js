#!/usr/bin/env node
// duckdb_time.js — run SQL in a fresh in-memory DuckDB and print
// "<milliseconds> <rows in the result>" for the last statement (the earlier
// ones are setup and not timed). For benchmarks against a peer tool.
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const stmts = process.argv.slice(2);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  for (const sql of stmts.slice(0, -1)) await conn.run(sql);
  const t0 = process.hrtime.bigint();
  const reader = await conn.runAndReadAll(stmts[stmts.length - 1]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`${ms.toFixed(1)} ${reader.currentRowCount}\n`);
  conn.closeSync();
  instance.closeSync();
}
main();
