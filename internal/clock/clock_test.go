package clock

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	c := Stopped(at)
	if got := c.Now(); !got.Equal(at) {
		t.Errorf("Stopped(%v).Now() = %v", at, got)
	}
	c.Advance(time.Hour)
	if got, want := c.Now(), at.Add(time.Hour); !got.Equal(want) {
		t.Errorf("after Advance(1h): Now() = %v, want %v", got, want)
	}
	c.Stop(at)
	if got := c.Now(); !got.Equal(at) {
		t.Errorf("after Stop(%v): Now() = %v", at, got)
	}

	before := time.Now()
	o := Offset(24 * time.Hour)
	if got := o.Now(); got.Before(before.Add(24 * time.Hour)) {
		t.Errorf("Offset(24h).Now() = %v, before %v", got, before.Add(24*time.Hour))
	}
	var zero Clock
	if got := zero.Now(); got.Before(before) {
		t.Errorf("the zero Clock reads %v, before real time %v", got, before)
	}
}
