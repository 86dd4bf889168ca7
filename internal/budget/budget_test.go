package budget

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)

func TestBucketSpendsItsBurstThenRefills(t *testing.T) {
	b := NewBucket(Rate{Burst: 3, Every: 10 * time.Second})
	for i := range 3 {
		if ok, _ := b.Take(t0); !ok {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	if ok, wait := b.Take(t0); ok || wait != 10*time.Second {
		t.Fatalf("past the burst: Take = %v, %v; want false, 10s", ok, wait)
	}
	if ok, wait := b.Take(t0.Add(4 * time.Second)); ok || wait != 6*time.Second {
		t.Fatalf("4s later: Take = %v, %v; want false, 6s", ok, wait)
	}
	if ok, _ := b.Take(t0.Add(10 * time.Second)); !ok {
		t.Fatal("a token earned in 10s was refused")
	}
	b.Refund(t0.Add(10 * time.Second))
	if ok, _ := b.Take(t0.Add(10 * time.Second)); !ok {
		t.Fatal("a refunded token was refused")
	}
	// A long quiet spell fills it to its burst, no further.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if ok, _ := b.Take(later); !ok {
			t.Fatalf("after an hour, take %d refused", i+1)
		}
	}
	if ok, _ := b.Take(later); ok {
		t.Fatal("the bucket held more than its burst")
	}
}

func TestKeyedBucketsAreIndependent(t *testing.T) {
	k := NewKeyed(Rate{Burst: 2, Every: time.Minute}, 10)
	for range 2 {
		k.Take("a", t0)
	}
	if ok, _ := k.Take("a", t0); ok {
		t.Error("a spent more than its burst")
	}
	if ok, _ := k.Take("b", t0); !ok {
		t.Error("b paid for a")
	}
	k.Refund("a", t0)
	if ok, _ := k.Take("a", t0); !ok {
		t.Error("a's refund was lost")
	}
}

// TestKeyedForgetsTheOldestKeyOnly: past its bound it forgets the key
// least recently used, one at a time; every other key keeps its state (a
// map that started again once full reset them all).
func TestKeyedForgetsTheOldestKeyOnly(t *testing.T) {
	const max = 4
	k := NewKeyed(Rate{Burst: 1, Every: time.Hour}, max)
	for i := range max {
		k.Take(fmt.Sprint("k", i), t0) // each spends its only token
	}
	k.Take("k0", t0) // k0 is now the most recently used
	k.Take("new", t0)
	if k.Len() != max {
		t.Fatalf("%d keys tracked, want %d", k.Len(), max)
	}
	for _, key := range []string{"k0", "k2", "k3"} {
		if ok, _ := k.Take(key, t0); ok {
			t.Errorf("%s got a full bucket back when another key came", key)
		}
	}
	if ok, _ := k.Take("k1", t0); !ok {
		t.Error("k1, the least recently used, was not the one forgotten")
	}
}
