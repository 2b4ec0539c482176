-- wrk script for the route API: each request asks for a user drawn uniformly from the
-- seeded ones (user0000000@example.net … ), as Dovecot CE proxies would at every login.
-- BENCH_USERS: how many users were seeded. The bearer token comes as a -H header.
local users = tonumber(os.getenv("BENCH_USERS") or "1000") or 1000
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed((seed or 1) * 7919 + os.time())
end

function request()
  local user = math.random(0, users - 1)
  return wrk.format("GET", string.format("/api/route/v1?user=user%07d%%40example.net&service=imap", user))
end
