-- `lode spectrum scan URL --column C ... --value V ...` — the rows of every
-- Parquet file under an S3 folder as PostgreSQL COPY text, the partition
-- values appended: the program behind each partition of an emulated
-- external table (file_fdw runs it at every query, so S3 is read live).

local args = require "lode.args"

local spec = {
  command = "spectrum",
  usage = "lode spectrum scan S3_FOLDER_URL [--column NAME]... [--value VALUE]...",
  summary = "Print the rows of the Parquet files under an S3 folder as PostgreSQL COPY text "
    .. "(the local Spectrum emulation's partitions run this).",
  options = {
    { "--column", arg = "NAME", multi = true, help = "a column to print, in table order (NULL when a file lacks it); repeatable" },
    { "--value", arg = "VALUE", multi = true, help = "a partition value appended to every row; repeatable" },
    { "--text", arg = "JSON", help = "the objects are text, CSV or JSON: the decoder's options (the emulation writes them)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = {
    "lode spectrum scan s3://lake/sales/year=2024/month=01/ --column customer_id --column amount --value 2024 --value 01",
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
    spectrum.scan(positional[2], opts.column, opts.value, text)
    return 0
  end,
}
