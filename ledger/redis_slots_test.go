package ledger

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/internal/redistest"
)

// TestSharedSlotsOutliveRedis: the shared pace must not stop the bot when
// Redis goes away: Take says so at once (the client then paces alone), and
// goes back to the shared schedule when Redis is back.
func TestSharedSlotsOutliveRedis(t *testing.T) {
	r := redistest.Own(t)
	s, err := OpenRedis(context.Background(), r.URL, RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	slots := s.Slots("app", 1000, time.Second, 500)
	ctx := context.Background()
	if _, err := slots.Take(ctx, "/send", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	for i := range 3 {
		if _, err := slots.Take(ctx, "/send", 10*time.Millisecond); !errors.Is(err, ErrSlotsUnavailable) {
			t.Fatalf("take %d with Redis down: %v, want ErrSlotsUnavailable", i, err)
		}
	}
	if !slots.down() {
		t.Error("the outage was not noticed")
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	slots.mu.Lock()
	slots.downUntil = time.Time{} // as if a second had passed
	slots.mu.Unlock()
	if _, err := slots.Take(ctx, "/send", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if slots.down() {
		t.Error("Redis is back but the slots stayed local")
	}
	n, err := s.c.Exists(ctx, s.k("pace", "app")+":/send").Result()
	if err != nil || n != 1 {
		t.Errorf("no shared start after the restart: %d %v", n, err)
	}
}

// TestSharedSlotsKeepTheWindowAcrossInstances: two instances sharing one
// app's pace, one on a calm network (a margin of 10 ms) and one on a
// jittery one (200 ms), book starts such that no two of DingTalk's windows
// could hold more than the limit however each call's way there varies
// within its instance's margin: each booked start s with half margin h may
// arrive anywhere in [s-h, s+h], and no second can meet 21 of those spans.
func TestSharedSlotsKeepTheWindowAcrossInstances(t *testing.T) {
	s := openTestRedis(t)
	const calls = 20
	a := s.Slots("app", calls, time.Second, calls/2)
	b := s.Slots("app", calls, time.Second, calls/2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := s.k("pace", "app") + ":/send"
	var mu sync.Mutex
	booked := map[string]float64{} // member -> start µs
	note := func() {
		rows, err := s.c.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		for _, z := range rows {
			booked[z.Member.(string)] = z.Score
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range 6 {
		slots, margin := a, 10*time.Millisecond
		if i%2 == 1 {
			slots, margin = b, 200*time.Millisecond
		}
		wg.Go(func() {
			for range 10 {
				if _, err := slots.Take(ctx, "/send", margin); err != nil {
					t.Error(err)
					return
				}
				note()
			}
		})
	}
	wg.Wait()
	if len(booked) != 60 {
		t.Fatalf("%d starts booked, want 60", len(booked))
	}
	type span struct{ from, to float64 }
	var spans []span
	for m, at := range booked {
		h, err := strconv.ParseFloat(m[:strings.IndexByte(m, ':')], 64)
		if err != nil {
			t.Fatal(err)
		}
		spans = append(spans, span{at - h, at + h})
	}
	const width = 1e6 // µs
	most := 0
	for _, w := range spans { // the busiest window starts where some span ends
		n := 0
		for _, x := range spans {
			if x.to >= w.to && x.from < w.to+width {
				n++
			}
		}
		most = max(most, n)
	}
	if most > calls {
		t.Errorf("a window of DingTalk's could hold %d of the calls, limit %d", most, calls)
	}
}
