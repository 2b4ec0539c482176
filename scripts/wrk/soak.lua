-- wrk script for the soak (scripts/bench-soak.sh): a mix of what operators and proxies send, each
-- request drawn with these weights: the route API for a random seeded user (half), the backends
-- and groups pages and a user lookup (logged in), and the JSON API's dashboard, backends and
-- moves (an API token). The environment gives the credentials:
-- SOAK_COOKIE, SOAK_API_TOKEN, ROUTE_API_TOKEN, SOAK_SITE_ID (the page's id), BENCH_USERS.
dofile("scripts/wrk/seeded.lua")
local cookie = os.getenv("SOAK_COOKIE") or ""
local api = "Bearer " .. (os.getenv("SOAK_API_TOKEN") or "")
local route = "Bearer " .. (os.getenv("ROUTE_API_TOKEN") or "")
local site = os.getenv("SOAK_SITE_ID") or ""
local user = seeded_user

function request()
  local pick = math.random(1, 100)
  if pick <= 50 then
    return wrk.format("GET", "/api/route/v1?service=imap&user=" .. user(), { Authorization = route })
  end
  local page = { Cookie = cookie, Accept = "text/html" }
  if pick <= 60 then return wrk.format("GET", "/sites/" .. site .. "/backends", page) end
  if pick <= 70 then return wrk.format("GET", "/sites/" .. site .. "/groups", page) end
  if pick <= 80 then return wrk.format("GET", "/users?username=" .. user(), page) end
  local json = { Authorization = api, Accept = "application/json" }
  if pick <= 87 then return wrk.format("GET", "/api/v1/sites/dc1a/dashboard", json) end
  if pick <= 94 then return wrk.format("GET", "/api/v1/sites/dc1a/backends", json) end
  return wrk.format("GET", "/api/v1/sites/dc1a/moves", json)
end
