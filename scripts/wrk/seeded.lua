-- What the wrk scripts share (loaded with dofile from the repository's root, where
-- scripts/bench.sh runs wrk): each thread its own random seed, and a user drawn uniformly from
-- the seeded ones (user0000000@example.net …, BENCH_USERS of them), URL-encoded.
local users = tonumber(os.getenv("BENCH_USERS") or "1000") or 1000
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed((seed or 1) * 7919 + os.time())
end

function seeded_user()
  return string.format("user%07d%%40example.net", math.random(0, users - 1))
end
