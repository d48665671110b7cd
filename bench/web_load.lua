-- wrk script of bench/web_benchmark.py. Each wrk thread holds one connection and sends the
-- requests of its share of a data file (its own guardians' cookies, CSRF tokens and children).
-- A thread stops itself after the answer that crosses its deadline, or in "once" mode after its
-- last request (a one-time link is never sent twice), so no request is left in flight: wrk's
-- own end (-d) would drop answers still on the way, and the landed check could not add up.
-- It then leaves a file in STOPDIR; when every thread has, the benchmark interrupts wrk, whose
-- done() prints one JSON line: counts by status, latency percentiles, and the span from the first
-- request sent to the last answer received.
--
--   wrk -tC -cC -dLIMIT -s bench/web_load.lua URL -- DATA.lua C cycle|once SECONDS STOPDIR

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } web_load_timespec;
int clock_gettime(int clock, web_load_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("web_load_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local data = dofile(args[1])
  local share = tonumber(args[2])
  once = args[3] == "once"
  deadline = now() + tonumber(args[4])
  stopdir = args[5]
  reqs = {}
  for j = tid + 1, #data, share do
    local e = data[j]
    reqs[#reqs + 1] = wrk.format(e[1], e[2], e[3], e[4])
  end
  sent, ok, redirected, failed, first, last = 0, 0, 0, 0, 0, 0
end

function request()
  if sent == 0 then
    first = now()
  end
  sent = sent + 1
  return reqs[(sent - 1) % #reqs + 1]
end

function response(status, headers, body)
  last = now()
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status >= 300 and status < 400 then
    redirected = redirected + 1
  else
    failed = failed + 1
  end
  if last >= deadline or (once and sent >= #reqs) then
    local mark = io.open(stopdir .. "/" .. tid, "w")
    mark:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local ok_all, redirected_all, failed_all, used = 0, 0, 0, {}
  local first_all, last_all = math.huge, 0
  for _, thread in ipairs(threads) do
    ok_all = ok_all + thread:get("ok")
    redirected_all = redirected_all + thread:get("redirected")
    failed_all = failed_all + thread:get("failed")
    used[#used + 1] = string.format("%d", thread:get("sent"))
    if thread:get("sent") > 0 then
      first_all = math.min(first_all, thread:get("first"))
      last_all = math.max(last_all, thread:get("last"))
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"span":%.6f,"ok":%d,"redirected":%d,"failed":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,"sent":[%s]}\n',
    summary.requests, math.max(0, last_all - first_all), ok_all, redirected_all, failed_all,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    table.concat(used, ",")))
end
