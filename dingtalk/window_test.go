package dingtalk

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// mostInWindow is the most of times (any order) within one half-open
// window of width w: as DingTalk's sliding window counts them.
func mostInWindow(times []time.Time, w time.Duration) int {
	s := slices.Clone(times)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, j := 0, 0; j < len(s); j++ {
		for s[j].Sub(s[i]) >= w {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// TestWindowHoldsTheLimitWhateverTheMargins: whatever the margins calls
// start with (changing from call to call, as learnt jitter does, or as
// instances with different networks share a schedule), however late each
// request leaves after its start (a busy machine: sometimes after the next
// calls have started), and however each call's way there varies within
// its margin, no window of DingTalk's holds more arrivals than the limit.
func TestWindowHoldsTheLimitWhateverTheMargins(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, qps := range []float64{2.5, 3, 20, 200} {
		s := newSchedule(qps)
		now := time.Unix(1_700_000_000, 0)
		type write struct {
			st *start
			at time.Time
			h  time.Duration
		}
		var writes []write // requests not written yet
		var arrivals []time.Time
		flush := func(upTo time.Time) { // the requests written by upTo
			writes = slices.DeleteFunc(writes, func(w write) bool {
				if w.at.After(upTo) {
					return false
				}
				s.wrote(w.st, w.at)
				arrivals = append(arrivals, w.at.Add(time.Duration(rng.Int64N(2*int64(w.h)+1)-int64(w.h))))
				return true
			})
		}
		for i := range 3000 {
			if rng.IntN(4) == 0 { // demand pauses now and then
				now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Second))))
			}
			m := marginFloor + time.Duration(rng.Int64N(int64(maxMargin-marginFloor)))
			if i%500 < 250 {
				m = marginFloor + time.Duration(rng.Int64N(int64(20*time.Millisecond))) // a calm spell
			}
			for {
				flush(now)
				at := s.earliest(now, m)
				if !at.After(now) {
					break
				}
				now = at // the caller sleeps until then, and looks again
			}
			st := s.add(now, m, true)
			late := time.Duration(rng.Int64N(int64(time.Millisecond)))
			if rng.IntN(20) == 0 {
				late = time.Duration(rng.Int64N(int64(1500 * time.Millisecond))) // a stall, a handshake
			}
			if rng.IntN(50) == 0 {
				s.wrote(st, time.Time{}) // never written: it never reached DingTalk
				continue
			}
			writes = append(writes, write{st, now.Add(late), m / 2})
		}
		flush(now.Add(time.Hour))
		if got := mostInWindow(arrivals, s.width); got > s.calls {
			t.Errorf("qps %v: %d arrivals in one window of %s, limit %d", qps, got, s.width, s.calls)
		}
	}
}

// TestPaceUsesTheWindow: under a steady demand with a margin of 40 ms, no
// window of 1 s + 40 ms holds more than 20 of the pace's starts, and 200
// calls at 20/s start within nine such windows and half a tenth: the last
// window's calls go as soon as it allows, so a job of ten windows ends
// near its ceiling despite the margin. (testing/synctest: time is exact.)
func TestPaceUsesTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer("/x", 20, nil)
		for i := range rttSamples { // round trips 100 ms to 156.6 ms: a margin of 40 ms (oneWayShare of it)
			p.jit.answered(100*time.Millisecond + time.Duration(i)*56568*time.Microsecond/(rttSamples-1))
		}
		m := p.jit.margin(false)
		if m < 39*time.Millisecond || m > 41*time.Millisecond {
			t.Fatalf("margin %s, want 40ms", m)
		}
		begin := time.Now()
		var mu sync.Mutex
		var starts []time.Time
		var wg sync.WaitGroup
		for range 8 { // a job's workers
			wg.Go(func() {
				for {
					mu.Lock()
					done := len(starts) >= 200
					mu.Unlock()
					if done {
						return
					}
					at, wrote, err := p.wait(context.Background(), Bulk)
					if err != nil {
						t.Error(err)
						return
					}
					wrote(at)
					mu.Lock()
					starts = append(starts, at)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if got := mostInWindow(starts, time.Second+m); got > 20 {
			t.Errorf("%d starts in one window of 1 s + %s", got, m)
		}
		slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
		last := starts[199].Sub(begin)
		if want := 9*(time.Second+m) + 10*(time.Second+m)/20; last > want {
			t.Errorf("the 200th call started after %s, want at most %s", last, want)
		}
	})
}

// TestRefusalWaitsAWindowFromTheRefusedStart: after a 403 the API waits
// until DingTalk's window and the (grown) margin have passed since the
// refused call started, not since its answer came back.
func TestRefusalWaitsAWindowFromTheRefusedStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer("/x", 20, nil)
		before := p.jit.margin(false)
		start, wrote, err := p.wait(context.Background(), Bulk)
		if err != nil {
			t.Fatal(err)
		}
		wrote(start)
		time.Sleep(300 * time.Millisecond) // the round trip: the 403 comes back
		p.refused(start)
		m := p.jit.margin(false)
		if m < before+refusalBoost {
			t.Errorf("margin %s after a refusal, was %s", m, before)
		}
		next, _, err := p.wait(context.Background(), Interactive)
		if err != nil {
			t.Fatal(err)
		}
		if want := start.Add(qpsWindow + m); !next.Equal(want) {
			t.Errorf("next call %s after the refused one, want %s", next.Sub(start), want.Sub(start))
		}
	})
}

