-- lode.types — Parquet column types to warehouse column types, for Redshift
-- (COPY targets, Spectrum external tables) and PostgreSQL (the local emulation).
--
--   local types = require "lode.types"
--   for _, c in ipairs(parquet.metadata(f).columns) do
--     print(c.path, types.redshift(c), types.postgres(c))
--   end
--
-- A column is a leaf or a schema node as returned by lode.parquet (fields
-- type, logical_type, converted_type, precision, scale, repetition,
-- children). Nested data (groups, LIST, MAP, repeated fields) becomes SUPER on
-- Redshift and jsonb on PostgreSQL. Options: {string = "varchar(256)"} to size
-- strings on Redshift (default the maximum, varchar(65535)).

local M = {}

-- Redshift limits: numeric precision 38, varchar 65535 bytes, varbyte 1024000.
local REDSHIFT_MAX_PRECISION = 38

-- What a column is, independent of dialect: a short kind and its parameters.
local function classify(c)
  if c.children or c.repetition == "REPEATED" then
    return "nested"
  end
  local lt = c.logical_type and c.logical_type.type
  local ct = c.converted_type
  if lt == "LIST" or lt == "MAP" or ct == "LIST" or ct == "MAP" or ct == "MAP_KEY_VALUE" then
    return "nested"
  end
  local t = c.type
  if lt == "DECIMAL" then
    return "decimal", c.logical_type.precision, c.logical_type.scale
  elseif ct == "DECIMAL" then
    return "decimal", c.precision or 38, c.scale or 0
  end
  if t == "BOOLEAN" then
    return "boolean"
  elseif t == "INT96" then
    return "timestamp"
  elseif t == "FLOAT" then
    return "real"
  elseif t == "DOUBLE" then
    return "double"
  end
  if lt == "DATE" or ct == "DATE" then
    return "date"
  elseif lt == "TIMESTAMP" then
    return c.logical_type.is_adjusted_to_utc and "timestamptz" or "timestamp"
  elseif ct == "TIMESTAMP_MILLIS" or ct == "TIMESTAMP_MICROS" then
    return "timestamptz"
  elseif lt == "TIME" or ct == "TIME_MILLIS" or ct == "TIME_MICROS" then
    return "time"
  end
  if t == "INT32" or t == "INT64" then
    local bits, signed
    if lt == "INTEGER" then
      bits, signed = c.logical_type.bit_width, c.logical_type.is_signed
    elseif ct and ct:match("^U?INT_%d+$") then
      signed = ct:sub(1, 1) ~= "U"
      bits = tonumber(ct:match("%d+"))
    else
      bits, signed = t == "INT32" and 32 or 64, true
    end
    if not signed then
      bits = bits * 2 -- room for the unsigned range in a signed type
    end
    if bits <= 16 then
      return "smallint"
    elseif bits <= 32 then
      return "integer"
    elseif bits <= 64 then
      return "bigint"
    end
    return "decimal", 20, 0 -- UINT64
  end
  if lt == "STRING" or lt == "ENUM" or ct == "UTF8" or ct == "ENUM" then
    return "string"
  elseif lt == "JSON" or ct == "JSON" then
    return "json"
  elseif lt == "UUID" then
    return "uuid"
  elseif lt == "FLOAT16" then
    return "real"
  elseif ct == "INTERVAL" then
    return "interval"
  end
  return "binary" -- BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, BSON, unknown annotations
end
M.classify = classify

-- The table: kind -> { redshift, postgres } (functions for parameterised kinds).
M.TABLE = {
  nested      = { redshift = "super", postgres = "jsonb" },
  boolean     = { redshift = "boolean", postgres = "boolean" },
  smallint    = { redshift = "smallint", postgres = "smallint" },
  integer     = { redshift = "integer", postgres = "integer" },
  bigint      = { redshift = "bigint", postgres = "bigint" },
  real        = { redshift = "real", postgres = "real" },
  double      = { redshift = "double precision", postgres = "double precision" },
  date        = { redshift = "date", postgres = "date" },
  time        = { redshift = "time", postgres = "time" },
  timestamp   = { redshift = "timestamp", postgres = "timestamp" },
  timestamptz = { redshift = "timestamptz", postgres = "timestamptz" },
  string      = { redshift = function(_, _, opts) return opts.string or "varchar(65535)" end, postgres = "text" },
  json        = { redshift = "super", postgres = "jsonb" },
  uuid        = { redshift = "char(36)", postgres = "uuid" },
  interval    = { redshift = "varbyte(12)", postgres = "bytea" },
  binary      = { redshift = "varbyte(1024000)", postgres = "bytea" },
  decimal     = {
    redshift = function(p, s)
      if p > REDSHIFT_MAX_PRECISION then
        return "varchar(80)" -- wider than Redshift's numeric: keep the exact text
      end
      return ("numeric(%d,%d)"):format(p, s)
    end,
    postgres = function(p, s) return ("numeric(%d,%d)"):format(p, s) end,
  },
}

local function map(dialect, c, opts)
  local kind, p, s = classify(c)
  local entry = M.TABLE[kind][dialect]
  if type(entry) == "function" then
    return entry(p, s, opts or {})
  end
  return entry
end

--- types.redshift(column [, opts]) -> Redshift column type
function M.redshift(c, opts)
  return map("redshift", c, opts)
end

--- types.postgres(column [, opts]) -> PostgreSQL column type
function M.postgres(c, opts)
  return map("postgres", c, opts)
end

--- types.for_dialect(dialect, column [, opts]) with dialect "redshift" or "postgres"
function M.for_dialect(dialect, c, opts)
  if dialect ~= "redshift" and dialect ~= "postgres" then
    error(("lode.types: unknown dialect '%s' (redshift or postgres)"):format(tostring(dialect)), 2)
  end
  return map(dialect, c, opts)
end

--- types.columns(schema_root, dialect [, opts]) -> {{name=, type=}} for the
--- top-level fields (what COPY maps by position and Spectrum DDL declares).
function M.columns(root, dialect, opts)
  local out = {}
  for i, child in ipairs(root.children or {}) do
    out[i] = { name = child.name, type = M.for_dialect(dialect, child, opts) }
  end
  return out
end

return M
