-- `lode plan FILE` — the same DAG as `lode run`, as a dry run.
local run = require "lode.cli.run"

return {
  summary = "show what a pipeline would do, without writing anything",
  spec = run.spec_for("plan"),
  main = function(opts, positional)
    return run.execute("plan", opts, positional)
  end,
}
