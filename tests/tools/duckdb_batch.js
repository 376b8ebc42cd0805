#!/usr/bin/env node
// duckdb_batch.js — the conformance corpus's DuckDB oracle: reads JSON
// {"setup": [sql, ...], "queries": [sql, ...]} on stdin, runs the setup
// statements in order in one in-memory DuckDB, then each query, and prints a
// JSON array holding each query's first column of its first row as a string
// (null for no row). A failure prints {"error": message, "sql": the statement}
// and exits 1.
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  let current = null;
  try {
    for (const sql of input.setup || []) {
      current = sql;
      await conn.run(sql);
    }
    const out = [];
    for (const sql of input.queries || []) {
      current = sql;
      const rows = (await conn.runAndReadAll(sql)).getRows();
      out.push(rows.length ? (rows[0][0] === null ? null : String(rows[0][0])) : null);
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e.message || e), sql: current }) + '\n');
    process.exitCode = 1;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
main();
