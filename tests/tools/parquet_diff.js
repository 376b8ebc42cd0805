#!/usr/bin/env node
// parquet_diff.js — compare lode's CSV of Parquet files with DuckDB's reading
// of the same files (the oracle), and write fixtures with DuckDB.
//
//   node parquet_diff.js compare < pairs.json   // [{parquet, csv}] -> lines 'status<TAB>parquet<TAB>detail'
//   node parquet_diff.js sql "stmt" ...          // run statements (fixture generation)
//
// status: "equal", "differ" (detail names row/column/values), "duckdb_error"
// (DuckDB cannot read the file: the caller skips it).
//
// Normalisation (documented for the differential tests):
//  - DuckDB's value is CAST(col AS VARCHAR) with TimeZone = UTC, except:
//    BLOB → '\x' + lowercase hex (PostgreSQL bytea text); nested types
//    (LIST, STRUCT, MAP) → to_json(col), compared as parsed JSON with numbers
//    compared numerically; FLOAT/DOUBLE are compared as numbers (NaN = NaN,
//    'Infinity' = 'inf'), FLOAT after rounding to single precision; a
//    trailing '+00' is dropped where DuckDB reads a legacy (converted-type)
//    timestamp or time as naive, which the spec says is UTC-adjusted.
//  - NULL is an unquoted empty CSV field on lode's side; "" is the empty string.
'use strict';
const fs = require('fs');
const { DuckDBInstance } = require('@duckdb/node-api');

function parseCsv(text) {
  const rows = [];
  let row = [], i = 0, field = '', quoted = false, wasQuoted = false;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; wasQuoted = true; i++; continue; }
    if (c === ',' || c === '\n') {
      row.push(field === '' && !wasQuoted ? null : field);
      field = ''; wasQuoted = false;
      if (c === '\n') { rows.push(row); row = []; }
      i++; continue;
    }
    field += c; i++;
  }
  if (field !== '' || wasQuoted || row.length) { row.push(field === '' && !wasQuoted ? null : field); rows.push(row); }
  return rows;
}

function num(s) {
  if (s === null) return null;
  const t = String(s).toLowerCase();
  if (t === 'nan' || t === '-nan') return NaN;
  if (t === 'inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return Number(s);
}

function sameNum(a, b, single) {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (single) return Math.fround(a) === Math.fround(b);
  return a === b;
}

// lode follows the spec: legacy TIMESTAMP_*/TIME_* converted types are UTC
// ('+00'); DuckDB reads them as naive values, so a trailing '+00' is dropped.
const noUtc = (s) => String(s).replace(/\+00$/, '');

function deepEq(a, b) {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string') return noUtc(a) === noUtc(b);
  if (typeof a === 'number' || typeof b === 'number') {
    const x = typeof a === 'number' ? a : num(a), y = typeof b === 'number' ? b : num(b);
    return sameNum(x, y, false) || Math.fround(x) === Math.fround(y);
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!deepEq(a[k], b[k])) return false;
  return true;
}

const q = (f) => "'" + f.replace(/'/g, "''") + "'";
const qi = (c) => '"' + c.replace(/"/g, '""') + '"';

async function compareOne(conn, pair) {
  let desc;
  try {
    desc = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${q(pair.parquet)})`)).getRowObjectsJson();
  } catch (e) {
    return { status: 'duckdb_error', detail: String(e.message || e) };
  }
  const kinds = [];
  const exprs = desc.map((d) => {
    const t = String(d.column_type);
    const c = qi(String(d.column_name));
    if (t === 'BLOB') { kinds.push('text'); return `'\\x' || lower(hex(${c}))`; }
    if (/[\[\]]|^STRUCT|^MAP|^UNION/.test(t)) { kinds.push('json'); return `to_json(${c})::VARCHAR`; }
    if (t === 'FLOAT') { kinds.push('float'); return `${c}::VARCHAR`; }
    if (t === 'DOUBLE') { kinds.push('double'); return `${c}::VARCHAR`; }
    kinds.push('text');
    return `${c}::VARCHAR`;
  });
  let want;
  try {
    want = (await conn.runAndReadAll(`SELECT ${exprs.join(', ')} FROM read_parquet(${q(pair.parquet)})`)).getRows();
  } catch (e) {
    return { status: 'duckdb_error', detail: String(e.message || e) };
  }
  const got = parseCsv(fs.readFileSync(pair.csv, 'utf8'));
  const header = got.shift() || [];
  const names = desc.map((d) => String(d.column_name));
  if (header.join(',') !== names.join(',')) {
    return { status: 'differ', detail: `header: lode ${JSON.stringify(header)}, duckdb ${JSON.stringify(names)}` };
  }
  if (got.length !== want.length) {
    return { status: 'differ', detail: `rows: lode ${got.length}, duckdb ${want.length}` };
  }
  for (let r = 0; r < want.length; r++) {
    for (let c = 0; c < names.length; c++) {
      const w = want[r][c] === null || want[r][c] === undefined ? null : String(want[r][c]);
      const g = got[r][c] === undefined ? null : got[r][c];
      let ok;
      if (w === null || g === null) ok = w === g;
      else if (kinds[c] === 'float' || kinds[c] === 'double') ok = sameNum(num(g), num(w), kinds[c] === 'float');
      else if (kinds[c] === 'json') {
        try { ok = deepEq(JSON.parse(g), JSON.parse(w)); } catch (e) { ok = false; }
      } else if (/^(TIMESTAMP|TIME)/.test(desc[c].column_type) && !/WITH TIME ZONE/.test(desc[c].column_type)) {
        ok = noUtc(g) === w;
      } else ok = g === w;
      if (!ok) {
        return { status: 'differ', detail: `row ${r + 1}, column '${names[c]}' (${desc[c].column_type}): lode ${JSON.stringify(g)}, duckdb ${JSON.stringify(w)}` };
      }
    }
  }
  return { status: 'equal', rows: want.length };
}

async function main() {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  const mode = process.argv[2];
  try {
    if (mode === 'compare') {
      const pairs = JSON.parse(fs.readFileSync(0, 'utf8'));
      // one line per file: status TAB parquet TAB detail (tabs/newlines in detail flattened)
      for (const p of pairs) {
        const v = await compareOne(conn, p);
        const detail = String(v.detail || (v.rows !== undefined ? v.rows + ' rows' : '')).replace(/[\t\n\r]/g, ' ');
        process.stdout.write(`${v.status}\t${p.parquet}\t${detail}\n`);
      }
    } else if (mode === 'sql') {
      for (const s of process.argv.slice(3)) await conn.run(s);
      process.stdout.write('{"ok":true}\n');
    } else {
      throw new Error('usage: parquet_diff.js compare|sql');
    }
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e.message || e) }) + '\n');
    process.exitCode = 1;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
main();
