-- GET or PATCH of runs seeded as <BENCH_SEED_PREFIX>-<1..BENCH_SEED_COUNT>.
package.path = package.path .. ";" .. os.getenv("BENCH_WRK_DIR") .. "/?.lua"
local common = require("common")
local seed = os.getenv("BENCH_SEED_PREFIX")
local count = tonumber(os.getenv("BENCH_SEED_COUNT"))
local method = os.getenv("BENCH_METHOD") or "GET"
local patch = '{"status":"success","end_time":"2026-01-05T18:45:10Z","duration_ms":275000,"output_summary":"done"}'
function request()
  local path = "/api/v1/runs/" .. seed .. "-" .. math.random(1, count)
  if method == "PATCH" then
    return wrk.format("PATCH", path, { ["Content-Type"] = "application/json" }, patch)
  end
  return wrk.format("GET", path)
end
done = common.done
