#!/usr/bin/env node
// parquet_oracle.js — what DuckDB says about each Parquet file's footer, for
// differential tests. Reads file paths on stdin (one a line) and prints
// tab-separated lines (tabs, newlines and backslashes in values escaped as
// \t \n \\; NULL as \N):
//   F <file>                          a new file
//   E <message>                       DuckDB could not read it
//   N <num_rows> <num_row_groups>     parquet_file_metadata()
//   S <name> <type> <type_length> <repetition_type> <num_children> <converted_type> <scale> <precision> <field_id>
//                                     one per parquet_schema() row, in order
//   M <row_group_id> <column_id> <path_in_schema> <type> <compression> <encodings> <num_values>
//     <total_compressed_size> <data_page_offset> <stats_null_count>
//                                     one per parquet_metadata() row
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

const esc = (v) => (v === null || v === undefined) ? '\\N'
  : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');

async function main() {
  const files = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const q = (f) => "'" + f.replace(/'/g, "''") + "'";
  const lines = [];
  const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
  for (const f of files) {
    lines.push('F\t' + esc(f));
    try {
      const fm = await rows(`SELECT num_rows, num_row_groups FROM parquet_file_metadata(${q(f)})`);
      const schema = await rows(`SELECT name, type, type_length, repetition_type, num_children, converted_type,
                                        scale, precision, field_id FROM parquet_schema(${q(f)})`);
      const meta = await rows(`SELECT row_group_id, column_id, path_in_schema, type, compression, encodings,
                                      num_values, total_compressed_size, data_page_offset, stats_null_count
                               FROM parquet_metadata(${q(f)}) ORDER BY row_group_id, column_id`);
      lines.push(['N', fm[0].num_rows, fm[0].num_row_groups].map(esc).join('\t'));
      for (const s of schema) {
        lines.push(['S', s.name, s.type, s.type_length, s.repetition_type, s.num_children, s.converted_type,
                    s.scale, s.precision, s.field_id].map(esc).join('\t'));
      }
      for (const m of meta) {
        lines.push(['M', m.row_group_id, m.column_id, m.path_in_schema, m.type, m.compression, m.encodings,
                    m.num_values, m.total_compressed_size, m.data_page_offset, m.stats_null_count].map(esc).join('\t'));
      }
    } catch (e) {
      lines.push('E\t' + esc(e.message || e));
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  conn.closeSync();
  instance.closeSync();
}
main();
