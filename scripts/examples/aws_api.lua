-- Calling AWS APIs from a pipeline: who am I (STS, Query protocol), then
-- make sure a Glue database exists and list the catalog (Glue, JSON
-- protocol). Runs against AWS with your usual credentials, or locally:
--   eval "$(lode dev up --aws moto --no-pg)"; lode run scripts/examples/aws_api.lua; lode dev down
local lode = require "lode"
local aws = require "lode.aws"

local database = lode.param("database", "lake")

return lode.pipeline "aws_api" {
  lode.task "whoami" { function()
    local id = aws.client("sts"):call("GetCallerIdentity")
    lode.log.info("running as " .. id.Arn, { account = id.Account })
  end },

  lode.task "catalog" { retries = 2, retry_on = function(err) return err.retryable end, function()
    local glue = aws.client("glue")
    local ok, err = pcall(glue.call, glue, "CreateDatabase",
      { DatabaseInput = { Name = database, Description = "created by lode's aws_api example" } })
    if not ok and err.code ~= "AlreadyExistsException" then
      error(err, 0)
    end
    local names, token = {}, nil
    repeat
      local page = glue:call("GetDatabases", { NextToken = token })
      for _, db in ipairs(page.DatabaseList) do names[#names + 1] = db.Name end
      token = page.NextToken
    until not token
    lode.log.info("glue databases: " .. table.concat(names, ", "), { created = ok })
  end },
}
