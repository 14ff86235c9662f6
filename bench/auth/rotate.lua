-- wrk script: send each request with the next Authorization header value from a file,
-- so the load is spread over many keys, and print one JSON line of results at the end.
-- Usage: wrk -t1 -c32 -d10s -s rotate.lua URL [-- KEYS_FILE]
-- Without KEYS_FILE, requests carry no Authorization header.

local values = {}
local counter = 0

function init(args)
  local keys_file = args[1]
  if keys_file then
    for line in io.lines(keys_file) do
      values[#values + 1] = line
    end
  end
end

function request()
  if #values == 0 then
    return wrk.format("GET")
  end
  counter = counter + 1
  return wrk.format("GET", nil, { Authorization = values[(counter % #values) + 1] })
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "socket_errors": %d,'
      .. ' "p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
