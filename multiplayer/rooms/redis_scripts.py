"""The Lua scripts of :class:`~.redis_directory.RedisDirectory`: each directory
operation is one script, which Redis runs atomically (nothing else runs on the server
meanwhile), so the seat ledger and single flight hold across processes as they do
in one.

The keys, under the directory's namespace ``ns``:

* ``ns:room:CODE``: a hash: ``type``, ``owner``, ``max``, ``taken``, ``private``,
  ``locked``, ``meta`` (JSON);
* ``ns:holds:CODE``: a sorted set of the seats held for joins in progress, by
  expiry (ms, Redis's clock: every process reads the same one);
* ``ns:public``, ``ns:public:TYPE``: the codes of the listed rooms;
* ``ns:open:TYPE``: those of the listed rooms of the type that are neither locked
  nor full (their taken seats; held ones expire): what ``join_or_create`` looks
  at, so that it reads the rooms it may choose, not every full one;
* ``ns:owned:OWNER``: the codes of the rooms a process owns;
* ``ns:process:OWNER``: a process's addresses (JSON), expiring unless its
  heartbeat renews it; ``ns:processes``: every process by its last heartbeat (ms);
  ``ns:draining``: the processes taking no new room;
* ``ns:gone:CODE``: a room whose process died, kept ``gone_ttl`` so that a join
  gets :class:`~multiplayer.exceptions.RoomGone` rather than "no such room";
* ``ns:version``: bumped at every change of the listing, published on
  ``ns:changes``.

A script names the keys it derives from ``ns`` itself: one Redis server (or a
primary with replicas), not Redis Cluster.
"""

from __future__ import annotations

__all__ = ["SCRIPTS"]

# Shared by every script (prepended): the clock, reading a room, holds, the listing.
_PRELUDE = """
local ns = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function bump()
  local version = redis.call('INCR', ns .. ':version')
  redis.call('PUBLISH', ns .. ':changes', version)
end
local function held(code, now)
  local holds = ns .. ':holds:' .. code
  redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
  return redis.call('ZCARD', holds)
end
local function read(code, now)
  local r = redis.call('HMGET', ns .. ':room:' .. code,
    'type', 'owner', 'max', 'taken', 'private', 'locked', 'meta')
  if not r[1] then return nil end
  return {code, r[1], r[2], tonumber(r[3]), tonumber(r[4]), held(code, now),
          tonumber(r[5]), tonumber(r[6]), r[7]}
end
local function missing(code)
  if redis.call('EXISTS', ns .. ':gone:' .. code) == 1 then
    return {'gone', redis.call('GET', ns .. ':gone:' .. code)}
  end
  return {'notfound'}
end
local function hold(code, ticket, now, hold_ms)
  redis.call('ZADD', ns .. ':holds:' .. code, now + hold_ms, ticket)
end
local function list_it(code, room_type, private)
  if private == 1 then
    redis.call('SREM', ns .. ':public', code)
    redis.call('SREM', ns .. ':public:' .. room_type, code)
  else
    redis.call('SADD', ns .. ':public', code)
    redis.call('SADD', ns .. ':public:' .. room_type, code)
  end
end
local function index(code)
  local r = redis.call('HMGET', ns .. ':room:' .. code, 'type', 'max', 'taken', 'private',
    'locked')
  if not r[1] then return end
  local max, taken = tonumber(r[2]), tonumber(r[3])
  if tonumber(r[4]) == 0 and tonumber(r[5]) == 0 and (max == 0 or taken < max) then
    redis.call('SADD', ns .. ':open:' .. r[1], code)
  else
    redis.call('SREM', ns .. ':open:' .. r[1], code)
  end
end
local function forget(code)
  local room = ns .. ':room:' .. code
  local r = redis.call('HMGET', room, 'type', 'owner')
  if not r[1] then return 0 end
  redis.call('DEL', room, ns .. ':holds:' .. code)
  redis.call('SREM', ns .. ':public', code)
  redis.call('SREM', ns .. ':public:' .. r[1], code)
  redis.call('SREM', ns .. ':open:' .. r[1], code)
  redis.call('SREM', ns .. ':owned:' .. r[2], code)
  return 1
end
local function create(room_type, owner, max, private, meta, ticket, hold_ms, now, codes)
  for _, code in ipairs(codes) do
    local room = ns .. ':room:' .. code
    if redis.call('EXISTS', room) == 0 and redis.call('EXISTS', ns .. ':gone:' .. code) == 0 then
      redis.call('HSET', room, 'type', room_type, 'owner', owner, 'max', max, 'taken', 0,
        'private', private, 'locked', 0, 'meta', meta)
      redis.call('SADD', ns .. ':owned:' .. owner, code)
      list_it(code, room_type, private)
      index(code)
      hold(code, ticket, now, hold_ms)
      bump()
      return {'created', code}
    end
  end
  return {'taken'}
end
"""

