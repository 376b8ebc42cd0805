#!/usr/bin/env node
// duckdb_batch.js — the conformance corpus's DuckDB oracle: reads JSON
// {"batches": [{"setup": [sql, ...], "queries": [sql, ...]}, ...]} on stdin;
// each batch runs in an in-memory DuckDB of its own (its setup statements in
// order, then each query). Prints a JSON array per batch holding each
// query's first column of its first row as a string (null for no row). A
// failure prints {"error": message, "sql": the statement} and exits 1.
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

async function runBatch(batch, state) {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    for (const sql of batch.setup || []) {
      state.current = sql;
      await conn.run(sql);
    }
    const out = [];
    for (const sql of batch.queries || []) {
      state.current = sql;
      const rows = (await conn.runAndReadAll(sql)).getRows();
      out.push(rows.length ? (rows[0][0] === null ? null : String(rows[0][0])) : null);
    }
    return out;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const state = { current: null };
  try {
    const results = [];
    for (const batch of input.batches || []) results.push(await runBatch(batch, state));
    process.stdout.write(JSON.stringify(results) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e.message || e), sql: state.current }) + '\n');
    process.exitCode = 1;
  }
}
main();
