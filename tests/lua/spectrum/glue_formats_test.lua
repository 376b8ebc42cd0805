-- Glue tables lode's Spectrum emulation must not read as a plain Parquet
-- folder (lode.spectrum.glue.def_from_table, no services): the Hudi
-- Copy-on-Write and Delta Lake tables of AWS's "External tables for Redshift
-- Spectrum" page (c-spectrum-external-tables.html), as Glue records them. A
-- Hudi table's input format names Parquet, but its files hold superseded
-- versions of its rows; a Delta Lake table is read through its manifest.
local t = require "lode.test"
local glue = require "lode.spectrum.glue"

local function table_of(input, serde)
  return {
    Name = "tbl_name",
    StorageDescriptor = {
      Columns = { { Name = "c1", Type = "int" } },
      Location = "s3://s3-bucket/prefix/",
      InputFormat = input,
      OutputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
      SerdeInfo = { SerializationLibrary = serde or "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
    },
    Parameters = { EXTERNAL = "TRUE" },
  }
end

t.test("a Hudi or Delta Lake table mirrored from Glue is unscannable, naming its input format", function()
  for _, input in ipairs({ "org.apache.hudi.hadoop.HoodieParquetInputFormat",
      "org.apache.hudi.hadoop.realtime.HoodieParquetRealtimeInputFormat",
      "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat" }) do
    local def = glue.def_from_table("spectrum", table_of(input))
    t.ok(def.unscannable, input)
    t.contains(def.unscannable, input, input)
  end
  -- Hive's own Parquet input format stays a Parquet table
  local def = glue.def_from_table("spectrum", table_of("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"))
  t.eq(def.format, "parquet")
  t.eq(def.unscannable, nil)
end)
