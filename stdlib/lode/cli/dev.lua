-- `lode dev up|down|env` — a throwaway local stack for laptops and CI.
local args = require "lode.args"
local dev = require "lode.dev"

local M = {}

M.summary = "start or stop a local PostgreSQL + S3 (+ AWS) stack for development and CI"

M.spec = {
  command = "dev",
  usage = "lode dev up|down|env [--dir DIR] [--s3 file|s3rver|none] [--aws moto|none] [--no-pg]",
  summary = "Start a throwaway PostgreSQL cluster (system binaries, free loopback port) and local S3\n"
    .. "(a file:// endpoint by default, or s3rver), optionally a local AWS (moto_server: STS, IAM, Glue,\n"
    .. "Redshift's API, S3), print the environment to export, tear it down.",
  description = "  up    start the stack in DIR (default .lode/dev) and print `export` lines\n"
    .. "  env   print the `export` lines of the running stack\n"
    .. "  down  stop the stack and remove DIR\n\n"
    .. "Use it as:  eval \"$(lode dev up)\"; lode test; lode dev down",
  options = {
    { "--dir", arg = "DIR", help = "folder for the cluster, the S3 data and the state (default .lode/dev)" },
    { "--s3", arg = "KIND", choices = { "file", "s3rver", "none" }, help = "local S3: file (default), s3rver (installed with npm on first use if missing), or none" },
    { "--aws", arg = "KIND", choices = { "moto", "none" },
      help = "local AWS APIs: moto (AWS_ENDPOINT_URL; S3 too unless --s3 is given), or none (default)" },
    { "--no-pg", help = "do not start PostgreSQL" },
    { "--database", arg = "NAME", help = "database to create (default lode)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = { 'eval "$(lode dev up)"', "lode dev up --s3 s3rver --dir /tmp/stack", "lode dev up --aws moto --no-pg",
    "lode dev down" },
}

function M.main(opts, positional)
  local action = positional[1]
  if action == "up" then
    local s3 = opts.s3
    if s3 == "none" then
      s3 = false       -- (not `opts.s3 == "none" and false or opts.s3`: that is always opts.s3)
    end
    local aws = opts.aws ~= "none" and opts.aws or nil
    local env, order, dir, already = dev.up({ dir = opts.dir, s3 = s3, aws = aws, pg = not opts.no_pg,
                                              database = opts.database })
    io.stderr:write(("lode dev: %s in %s\n"):format(already and "already running" or "started", dir))
    io.stdout:write(dev.exports(env, order))
    return 0
  elseif action == "env" then
    local env, order = dev.env({ dir = opts.dir })
    if not env then
      io.stderr:write("lode dev: nothing is running here; start it with `lode dev up`\n")
      return 1
    end
    io.stdout:write(dev.exports(env, order))
    return 0
  elseif action == "down" then
    dev.down({ dir = opts.dir })
    io.stderr:write("lode dev: stopped\n")
    return 0
  end
  args.usage_error("dev", action and ("unknown action '%s' (use up, env or down)"):format(action)
    or "lode dev needs an action: up, env or down")
end

return M
