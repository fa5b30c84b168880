package.path = package.path .. ";" .. os.getenv("BENCH_WRK_DIR") .. "/?.lua"
local common = require("common")
local prefix, n
function init() prefix = common.prefix(); n = 0 end
function request()
  n = n + 1
  return wrk.format("POST", "/api/v1/runs", { ["Content-Type"] = "application/json" }, common.run(prefix .. "-" .. n))
end
done = common.done
