#!/usr/bin/env node
// duckdb.js — run SQL in an in-memory DuckDB (the Parquet oracle) and print
// the rows of the last statement as JSON (an array of objects).
//   node tests/tools/duckdb.js "COPY (SELECT 1 AS a) TO 'x.parquet'" "SELECT * FROM 'x.parquet'"
// Each argument is run in order; a failure prints {"error": message} and exits 1.
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  let rows = [];
  try {
    for (const sql of process.argv.slice(2)) {
      const reader = await conn.runAndReadAll(sql);
      rows = reader.getRowObjectsJson();
    }
    process.stdout.write(JSON.stringify(rows) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e.message || e) }) + '\n');
    process.exitCode = 1;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
main();