# ARGV: ns, type, owner, max, private, meta, ticket, hold_ms, code...
_CREATE = """
local codes = {}
for i = 9, #ARGV do codes[#codes + 1] = ARGV[i] end
return create(ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7],
  tonumber(ARGV[8]), now_ms(), codes)
"""

# ARGV: ns, code, ticket, hold_ms
_RESERVE = """
local code = ARGV[2]
local now = now_ms()
local room = read(code, now)
if not room then return missing(code) end
if room[8] == 1 then return {'locked'} end
if room[4] > 0 and room[4] - room[5] - room[6] <= 0 then return {'full', room[4]} end
hold(code, ARGV[3], now, tonumber(ARGV[4]))
bump()
return {'held', code}
"""

# ARGV: ns, type, owner, max, meta, criteria, ticket, hold_ms, code...
# The fullest public, unlocked room of the type whose metadata has the criteria, with
# a free seat, in a process not draining; or a new one. (It reads the open rooms of
# the type: those neither full nor locked.)
_JOIN_OR_CREATE = """
local room_type, criteria = ARGV[2], cjson.decode(ARGV[6])
local now = now_ms()
local best, best_count = nil, -1
for _, code in ipairs(redis.call('SMEMBERS', ns .. ':open:' .. room_type)) do
  local room = read(code, now)
  if not room then redis.call('SREM', ns .. ':open:' .. room_type, code) end
  if room and room[8] == 0
     and redis.call('SISMEMBER', ns .. ':draining', room[3]) == 0
     and (room[4] == 0 or room[4] - room[5] - room[6] > 0) then
    local meta = cjson.decode(room[9])
    local fits = true
    for key, value in pairs(criteria) do
      if meta[key] ~= value then fits = false break end
    end
    if fits and room[5] + room[6] > best_count then
      best, best_count = code, room[5] + room[6]
    end
  end
end
if best then
  hold(best, ARGV[7], now, tonumber(ARGV[8]))
  bump()
  return {'held', best}
end
local codes = {}
for i = 9, #ARGV do codes[#codes + 1] = ARGV[i] end
return create(room_type, ARGV[3], ARGV[4], 0, ARGV[5], ARGV[7], tonumber(ARGV[8]), now, codes)
"""

# ARGV: ns, code, ticket. (A hold that expired meanwhile still ends in a player who
# is in: counted.)
_CONFIRM = """
local room = ns .. ':room:' .. ARGV[2]
if redis.call('EXISTS', room) == 0 then return 0 end
redis.call('ZREM', ns .. ':holds:' .. ARGV[2], ARGV[3])
redis.call('HINCRBY', room, 'taken', 1)
index(ARGV[2])
bump()
return 1
"""

# ARGV: ns, code, ticket
_RELEASE = """
if redis.call('ZREM', ns .. ':holds:' .. ARGV[2], ARGV[3]) == 1 then bump() end
return 0
"""

# ARGV: ns, code
_LEAVE = """
local room = ns .. ':room:' .. ARGV[2]
local taken = tonumber(redis.call('HGET', room, 'taken'))
if taken and taken > 0 then
  redis.call('HINCRBY', room, 'taken', -1)
  index(ARGV[2])
  bump()
end
return 0
"""

# ARGV: ns, code, locked ('' unchanged), private ('' unchanged), meta ('' unchanged)
_UPDATE = """
local code = ARGV[2]
local key = ns .. ':room:' .. code
if redis.call('EXISTS', key) == 0 then return missing(code) end
if ARGV[3] ~= '' then redis.call('HSET', key, 'locked', ARGV[3]) end
if ARGV[4] ~= '' then
  redis.call('HSET', key, 'private', ARGV[4])
  list_it(code, redis.call('HGET', key, 'type'), tonumber(ARGV[4]))
end
if ARGV[5] ~= '' then redis.call('HSET', key, 'meta', ARGV[5]) end
index(code)
bump()
return {'room', read(code, now_ms())}
"""

# ARGV: ns, code
_REMOVE = """
if forget(ARGV[2]) == 1 then bump() end
return 0
"""

# ARGV: ns, code
_GET = """
local room = read(ARGV[2], now_ms())
if not room then return missing(ARGV[2]) end
return {'room', room}
"""

