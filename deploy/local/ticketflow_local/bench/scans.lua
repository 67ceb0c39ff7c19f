-- wrk script of the check-in benchmark: each request scans the next ticket of
-- this run (one QR code per line of the payloads file) under a fresh nonce.
-- wrk -s scans.lua <url> -- <payloads file> <first line> <run tag> <device token>

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  payloads = {}
  for line in io.lines(args[1]) do
    payloads[#payloads + 1] = line
  end
  next_ticket = tonumber(args[2])
  tag = args[3]
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[4]}
  sent, admitted, other = 0, 0, 0
end

function request()
  if next_ticket > #payloads then
    wrk.thread:stop()  -- every ticket scanned once: repeats would measure refusals
  end
  local payload = payloads[math.min(next_ticket, #payloads)]
  next_ticket = next_ticket + 1
  sent = sent + 1
  local body = string.format('{"payload":"%s","nonce":"%s-%d","gate":"Gate %d"}', payload, tag, next_ticket,
                             next_ticket % 8)
  return wrk.format("POST", "/v1/scans", headers, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"result":"admitted"', 1, true) then
    admitted = admitted + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local admitted_all, other_all = 0, 0
  for _, thread in ipairs(threads) do
    admitted_all = admitted_all + thread:get("admitted")
    other_all = other_all + thread:get("other")
  end
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.6f,"admitted":%d,"other":%d,"errors":%d,' ..
    '"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, admitted_all, other_all,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
    summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
