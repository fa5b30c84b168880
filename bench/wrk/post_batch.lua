package.path = package.path .. ";" .. os.getenv("BENCH_WRK_DIR") .. "/?.lua"
local common = require("common")
local size = tonumber(os.getenv("BENCH_BATCH") or "100")
local prefix, n
function init() prefix = common.prefix(); n = 0 end
function request()
  local items = {}
  for i = 1, size do
    n = n + 1
    items[i] = common.run(prefix .. "-" .. n)
  end
  return wrk.format("POST", "/api/v1/runs/batch", { ["Content-Type"] = "application/json" }, "[" .. table.concat(items, ",") .. "]")
end
done = common.done
