-- Shared by every scenario: a JSON summary line that bench/run.ts parses.
local M = {}

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

-- A prefix unique to this wrk process and thread, so event_ids never collide across runs or threads.
function M.prefix()
  return string.format("%s-%d-%d", os.getenv("BENCH_RUN") or "run", os.time(), math.random(1, 1e9))
end

function M.run(id)
  return string.format(
    '{"event_id":"%s","run_id":"bench","agent_name":"agent-%d","job_type":"job-%d","status":"success","start_time":"2026-01-05T18:40:27.123456+00:00","duration_ms":1234,"items_succeeded":10,"metrics_json":{"tokens":42}}',
    id, #id % 7, #id % 5)
end

return M
