-- `lode parquet cat FILE|s3://URL [--columns a,b] [--format text|csv|tsv|jsonl]` — a
-- Parquet file's rows on stdout, decoded by lode's own reader (the path
-- Spectrum emulation runs from PostgreSQL). Picked up by lode.cli.parquet.

local args = require "lode.args"

local M = {}

M.summary = "print a file's rows as COPY text, CSV, TSV or JSON lines"
M.usage = "lode parquet cat FILE|s3://BUCKET/KEY [--columns a,b] [--format text|csv|tsv|jsonl] [--no-header] [--accept-invalid-chars C]"
M.options = {
  { "--columns", arg = "A,B", help = "cat: top-level columns to print, in this order (default all)" },
  { "--format", arg = "FMT", choices = { "text", "csv", "tsv", "jsonl" },
    help = "cat: text (PostgreSQL COPY, default), csv, tsv or jsonl" },
  { "--no-header", help = "cat: leave out the CSV/TSV header line" },
  { "--accept-invalid-chars", arg = "C", help = "cat: replace invalid UTF-8 bytes with C instead of failing" },
}

function M.main(opts, rest)
  if #rest ~= 1 then
    args.usage_error("parquet", "lode parquet cat needs exactly one FILE or s3:// URL")
  end
  local columns
  if opts.columns and opts.columns ~= "" then
    columns = {}
    for name in (opts.columns .. ","):gmatch("([^,]*),") do
      if name == "" then
        args.usage_error("parquet", "--columns has an empty name: " .. opts.columns)
      end
      columns[#columns + 1] = name
    end
  end
  local aic = opts.accept_invalid_chars
  if aic and #aic ~= 1 then
    args.usage_error("parquet", "--accept-invalid-chars needs one character")
  end
  local pr = require "lode.parquetrows"
  pr.cat(rest[1], {
    columns = columns,
    format = opts.format or "text",
    header = not opts.no_header,
    accept_invalid_chars = aic,
  })
  return 0
end

return M
