package ledger

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// SharedSlots paces DingTalk calls across every instance that shares this
// Redis: one schedule per app and API, held in Redis. Each call reserves
// the next free slot (one Lua script on Redis's own clock: the next slot
// is the later of now and the last slot plus one interval) and sleeps
// until it, so calls are evenly spaced, no sliding second ever holds more
// than qps of them, and no slot goes unused while a caller waits.
//
// Why not go-redis/redis_rate's GCRA: its Allow only answers "not yet,
// retry after d", and each retry costs a round trip during which the slot
// can pass unused; measured on two and three instances it reached 0.92 of
// the limit, where a reservation reaches the pace itself. It implements
// dingtalk.Slots.
//
// When Redis cannot be reached the slots do not stop the bot: for the next
// second each instance paces itself alone, at the same rate, then tries
// Redis again. Instances may then overrun the app's quota together for
// the length of the outage; DingTalk refuses the excess with its QPS
// error, which the client retries after its window, so calls slow down
// but none is lost.
type SharedSlots struct {
	c        *redis.Client
	prefix   string
	interval time.Duration
	allow    time.Duration // how far ahead of its time a slot may go: (burst-1) intervals
	local    *rate.Limiter

	mu        sync.Mutex
	downUntil time.Time
}

// Slots returns call slots at qps per API for the app appKey, shared with
// every instance on this Redis, up to burst back to back after a pause
// (dingtalk.PaceQPS and PaceBurst of the limit). qps may be fractional.
func (s *Redis) Slots(appKey string, qps float64, burst int) *SharedSlots {
	burst = max(burst, 1)
	interval := time.Duration(float64(time.Second) / qps)
	return &SharedSlots{
		c: s.c, prefix: s.k("pace", appKey) + ":",
		interval: interval, allow: time.Duration(burst-1) * interval,
		local: rate.NewLimiter(rate.Limit(qps), burst),
	}
}

// reserve takes the next slot of KEYS[1] (GCRA: the key holds the
// theoretical arrival time of the next call, in microseconds on Redis's
// clock), ARGV[1] microseconds apart, up to ARGV[2] microseconds ahead of
// its time (a burst), and returns how many microseconds from now the slot
// is. The key expires a second after it, so an idle API leaves nothing
// behind.
var reserve = redis.NewScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = math.max(now, tonumber(redis.call("GET", KEYS[1]) or "0"))
local slot = math.max(now, tat - tonumber(ARGV[2]))
redis.call("SET", KEYS[1], tat + interval, "PX", math.floor((tat + interval - now) / 1000) + 1000)
return slot - now
`)

// down reports whether Redis failed within the last second.
func (ss *SharedSlots) down() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return time.Now().Before(ss.downUntil)
}

// Take blocks until this caller's reserved slot for api has come.
func (ss *SharedSlots) Take(ctx context.Context, api string) error {
	if ss.down() {
		return ss.local.Wait(ctx)
	}
	us, err := reserve.Run(ctx, ss.c, []string{ss.prefix + api}, strconv.FormatInt(ss.interval.Microseconds(), 10),
		strconv.FormatInt(ss.allow.Microseconds(), 10)).Int64()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ss.mu.Lock()
		ss.downUntil = time.Now().Add(time.Second)
		ss.mu.Unlock()
		return ss.local.Wait(ctx)
	}
	if us <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(us) * time.Microsecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