# ARGV: ns, type ('' for every type)
_LISTING = """
local now = now_ms()
local set = ns .. ':public'
if ARGV[2] ~= '' then set = set .. ':' .. ARGV[2] end
local rooms = {}
for _, code in ipairs(redis.call('SMEMBERS', set)) do
  local room = read(code, now)
  if room then rooms[#rooms + 1] = room end
end
return rooms
"""

# ARGV: ns, owner, addresses (JSON), ttl_ms. Returns 1 if the process was known (its
# key still there), 0 if it is new to the directory (first start, or Redis lost it).
_HEARTBEAT = """
local key = ns .. ':process:' .. ARGV[2]
local known = redis.call('EXISTS', key)
redis.call('SET', key, ARGV[3], 'PX', tonumber(ARGV[4]))
redis.call('ZADD', ns .. ':processes', now_ms(), ARGV[2])
return known
"""

# ARGV: ns, owner, draining (1 or 0)
_DRAIN = """
if ARGV[3] == '1' then
  redis.call('SADD', ns .. ':draining', ARGV[2])
else
  redis.call('SREM', ns .. ':draining', ARGV[2])
end
bump()
return 0
"""

# ARGV: ns, dead_after_ms, gone_ttl_ms. The processes whose heartbeat is older than
# dead_after: their rooms are marked gone (and forgotten), and so are they. Returns
# {owner, code, code, ..., '', owner, ...}.
_SWEEP = """
local now = now_ms()
local dead = redis.call('ZRANGEBYSCORE', ns .. ':processes', '-inf',
  now - tonumber(ARGV[2]))
local out = {}
for _, owner in ipairs(dead) do
  out[#out + 1] = owner
  for _, code in ipairs(redis.call('SMEMBERS', ns .. ':owned:' .. owner)) do
    if forget(code) == 1 then
      redis.call('SET', ns .. ':gone:' .. code, owner, 'PX', tonumber(ARGV[3]))
      out[#out + 1] = code
    end
  end
  out[#out + 1] = ''
  redis.call('DEL', ns .. ':owned:' .. owner, ns .. ':process:' .. owner)
  redis.call('ZREM', ns .. ':processes', owner)
  redis.call('SREM', ns .. ':draining', owner)
end
if #dead > 0 then bump() end
return out
"""

# ARGV: ns, owner. A process that stops: it forgets its rooms (ended) and itself.
_DEREGISTER = """
for _, code in ipairs(redis.call('SMEMBERS', ns .. ':owned:' .. ARGV[2])) do forget(code) end
redis.call('DEL', ns .. ':owned:' .. ARGV[2], ns .. ':process:' .. ARGV[2])
redis.call('ZREM', ns .. ':processes', ARGV[2])
redis.call('SREM', ns .. ':draining', ARGV[2])
bump()
return 0
"""

# ARGV: ns, owner, code. A room that ended while Redis was unreachable (its removal
# was lost): removed now, unless another process has its code (Redis restarted).
_FORGET = """
if redis.call('HGET', ns .. ':room:' .. ARGV[3], 'owner') == ARGV[2] then
  if forget(ARGV[3]) == 1 then bump() end
end
return 0
"""

# ARGV: ns, owner, code, type, max, taken, private, locked, meta. A process whose
# registration was lost (Redis restarted empty, or it was swept while cut off) puts
# its live rooms back. A code another process has taken meanwhile is not: 'taken'.
_RESTORE = """
local code, owner = ARGV[3], ARGV[2]
local key = ns .. ':room:' .. code
local current = redis.call('HGET', key, 'owner')
if current and current ~= owner then return 'taken' end
redis.call('DEL', ns .. ':gone:' .. code)
redis.call('HSET', key, 'type', ARGV[4], 'owner', owner, 'max', ARGV[5], 'taken', ARGV[6],
  'private', ARGV[7], 'locked', ARGV[8], 'meta', ARGV[9])
redis.call('SADD', ns .. ':owned:' .. owner, code)
list_it(code, ARGV[4], tonumber(ARGV[7]))
index(code)
bump()
return 'restored'
"""

SCRIPTS = {
    name: _PRELUDE + body
    for name, body in {
        "create": _CREATE,
        "reserve": _RESERVE,
        "join_or_create": _JOIN_OR_CREATE,
        "confirm": _CONFIRM,
        "release": _RELEASE,
        "leave": _LEAVE,
        "update": _UPDATE,
        "remove": _REMOVE,
        "get": _GET,
        "listing": _LISTING,
        "heartbeat": _HEARTBEAT,
        "drain": _DRAIN,
        "sweep": _SWEEP,
        "deregister": _DEREGISTER,
        "restore": _RESTORE,
        "forget": _FORGET,
    }.items()
}
"""Each script's source, by the name of the directory operation it is."""
