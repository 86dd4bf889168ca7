package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// SharedSlots paces DingTalk calls across every instance that shares this
// Redis, by the rule each client applies alone (dingtalk/pace.go): no
// window of one second plus a margin holds more than the limit's call
// starts, and within it calls are spaced at the limit's own rate, up to
// half a window's calls back to back after a pause. Each call books its start in one Lua script, on
// Redis's own clock, and sleeps until it; the script keeps the API's
// recent starts in a sorted set, each with half the margin its instance
// booked it with (how much later than usual that call may reach
// DingTalk), so an instance on a jittery network widens the window for the
// others' calls next to its own, and the other way round.
//
// Why a log of starts and not GCRA alone (what this did before): GCRA's
// even spacing keeps no window exact once calls can be made up after a
// stall, and needs a margin fixed in advance; the log holds the window
// whatever each instance's margin, and lets a stalled slot be made up.
//
// When Redis cannot be reached Take returns an error at once, for a
// second: each instance then paces itself alone (dingtalk keeps its own
// window for that), and instances may together overrun the app's quota
// for the length of the outage; DingTalk refuses the excess with its QPS
// error, which the client retries after its window, so calls slow down but
// none is lost. It implements dingtalk.Slots.
type SharedSlots struct {
	c      *redis.Client
	prefix string
	calls  int
	width  time.Duration
	burst  int
	id     string       // this instance, in its starts' names
	seq    atomic.Int64 // its starts

	mu        sync.Mutex
	downUntil time.Time
}

// ErrSlotsUnavailable is a shared pace whose Redis cannot be reached.
var ErrSlotsUnavailable = errors.New("the shared pace's Redis cannot be reached")

// Slots returns call starts for the app appKey shared with every instance
// on this Redis: at most calls starts per width plus the caller's margin,
// up to burst back to back after a pause (dingtalk.PaceWindow of the
// limit).
func (s *Redis) Slots(appKey string, calls int, width time.Duration, burst int) *SharedSlots {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &SharedSlots{c: s.c, prefix: s.k("pace", appKey) + ":", calls: max(calls, 1), width: width, burst: max(burst, 1), id: hex.EncodeToString(b)}
}

// reserve books the next start of KEYS[1]'s API for a caller of margin
// ARGV[3] µs and returns how many µs from now it is. KEYS[1] is a sorted
// set of recent starts (score: the start in µs on Redis's clock; member:
// "<half its margin in µs>:<a unique name>"); KEYS[2] holds when the next
// call is due at the limit's rate. ARGV: calls per window, window width µs,
// margin µs, burst, unique name. Starts that can no longer bind, and both
// keys of an idle API, expire. Numbers go to Redis through "%d": Lua would
// write a µs timestamp in 14 significant digits.
var reserve = redis.NewScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local calls, width, margin, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local half = math.floor(margin / 2)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", string.format("%d", now - width - 1000000))
local start = now
local rows = redis.call("ZRANGE", KEYS[1], 0, -1, "WITHSCORES")
if #rows >= 2 * calls then
  local ends = {}
  for i = 1, #rows, 2 do
    local h = tonumber(string.match(rows[i], "^(%d+):"))
    ends[#ends + 1] = tonumber(rows[i + 1]) + width + math.max(margin, h + half)
  end
  table.sort(ends)
  start = math.max(start, ends[#ends - calls + 1])
end
local interval = width / calls
local tat = tonumber(redis.call("GET", KEYS[2]) or "0")
start = math.floor(math.max(start, tat - (burst - 1) * interval))
tat = math.floor(math.max(tat, start) + interval)
redis.call("SET", KEYS[2], string.format("%d", tat), "PX", string.format("%d", (tat - now) / 1000 + 2000))
redis.call("ZADD", KEYS[1], string.format("%d", start), string.format("%d:%s", half, ARGV[5]))
redis.call("PEXPIRE", KEYS[1], string.format("%d", (start - now + width) / 1000 + 2000))
return start - now
`)

// down reports whether Redis failed within the last second.
func (ss *SharedSlots) down() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return time.Now().Before(ss.downUntil)
}

// Take books a start for a call to api, waits for it and returns it, by
// this process's clock. The script ran at some moment between asking and
// hearing back: Take waits from the later (never starting before the
// start Redis booked) and returns the wait from the earlier, so that
// however long Redis took counts as local delay in the call's timing, and
// so in the margin. It returns ErrSlotsUnavailable (wrapped) at once while
// Redis cannot be reached.
func (ss *SharedSlots) Take(ctx context.Context, api string, margin time.Duration) (time.Time, error) {
	if ss.down() {
		return time.Time{}, ErrSlotsUnavailable
	}
	name := ss.id + "-" + strconv.FormatInt(ss.seq.Add(1), 36)
	asked := time.Now()
	us, err := reserve.Run(ctx, ss.c, []string{ss.prefix + api, ss.prefix + api + ":due"},
		ss.calls, ss.width.Microseconds(), margin.Microseconds(), ss.burst, name).Int64()
	if err != nil {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		ss.mu.Lock()
		ss.downUntil = time.Now().Add(time.Second)
		ss.mu.Unlock()
		return time.Time{}, errors.Join(ErrSlotsUnavailable, err)
	}
	wait := time.Duration(max(us, 0)) * time.Microsecond
	at := asked.Add(wait)
	d := wait // from now, the latest the script can have run
	if d <= 0 {
		return at, nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return at, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}
