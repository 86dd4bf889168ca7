package refusals

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 15, 4, 0, 0, time.UTC)

// TestFirstOfEachSourceThenCounted: per minute the first refusal of each
// of Sources sources is written in full and everything else is counted
// into one summary, handed over when the minute is over.
func TestFirstOfEachSourceThenCounted(t *testing.T) {
	c := Counter{Sources: 2}
	full := 0
	for i := range 30 {
		f, s := c.Note(t0.Add(time.Duration(i)*time.Second), fmt.Sprint("src", i%3))
		if s != nil {
			t.Fatalf("a summary inside the minute: %+v", s)
		}
		if f {
			full++
		}
	}
	if full != 2 {
		t.Errorf("%d written in full, want 2 (one per source, two sources)", full)
	}
	if s := c.Flush(t0.Add(59 * time.Second)); s != nil {
		t.Errorf("flushed before the minute ended: %+v", s)
	}
	s := c.Flush(t0.Add(time.Minute))
	if s == nil || s.Counted != 28 || s.BySource != "src0: 9, src1: 9" {
		t.Fatalf("summary = %+v, want 28 counted: src0: 9, src1: 9 (and 10 from the other sources)", s)
	}
	r := s.Record("http", "http.unauthorized", "access")
	if r.About == nil || r.About.Count != 28 || !r.About.Since.Equal(t0) || !r.At.Equal(t0.Add(time.Minute)) || r.Note != s.BySource {
		t.Errorf("record = %+v", r)
	}
	if s := c.Flush(t0.Add(2 * time.Minute)); s != nil {
		t.Errorf("a second summary for the same minute: %+v", s)
	}
}

// TestNextMinuteHandsOverTheLast: a refusal in a new minute returns the
// last minute's summary and is itself written in full again.
func TestNextMinuteHandsOverTheLast(t *testing.T) {
	var c Counter
	for range 5 {
		c.Note(t0, "a")
	}
	full, s := c.Note(t0.Add(time.Minute), "a")
	if !full || s == nil || s.Counted != 4 {
		t.Fatalf("Note in the next minute = %v, %+v; want full and 4 counted", full, s)
	}
	if _, s := c.Note(t0.Add(time.Minute+time.Second), "a"); s != nil {
		t.Errorf("summary again: %+v", s)
	}
}
