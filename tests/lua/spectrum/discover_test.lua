-- Partition discovery from S3 common prefixes, level by level, over a
-- listing function backed by a fixed set of keys (the S3 tests list real S3).
local t = require "lode.test"
local spectrum = require "lode.spectrum"

-- list(url) over a set of object keys, with S3's delimiter semantics
local function lister(bucket, keys, calls)
  return function(url)
    calls[#calls + 1] = url
    local b, prefix = spectrum.split_url(url)
    t.eq(b, bucket)
    local seen, out = {}, {}
    for _, k in ipairs(keys) do
      if k:sub(1, #prefix) == prefix then
        local rest = k:sub(#prefix + 1)
        local slash = rest:find("/", 1, true)
        if slash then
          local cp = "s3://" .. bucket .. "/" .. prefix .. rest:sub(1, slash)
          if not seen[cp] then
            seen[cp] = true
            out[#out + 1] = cp
          end
        end
      end
    end
    return out
  end
end

local YM = { { "year", "int" }, { "month", "int" } }

t.test("hive layout: 3 years x 12 months, leading zeros kept, junk skipped", function()
  local keys = { "sales/_SUCCESS", "sales/_temporary/0/x.parquet", "sales/year=2024/.hive-staging/x" }
  for y = 2022, 2024 do
    for m = 1, 12 do
      keys[#keys + 1] = ("sales/year=%d/month=%02d/part-0.parquet"):format(y, m)
      keys[#keys + 1] = ("sales/year=%d/month=%02d/part-1.parquet"):format(y, m)
    end
  end
  local calls = {}
  local found, skipped = spectrum.discover("s3://lake/sales", YM, lister("lake", keys, calls))
  t.eq(#found, 36)
  t.eq(found[1], { values = { "2022", "01" }, location = "s3://lake/sales/year=2022/month=01/" })
  t.eq(found[36], { values = { "2024", "12" }, location = "s3://lake/sales/year=2024/month=12/" })
  t.eq(skipped, { "s3://lake/sales/_temporary/", "s3://lake/sales/year=2024/.hive-staging/" })
  t.eq(#calls, 4, "one listing for the root and one per year")
end)

t.test("hive layout: spaces, URL-encoded characters and key case", function()
  local keys = {
    "t/City=New York/f.parquet",
    "t/City=S%C3%A3o Paulo/f.parquet",
    "t/city=a%3Db%2Fc/f.parquet",
    "t/region=eu/f.parquet",
  }
  local found, skipped = spectrum.discover("s3://b/t/", { { "city", "varchar(40)" } }, lister("b", keys, {}))
  t.eq(found, {
    { values = { "New York" }, location = "s3://b/t/City=New York/" },
    { values = { "São Paulo" }, location = "s3://b/t/City=S%C3%A3o Paulo/" },
    { values = { "a=b/c" }, location = "s3://b/t/city=a%3Db%2Fc/" },
  })
  t.eq(skipped, { "s3://b/t/region=eu/" })
end)

t.test("value_only layout with an explicit pattern", function()
  local keys = { "logs/2024/01/a.parquet", "logs/2024/02/a.parquet", "logs/2023/12/a.parquet", "logs/tmp/x" }
  local found = spectrum.discover("s3://b/logs/", YM, lister("b", keys, {}), { pattern = "{year}/{month}" })
  t.eq(#found, 3)
  t.eq(found[1], { values = { "2023", "12" }, location = "s3://b/logs/2023/12/" })
  -- literal text around the value, and columns in another order than the folders
  keys = { "l/m=03/y2024/f", "l/m=04/y2024/f", "l/other/y2024/f" }
  found = spectrum.discover("s3://b/l/", YM, lister("b", keys, {}), { pattern = "m={month}/y{year}" })
  t.eq(found, { { values = { "2024", "03" }, location = "s3://b/l/m=03/y2024/" },
                { values = { "2024", "04" }, location = "s3://b/l/m=04/y2024/" } })
  t.raises(function() spectrum.discover("s3://b/l/", YM, lister("b", keys, {}), { pattern = "{year}" }) end,
    "does not place partition column month")
  t.raises(function() spectrum.discover("s3://b/l/", YM, lister("b", keys, {}), { pattern = "{year}/{day}" }) end,
    "{day} is not a partition column")
end)

t.test("diff against registered partitions", function()
  local found = {
    { values = { "2024", "01" }, location = "s3://b/t/year=2024/month=01/" },
    { values = { "2024", "02" }, location = "s3://b/t/year=2024/month=02/" },
  }
  local registered = {
    { values = { "2024", "01" }, location = "s3://b/t/year=2024/month=01/" },
    { values = { "2023", "12" }, location = "s3://b/t/year=2023/month=12/" },
  }
  local added, dropped = spectrum.diff(found, registered)
  t.eq(added, { found[2] })
  t.eq(dropped, { registered[2] })
  -- "1" and "01" are different folders, hence different partitions
  added = spectrum.diff({ { values = { "2024", "1" }, location = "x" } }, registered)
  t.eq(#added, 1)
end)

t.test("a listing that returns foreign prefixes is an error", function()
  t.raises(function()
    spectrum.discover("s3://b/t/", YM, function() return { "s3://b/other/year=1/" } end)
  end, "not a folder directly under it")
end)
