-- `lode spectrum scan URL --column C ... --value V ...` — the rows of every
-- Parquet file under an S3 folder as PostgreSQL COPY text, the partition
-- values appended: the program behind each partition of an emulated
-- external table (file_fdw runs it at every query, so S3 is read live).
-- `lode spectrum sync --glue DB.TABLE [S3_PREFIX]` — Glue partitions from the
-- S3 folders, no crawler; `lode spectrum refresh SCHEMA` — mirror a schema's
-- Glue database into the PostgreSQL emulation again.

local args = require "lode.args"

local spec = {
  command = "spectrum",
  usage = "lode spectrum scan S3_FOLDER_URL [--column NAME]... [--value VALUE]...\n"
    .. "       lode spectrum sync --glue DATABASE.TABLE [S3_PREFIX] [--keep-missing] [--pattern P] [--since V]\n"
    .. "       lode spectrum refresh SCHEMA [--warehouse URL]",
  summary = "scan: print the rows of the Parquet files under an S3 folder as PostgreSQL COPY text "
    .. "(the local Spectrum emulation's partitions run this).\n"
    .. "sync --glue: add the partitions a Glue table lacks from the k=v folders under its location (or S3_PREFIX) "
    .. "and remove those whose folders are gone (BatchCreatePartition by 100, BatchDeletePartition by 25).\n"
    .. "refresh: mirror the Glue database of an external schema into PostgreSQL again.",
  options = {
    { "--glue", help = "sync: the table is DATABASE.TABLE in the Glue Data Catalog" },
    { "--keep-missing", help = "sync: keep partitions whose folders are gone" },
    { "--pattern", arg = "P", help = "sync: folder layout, e.g. '{year}/{month}' (default k=v folders)" },
    { "--since", arg = "V", help = "sync: list only the folders at or after these partition values, e.g. '2024/06', "
      .. "or 'latest' (the newest partition in Glue)" },
    { "--warehouse", arg = "URL", help = "refresh: postgresql://… (default $LODE_WAREHOUSE)" },
    { "--column", arg = "NAME", multi = true, help = "a column to print, in table order (NULL when a file lacks it); repeatable" },
    { "--value", arg = "VALUE", multi = true, help = "a partition value appended to every row; repeatable" },
    { "--pseudo", help = "print each row's object URL and size (\"$path\", \"$size\") after its columns" },
    { "--text", arg = "JSON", help = "the objects are text, CSV or JSON: the decoder's options (the emulation writes them)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = {
    "lode spectrum scan s3://lake/sales/year=2024/month=01/ --column customer_id --column amount --value 2024 --value 01",
    "lode spectrum sync --glue data_lake_db.sales s3://lake/sales/",
    "lode spectrum sync --glue data_lake_db.sales --since latest",
    "lode spectrum refresh spectrum_schema",
  },
}

return {
  summary = "the local Spectrum emulation's partition reader",
  spec = spec,
  main = function(opts, positional)
    if opts.help then
      io.stdout:write(args.help(spec))
      return 0
    end
    if positional[1] == "sync" then
      if not opts.glue or #positional < 2 or #positional > 3 then
        args.usage_error("spectrum", "usage: lode spectrum sync --glue DATABASE.TABLE [S3_PREFIX]")
      end
      local spectrum = require "lode.spectrum"
      local database, tbl = spectrum.glue.split_name(positional[2])
      local r = spectrum.sync_glue(database, tbl, { location = positional[3], prune = not opts.keep_missing,
        pattern = opts.pattern, since = opts.since })
      io.stdout:write(("%d partitions found, %d added, %d removed\n"):format(r.found, #r.added, #r.dropped))
      return 0
    elseif positional[1] == "refresh" then
      if #positional ~= 2 then
        args.usage_error("spectrum", "usage: lode spectrum refresh SCHEMA")
      end
      local wh = require("lode").warehouse({ url = opts.warehouse })
      local r = require("lode.spectrum").refresh(wh, positional[2])
      io.stdout:write(("%d tables, %d partitions added, %d dropped, %d tables dropped\n")
        :format(r.tables, r.partitions_added, r.partitions_dropped, r.dropped))
      return 0
    end
    if positional[1] ~= "scan" or #positional ~= 2 then
      args.usage_error("spectrum", "usage: " .. spec.usage)
    end
    if #opts.column == 0 then
      args.usage_error("spectrum", "give the table's columns with --column")
    end
    local spectrum = require "lode.spectrum"
    io.stdout:flush()
    local text
    if opts.text then
      local ok, t = pcall(require("lode.json").decode, opts.text)
      if not ok or type(t) ~= "table" then
        args.usage_error("spectrum", "--text must be a JSON object of decoder options")
      end
      text = t
    end
    spectrum.scan(positional[2], opts.column, opts.value, text, opts.pseudo)
    return 0
  end,
}