// TestMarginFollowsTheRoundTrips: the margin grows at once when round
// trips spread, comes down slowly when they calm, and a refusal adds to it
// for a while. (testing/synctest: the slowness is in time.)
func TestMarginFollowsTheRoundTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var j jitter
		if j.margin(false) != coldMargin {
			t.Errorf("margin %s before any round trip, want %s", j.margin(false), coldMargin)
		}
		for i := range rttSamples {
			j.answered(300*time.Millisecond + time.Duration(i%2)*80*time.Millisecond)
		}
		if m, want := j.margin(false), share(80*time.Millisecond); m != want {
			t.Fatalf("round trips 300 ms and 380 ms: margin %s, want %s", m, want)
		}
		j.answered(600 * time.Millisecond)
		if m, want := j.margin(false), share(300*time.Millisecond); m != want {
			t.Fatalf("a round trip 300 ms slower: margin %s, want it at once at %s", m, want)
		}
		for range rttSamples { // calm again, 20 round trips a second
			time.Sleep(50 * time.Millisecond)
			j.answered(300 * time.Millisecond)
		}
		if m := j.margin(false); m < 100*time.Millisecond {
			t.Errorf("3 s after the round trips calmed the margin is %s: it came down too fast", m)
		}
		for range 20 * rttSamples {
			time.Sleep(50 * time.Millisecond)
			j.answered(300 * time.Millisecond)
		}
		if m := j.margin(false); m != marginFloor {
			t.Errorf("a minute later the margin is %s, want the floor %s", m, marginFloor)
		}
		j.refused()
		j.refused()
		if m := j.margin(false); m < 2*refusalBoost || m > 2*refusalBoost+time.Millisecond {
			t.Errorf("two refusals: margin %s, want %s", m, 2*refusalBoost)
		}
		time.Sleep(boostHalfLife)
		if m := j.margin(false); m < refusalBoost || m > refusalBoost+time.Millisecond {
			t.Errorf("%s after two refusals: margin %s, want %s", boostHalfLife, m, refusalBoost)
		}
	})
}

// share is the way there's share of a round trips' spread d.
func share(d time.Duration) time.Duration { return time.Duration(float64(d) * oneWayShare) }

// TestMarginTakesTheWayTheresShareUntilARefusal: while DingTalk refuses
// nothing, the margin is the way there's share of the round trips' spread
// (1/√2: the two ways of a path vary alike); a refusal says the way there
// varies more than that, and for an hour the margin is the whole spread
// (plus the refusal's own boost, which fades in seconds). Taking the whole
// spread always left a job at 300 ms ± 20 ms each way at 1.05x its
// ceiling, for a spread on the way there of 40 ms out of 80 ms.
func TestMarginTakesTheWayTheresShareUntilARefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var j jitter
		for i := range rttSamples {
			j.answered(300*time.Millisecond + time.Duration(i%2)*80*time.Millisecond)
		}
		if m, want := j.margin(false), share(80*time.Millisecond); m != want {
			t.Fatalf("round trips 300 ms and 380 ms, no refusal: margin %s, want %s", m, want)
		}
		j.refused()
		time.Sleep(10 * boostHalfLife) // the boost has faded; the lesson has not
		if m := j.margin(false); m < 80*time.Millisecond || m > 81*time.Millisecond {
			t.Errorf("%s after a refusal: margin %s, want the whole spread, 80ms", 10*boostHalfLife, m)
		}
		time.Sleep(lopsidedMemory)
		j.answered(300 * time.Millisecond) // the spread is still 80 ms
		if m, want := j.margin(false), share(80*time.Millisecond); m != want {
			t.Errorf("an hour after the refusal: margin %s, want the share again, %s", m, want)
		}
	})
}

// downSlots is a shared schedule that cannot be reached.
type downSlots struct{}

func (downSlots) Take(ctx context.Context, api string, margin time.Duration) (time.Time, error) {
	return time.Time{}, errors.New("connection refused")
}

// TestUnreachableSharedSlotsPaceAlone: when the shared schedule cannot be
// reached, calls still go, in this process's own window.
func TestUnreachableSharedSlotsPaceAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer("/x", 20, downSlots{})
		var starts []time.Time
		for range 60 {
			at, wrote, err := p.wait(context.Background(), Bulk)
			if err != nil {
				t.Fatal(err)
			}
			wrote(at)
			starts = append(starts, at)
		}
		if got := mostInWindow(starts, time.Second+p.jit.margin(true)); got > 20 {
			t.Errorf("%d starts in one window", got)
		}
	})
}

// TestLocalDelaysWidenTheSharedMarginAtOnce: a request written late after
// its start (a busy machine, a new connection's handshake) reaches
// DingTalk that much later. Alone, the schedule places it where it left,
// and the margin need not cover it; shared, the other instances booked
// against its start, so the whole spread of those delays goes into the
// margin, as soon as the request is written. Either way it is part of the
// time a call is out.
func TestLocalDelaysWidenTheSharedMarginAtOnce(t *testing.T) {
	var j jitter
	for range rttSamples {
		j.answered(300 * time.Millisecond)
	}
	if m := j.margin(true); m != marginFloor {
		t.Fatalf("steady round trips: margin %s, want the floor %s", m, marginFloor)
	}
	j.sent(time.Millisecond)
	j.sent(41 * time.Millisecond)
	if m := j.margin(true); m != 40*time.Millisecond {
		t.Errorf("shared, local delays of 1 ms and 41 ms: margin %s, want 40ms", m)
	}
	if m := j.margin(false); m != marginFloor {
		t.Errorf("alone, local delays of 1 ms and 41 ms: margin %s, want the floor %s", m, marginFloor)
	}
	if rt := j.roundTrip(); rt != 341*time.Millisecond {
		t.Errorf("a call is out %s at the long end, want 341ms", rt)
	}
}
