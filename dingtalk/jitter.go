package dingtalk

import (
	"math"
	"slices"
	"sync"
	"time"
)

// How the margin is learned. A call reaches DingTalk after two delays
// that vary: the local one, from the start it was booked to its request
// written on the socket (a timer firing late on a busy machine, a new
// connection's handshake), which the client measures exactly; and the way
// there over the network, which it cannot see, only the round trip from
// the request written to the answer, the way there and the way back
// together. How much of the round trips' spread is the way there's?
// Where the two ways vary alike and apart (the usual path, and the
// emulator's WAN), the spread of the sum is about √2 times (for a bell
// curve; up to twice, for a flat one) the spread of either way; where the
// way back is steady, or DingTalk is slow to count a call rather than to
// answer it, it is all of it; nothing in a round trip tells those apart.
// So the margin takes oneWayShare (1/√2) of the round trips' spread (the
// slowest of the last 64, less the fastest: a lone spike is exactly what
// brings two calls too close) while DingTalk agrees, and all of it for
// lopsidedMemory after DingTalk refuses a call for the rate limit: a
// refusal is the one sign that the way there varies more than that (or
// that another program shares the app's quota). Taking the whole spread
// always left a 200-call recall with DingTalk 300 ms ± 20 ms each way at
// 1.05x its ceiling (margin 74 ms, for 40 ms of spread on the way there);
// the share, 1.03x. Guessing wrong costs one refusal, a second's pause, an
// hour. Where the local delays are not placed exactly
// (a schedule shared through Redis, booked ahead), their spread is added.
// A refusal also adds to the margin for a while.
const (
	rttSamples = 64
	// minSamples round trips are needed before the spread is believed;
	// until then the margin is coldMargin.
	minSamples = 8
	coldMargin = 100 * time.Millisecond
	// marginFloor covers the slack between us and DingTalk that no round
	// trip shows: clocks ticking at slightly different rates, timers
	// firing late, a pause on DingTalk's side before it counts a call that
	// the last 64 round trips happened to miss (on loopback, where round
	// trips barely vary, a 10,000-key recall drew a refusal at 5 ms).
	marginFloor = 10 * time.Millisecond
	// marginShrink is how slowly the margin comes down when the delays
	// calm: it closes on what they show with this time constant.
	marginShrink = 5 * time.Second
	// oneWayShare is the part of the round trips' spread taken for the way
	// there's while the two ways seem to vary alike: 1/√2.
	oneWayShare = 0.7071
	// lopsidedMemory is how long a refusal makes the margin take the whole
	// spread of the round trips.
	lopsidedMemory = time.Hour
	// refusalBoost is the least a refusal adds to the margin; the boost
	// doubles with each one, and halves every boostHalfLife.
	refusalBoost  = 20 * time.Millisecond
	boostHalfLife = 10 * time.Second
)

// samples is a ring of the last rttSamples durations.
type samples struct {
	d    [rttSamples]time.Duration
	n, i int
}

func (s *samples) add(d time.Duration) {
	s.d[s.i] = d
	s.i = (s.i + 1) % rttSamples
	s.n = min(s.n+1, rttSamples)
}

// sorted is the durations held, sorted, in buf.
func (s *samples) sorted(buf []time.Duration) []time.Duration {
	buf = append(buf[:0], s.d[:s.n]...)
	slices.Sort(buf)
	return buf
}

// jitter learns one API's margin and round trip.
type jitter struct {
	mu      sync.Mutex
	local   samples          // booked start -> request written
	rtt     samples          // request written -> answer
	learnt  [2]time.Duration // the spreads of the round trips and of the local delays, each shrinking slowly
	learnAt time.Time        // when learnt last moved
	boost   time.Duration    // added by the last refusal, halving every boostHalfLife
	boostAt time.Time
	whole   time.Time // until then the margin takes the round trips' whole spread (a refusal's lesson)
	buf     []time.Duration
}

// sent takes the local delay of one call into account: from its start to
// its request written. Known before DingTalk answers, it widens a shared
// schedule's margin in time for the next window's calls.
func (j *jitter) sent(d time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.local.add(d)
	j.learnLocked()
}

// answered takes one round trip into account: from the request written
// to DingTalk's answer.
func (j *jitter) answered(rtt time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rtt.add(rtt)
	j.learnLocked()
}

// learnLocked moves the margin towards what the delays call for: up at
// once (a margin too small costs a refusal and a second), down slowly.
// j.mu must be held.
func (j *jitter) learnLocked() {
	if j.rtt.n < minSamples {
		return
	}
	r := j.rtt.sorted(j.buf)
	net := r[len(r)-1] - r[0]
	local := time.Duration(0)
	if j.local.n > 0 {
		l := j.local.sorted(r)
		local = l[len(l)-1] - l[0]
	}
	j.buf = r[:0]
	now := time.Now()
	for i, want := range [2]time.Duration{net, local} {
		if want >= j.learnt[i] {
			j.learnt[i] = want
		} else {
			j.learnt[i] -= time.Duration(float64(j.learnt[i]-want) * min(1, float64(now.Sub(j.learnAt))/float64(marginShrink)))
		}
	}
	j.learnAt = now
}

// refused grows the margin after a rate-limit refusal.
func (j *jitter) refused() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.boost = min(maxMargin, max(2*j.boostLocked(), refusalBoost))
	j.boostAt = time.Now()
	j.whole = j.boostAt.Add(lopsidedMemory)
}

// boostLocked is what is left of the refusals' boost. j.mu must be held.
func (j *jitter) boostLocked() time.Duration {
	if j.boost == 0 {
		return 0
	}
	halves := float64(time.Since(j.boostAt)) / float64(boostHalfLife)
	return time.Duration(float64(j.boost) * math.Exp2(-halves))
}

// margin is the margin to pace at now: the way there's share of the round
// trips' spread, and withLocal the local delays' spread, for a schedule
// that cannot place them.
func (j *jitter) margin(withLocal bool) time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	m := j.learnt[0]
	if time.Now().After(j.whole) {
		m = time.Duration(float64(m) * oneWayShare)
	}
	if withLocal {
		m += j.learnt[1]
	}
	if j.rtt.n < minSamples {
		m = coldMargin
	}
	return min(maxMargin, max(marginFloor, m+j.boostLocked()))
}

// roundTrip is how long a call of the API is out, at the long end: the
// 90th percentiles of the recent local delays and round trips, or 0
// before any answer.
func (j *jitter) roundTrip() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.rtt.n == 0 {
		return 0
	}
	r := j.rtt.sorted(j.buf)
	d := r[len(r)*9/10]
	if j.local.n > 0 {
		l := j.local.sorted(r)
		d += l[len(l)*9/10]
	}
	j.buf = r[:0]
	return d
}
