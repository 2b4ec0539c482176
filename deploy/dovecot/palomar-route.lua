-- Palomar route lookup: a Lua passdb for Dovecot CE proxies, 2.3 and 2.4 alike (tested on 2.3.19.1
-- and 2.4.1; Lua 5.4, dovecot.http.client). The passdb declaration differs per line:
-- deploy/dovecot/2.3/ and deploy/dovecot/2.4/.
--
-- For every login (IMAP, POP3, Submission) and every LMTP RCPT TO, the proxy asks the controller's
-- route API which backend serves the user:
--   GET <route_url>/api/route/v1?user=<urlencoded login>&service=<imap|pop3|lmtp|submission>
--   Authorization: Bearer <token from token_file>
--   200 "host=H\nsite=S\ngroup=G\nreason=R\n" (Cache-Control: max-age=N)  -> proxy to H
--   503 "error=<text>\n", 401, 400, anything else, or no answer            -> temporary failure
--
-- Settings. CE 2.3 accepts only file=, blocking=, cache_key= and scheme= on the passdb args line
-- (any other key is a fatal "Unsupported parameter") and calls script_init() without arguments, so
-- the settings live in a small "key = value" file (# comments allowed):
--   $PALOMAR_ROUTE_CONF if set (import_environment), else this script's path with .lua -> .conf.
-- CE 2.4 passes lua_settings { ... } to script_init(args) as a table; those entries override the file.
--   route_url        (required) e.g. http://127.0.0.1:3000, no trailing /api/...
--   token_file       (required) file holding the bearer token; re-read on every lookup, so it can
--                    rotate; never logged
--   imap_port=143 pop3_port=110 lmtp_port=24 submission_port=587   backend port per service
--   timeout_msecs=2000   connect and request timeout of one lookup (one attempt, no retry; on 2.4
--                        given to lib-http as "<n> ms")
--   lmtp_protocol=lmtp   what the LMTP proxy speaks to the backend (lmtp or smtp)
--
-- Caching: the proxy's auth cache keeps the answer, per user and service, because the port differs
-- per service (2.3: cache_key=%u%s on the passdb line; 2.4: auth_passdb_get_cache_key below). On
-- 2.3 `doveadm auth cache flush <user>` drops a user's entries; 2.4.1 cannot be flushed.
-- Only answers are cached: a temporary failure (503, no answer) is asked again at the next login.
-- On success the script logs at debug level only (auth_debug); failures are logged by Dovecot as
-- "db-lua: palomar-route: ..." errors. The token never appears in a log line.

local SCRIPT = "palomar-route"
local DEFAULTS = {
  imap_port = "143",
  pop3_port = "110",
  lmtp_port = "24",
  submission_port = "587",
  timeout_msecs = "2000",
  lmtp_protocol = "lmtp",
}
local PORT_KEYS = { imap = "imap_port", pop3 = "pop3_port", lmtp = "lmtp_port", submission = "submission_port" }

local conf = nil
local client = nil

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Printable, single line, bounded: for anything taken from an answer into a log line.
local function clean(s, max)
  s = tostring(s or ""):gsub("[%c\128-\255]", "?")
  if #s > max then s = s:sub(1, max) .. "..." end
  return s
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function script_dir_conf()
  local info = debug and debug.getinfo and debug.getinfo(1, "S")
  local src = info and info.source or ""
  if src:sub(1, 1) == "@" and src:match("%.lua$") then
    return src:sub(2, -5) .. ".conf"
  end
  return "/etc/dovecot/palomar-route.conf"
end

local function read_conf_file(path, into)
  local f, err = io.open(path, "r")
  if not f then return nil, "cannot open settings file " .. path .. ": " .. tostring(err) end
  local n = 0
  for line in f:lines() do
    n = n + 1
    line = trim(line:gsub("#.*$", ""))
    if line ~= "" then
      local k, v = line:match("^([%w_]+)%s*=%s*(.-)$")
      if not k then
        f:close()
        return nil, string.format("%s:%d: expected key = value", path, n)
      end
      into[k] = v
    end
  end
  f:close()
  return true
end

local function validate(c)
  if not c.route_url or not c.route_url:match("^https?://[^%s]+$") then
    return nil, "route_url must be an http:// URL"
  end
  c.route_url = c.route_url:gsub("/+$", "")
  if not c.token_file or c.token_file == "" then return nil, "token_file is required" end
  c.ports = {}
  for service, key in pairs(PORT_KEYS) do
    local p = tonumber(c[key])
    if not p or p < 1 or p > 65535 or p % 1 ~= 0 then return nil, key .. " must be a port number" end
    c.ports[service] = string.format("%d", p)
  end
  local t = tonumber(c.timeout_msecs)
  if not t or t < 1 then return nil, "timeout_msecs must be a positive number" end
  c.timeout = math.floor(t)
  if c.lmtp_protocol ~= "lmtp" and c.lmtp_protocol ~= "smtp" then
    return nil, "lmtp_protocol must be lmtp or smtp"
  end
  return c
end

-- CE 2.3: script_init(); CE 2.4: script_init(lua_settings table). Returns 0 (2.3 wants a number).
function script_init(args)
  local c = {}
  for k, v in pairs(DEFAULTS) do c[k] = v end
  local path = os.getenv("PALOMAR_ROUTE_CONF") or script_dir_conf()
  local has_args = type(args) == "table" and next(args) ~= nil
  local ok, err = read_conf_file(path, c)
  if not ok and not has_args then
    dovecot.i_error(SCRIPT .. ": " .. err)
    return 1
  end
  if has_args then
    for k, v in pairs(args) do c[k] = tostring(v) end
  end
  local valid, verr = validate(c)
  if not valid then
    dovecot.i_error(SCRIPT .. ": " .. verr)
    return 1
  end
  conf = valid
  return 0
end

local function read_token()
  local f = io.open(conf.token_file, "r")
  if not f then return nil end
  local t = f:read("a") or ""
  f:close()
  t = trim(t)
  if t == "" or t:find("[%c ]") then return nil end
  return t
end

-- The two lines name the HTTP client's options differently, and each refuses the other's names
-- (2.4.1: "Invalid HTTP client setting: ... is unknown setting"). The client is made with the
-- options one line accepts, and the other line's on refusal: no version number is needed.
local function client_options()
  local ms = string.format("%d ms", conf.timeout)
  return {
    { -- 2.4
      connect_timeout = ms,
      request_timeout = ms,
      request_absolute_timeout = ms,
      request_max_attempts = 1,
      max_connect_attempts = 1,
      user_agent = "palomar-route/1 (dovecot)",
    },
    { -- 2.3
      connect_timeout_msecs = conf.timeout,
      request_timeout_msecs = conf.timeout,
      request_absolute_timeout_msecs = conf.timeout,
      max_attempts = 1,
      max_connect_attempts = 1,
      user_agent = "palomar-route/1 (dovecot)",
    },
  }
end

local function http_client()
  if client == nil then
    local refused = {}
    for _, options in ipairs(client_options()) do
      local ok, made = pcall(dovecot.http.client, options)
      if ok and made then
        client = made
        break
      end
      refused[#refused + 1] = clean(made, 200)
    end
    if client == nil then error("no HTTP client: " .. table.concat(refused, "; ")) end
  end
  return client
end

-- "key=value" lines; unknown keys, blank and malformed lines are ignored.
local function parse_body(body)
  local fields = {}
  for line in (body .. "\n"):gmatch("([^\n]*)\n") do
    local k, v = line:match("^%s*([%w_%-]+)%s*=%s*(.-)%s*$")
    if k and fields[k] == nil then fields[k] = v end
  end
  return fields
end

-- A host name, IPv4 or IPv6 address: nothing that could smuggle another passdb field.
local function valid_host(h)
  return h ~= nil and #h > 0 and #h <= 253 and h:match("^[%w%.%-:]+$") ~= nil and h:sub(1, 1) ~= "-"
end

local function fail(msg)
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, SCRIPT .. ": " .. msg
end

local function lookup(req)
  if conf == nil then return fail("not initialised (see script_init errors)") end
  local service = req.service or req.protocol or "" -- 2.4 calls %{service} %{protocol}
  local port = conf.ports[service]
  if port == nil then return fail("no backend port for service " .. clean(service, 32)) end
  local user = req.user or ""
  if user == "" then return fail("empty user name") end
  local token = read_token()
  if token == nil then return fail("cannot read a token from " .. conf.token_file) end

  local url = conf.route_url .. "/api/route/v1?user=" .. urlencode(user) .. "&service=" .. urlencode(service)
  local request = http_client():request({ url = url, method = "GET" })
  request:add_header("Authorization", "Bearer " .. token)
  request:add_header("Accept", "text/plain")
  local response = request:submit()
  local status = response:status()

  if status == 200 then
    local fields = parse_body(response:payload() or "")
    local host = fields.host
    if not valid_host(host) then
      return fail(string.format("route API answered 200 without a valid host for %s (host=%s)",
        clean(user, 128), clean(host, 64)))
    end
    req:log_debug(string.format("%s: %s %s -> %s:%s site=%s group=%s reason=%s cache-control=%s",
      SCRIPT, service, clean(user, 128), host, port, clean(fields.site, 64), clean(fields.group, 64),
      clean(fields.reason, 64), clean(response:header("Cache-Control"), 64)))
    local result = { proxy = "y", host = host, port = port, nopassword = "y" }
    if service == "lmtp" then result.protocol = conf.lmtp_protocol end
    return dovecot.auth.PASSDB_RESULT_OK, result
  end

  local detail
  if status >= 9000 then
    -- lib-http's own errors (connection refused, timeout, ...): the reason says which.
    detail = "route API unreachable: " .. clean(response:reason(), 200)
  else
    local fields = parse_body(response:payload() or "")
    detail = string.format("route API answered %d%s", status,
      fields.error and (": " .. clean(fields.error, 200)) or "")
  end
  return fail(string.format("%s (%s %s); temporary failure", detail, service, clean(user, 128)))
end

function auth_passdb_lookup(req)
  local ok, result, extra = pcall(lookup, req)
  if ok then return result, extra end
  -- A Lua error (odd input, library error): never crash the auth process, never log the token.
  local msg = clean(result, 300)
  local token = conf and read_token()
  if token then msg = msg:gsub(token:gsub("%p", "%%%0"), "***") end
  return fail("lookup error: " .. msg)
end

-- CE 2.4 only (2.3 never calls it; there cache_key= on the args line does this): cache per user and
-- service, user first, as on 2.3.
function auth_passdb_get_cache_key()
  return "%{user}%{protocol}"
end

function script_deinit()
  client = nil
end
