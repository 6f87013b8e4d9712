-- wrk script for bench/soak.ts: a mix of reads, writes, logins and logouts on sessions shared by
-- both servers (the same pool file drives the wrk aimed at Django and the one aimed at us).
--
-- Environment (wrk passes no arguments to setup/done, so both come from the environment):
--   SOAK_POOL  the pool file; lines "durable <key> <email> <password>", "auth <key>",
--              "scratch <email> <password>" (no blanks inside fields)
--   SOAK_OUT   where done() writes the JSON report
--
-- Run with as many connections as threads (-t N -c N): each thread then has one connection, so
-- request() and response() strictly alternate and every response is judged against the request
-- that caused it.
--
-- The mix, per request:
--   45 %  read    GET /user/test1 with a durable tutorial session       expect 200 "test1 ok"
--   15 %  whoami  GET /auth/whoami with a contrib.auth session           expect 200
--   20 %  write   POST /user/login over a durable session (its own user) expect 200, the same key (an UPDATE)
--   12 %  create  POST /user/login without a cookie (a scratch user)     expect 200, a new key (an INSERT)
--    8 %  logout  GET /user/logout of a session this thread created      expect 200 (a DELETE)
-- Anything else is counted under "<kind> <status>" and judged by the harness.

local durable, auth, scratch_users = {}, {}, {}

-- Globals read by done() through thread:get().
counts = {}
scratch = {}    -- keys this thread created and has not logged out
created = 0

local last_kind, last_key = nil, nil
local threads = {}
local next_id = 1

local function bump(key)
  counts[key] = (counts[key] or 0) + 1
end

local function header(headers, name)
  for k, v in pairs(headers) do
    if string.lower(k) == name then return v end
  end
  return nil
end

local function credentials(email, password)
  return '{"email": "' .. email .. '", "password": "' .. password .. '"}'
end

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("SOAK_POOL")) do
    local kind, a, b, c = line:match("^(%S+) (%S+) ?(%S*) ?(%S*)$")
    if kind == "durable" then
      table.insert(durable, { key = a, email = b, password = c })
    elseif kind == "auth" then
      table.insert(auth, a)
    elseif kind == "scratch" then
      table.insert(scratch_users, { email = a, password = b })
    end
  end
  math.randomseed(os.time() * 1000 + id * 7919)
end

function request()
  local r = math.random()
  if r < 0.08 and #scratch > 0 then
    last_kind = "logout"
    last_key = table.remove(scratch, math.random(#scratch))
    return wrk.format("GET", "/user/logout", { ["Cookie"] = "sessionid=" .. last_key })
  elseif r < 0.20 then
    local u = scratch_users[math.random(#scratch_users)]
    last_kind, last_key = "create", nil
    return wrk.format("POST", "/user/login", { ["Content-Type"] = "application/json" }, credentials(u.email, u.password))
  elseif r < 0.40 then
    local d = durable[math.random(#durable)]
    last_kind, last_key = "write", d.key
    return wrk.format("POST", "/user/login", { ["Content-Type"] = "application/json", ["Cookie"] = "sessionid=" .. d.key },
      credentials(d.email, d.password))
  elseif r < 0.55 then
    last_kind = "whoami"
    last_key = auth[math.random(#auth)]
    return wrk.format("GET", "/auth/whoami", { ["Cookie"] = "sessionid=" .. last_key })
  else
    local d = durable[math.random(#durable)]
    last_kind, last_key = "read", d.key
    return wrk.format("GET", "/user/test1", { ["Cookie"] = "sessionid=" .. d.key })
  end
end

function response(status, headers, body)
  bump(last_kind .. " " .. status)
  if status ~= 200 then return end
  local cookie = header(headers, "set-cookie")
  local key = cookie and cookie:match("sessionid=([a-z0-9]+);")
  if last_kind == "create" then
    if key then
      table.insert(scratch, key)
      created = created + 1
    else
      bump("create no-cookie")
    end
  elseif last_kind == "write" then
    if key ~= last_key then bump("write key-changed") end
  elseif last_kind == "read" then
    if body ~= "test1 ok" then bump("read wrong-body") end
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(ch) return string.format("\\u%04x", ch:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local total, left, made = {}, {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
    for _, key in ipairs(t:get("scratch")) do table.insert(left, json_string(key)) end
    made = made + t:get("created")
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, json_string(k) .. ": " .. v) end
  local e = summary.errors
  local f = assert(io.open(os.getenv("SOAK_OUT"), "w"))
  f:write("{")
  f:write('"requests": ', summary.requests, ", ")
  f:write('"durationUs": ', summary.duration, ", ")
  f:write('"errors": {"connect": ', e.connect, ', "read": ', e.read, ', "write": ', e.write,
    ', "status": ', e.status, ', "timeout": ', e.timeout, "}, ")
  f:write('"latencyUs": {"p50": ', latency:percentile(50), ', "p99": ', latency:percentile(99), ', "max": ', latency.max, "}, ")
  f:write('"counts": {', table.concat(parts, ", "), "}, ")
  f:write('"created": ', made, ", ")
  f:write('"scratchLeft": [', table.concat(left, ", "), "]")
  f:write("}\n")
  f:close()
end
