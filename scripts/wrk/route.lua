-- wrk script for the route API: each request asks for a user drawn uniformly from the
-- seeded ones, as Dovecot CE proxies would at every login. The bearer token comes as a -H header.
dofile("scripts/wrk/seeded.lua")

function request()
  return wrk.format("GET", "/api/route/v1?user=" .. seeded_user() .. "&service=imap")
end
