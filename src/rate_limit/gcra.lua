-- A bucket shared by every replica, as a GCRA (generic cell rate algorithm):
-- KEYS[1] holds the theoretical arrival time (TAT) of the next turn, in
-- microseconds of Redis's own clock, so that the replicas' clocks do not
-- matter. One turn comes every ARGV[1] microseconds, and up to ARGV[2] may
-- be taken at once. ARGV[4] turns taken and not used are given back, then
-- up to ARGV[3] are taken, as many as are due.
--
-- Returns {turns taken, TAT - now in microseconds}: the caller knows from it
-- when the next turn is due and how many are left.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local take = tonumber(ARGV[3])
local give_back = tonumber(ARGV[4])

local tat = tonumber(redis.call('GET', KEYS[1])) or now
tat = math.max(tat - give_back * interval, now)
-- A turn is due while the TAT is at most this far ahead.
local tolerance = (burst - 1) * interval
local taken = 0
if take > 0 and tat - now <= tolerance then
    taken = math.min(take, math.floor((tolerance - (tat - now)) / interval) + 1)
end
tat = tat + taken * interval

if tat > now then
    -- The key lives until the bucket is full again, when it would say
    -- nothing more than a missing key does. (Numbers as strings: Redis would
    -- write a large one in exponent form, rounded.)
    redis.call('SET', KEYS[1], string.format('%.0f', tat),
        'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
else
    redis.call('DEL', KEYS[1])
end
return {taken, tat - now}
