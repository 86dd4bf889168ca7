// Package budget holds token buckets in memory: one for a whole service
// (Bucket), or one per key, such as a sender or an address, for a bounded
// number of keys (Keyed). A bucket holds up to Burst tokens and gets one
// back every Every; a caller takes one before the work it pays for and
// may give it back when the work turned out free (a login that succeeded).
//
// The clock is the caller's: every method takes now, so tests need no
// sleeps and a fake clock moves the buckets as it moves.
package budget

import (
	"container/list"
	"sync"
	"time"
)

// Rate is a bucket's size and refill: Burst tokens at once, then one more
// every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// state is one bucket's tokens as of at.
type state struct {
	tokens float64
	at     time.Time
}

// fill adds the tokens earned since s.at.
func (s *state) fill(r Rate, now time.Time) {
	if now.After(s.at) {
		s.tokens = min(float64(r.Burst), s.tokens+float64(now.Sub(s.at))/float64(r.Every))
		s.at = now
	}
}

// take spends a token if there is one; else it says how long until there
// is.
func (s *state) take(r Rate, now time.Time) (bool, time.Duration) {
	s.fill(r, now)
	if s.tokens >= 1 {
		s.tokens--
		return true, 0
	}
	return false, time.Duration((1 - s.tokens) * float64(r.Every))
}

// refund gives a token back, up to the bucket's size.
func (s *state) refund(r Rate, now time.Time) {
	s.fill(r, now)
	s.tokens = min(float64(r.Burst), s.tokens+1)
}

// Bucket is one token bucket, safe for concurrent use. It starts full.
type Bucket struct {
	rate Rate
	mu   sync.Mutex
	s    state
	used bool // s holds a time; before the first call the bucket is full
}

// NewBucket returns a full bucket of rate r.
func NewBucket(r Rate) *Bucket { return &Bucket{rate: r} }

func (b *Bucket) start(now time.Time) {
	if !b.used {
		b.s, b.used = state{tokens: float64(b.rate.Burst), at: now}, true
	}
}

// Take spends one token at now and reports whether there was one; when
// there was not, it says how long until there is.
func (b *Bucket) Take(now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.start(now)
	return b.s.take(b.rate, now)
}

// Refund gives back a token taken for work that turned out free.
func (b *Bucket) Refund(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.start(now)
	b.s.refund(b.rate, now)
}

// Keyed is a token bucket per key, each of the same Rate, safe for
// concurrent use. A key's bucket starts full the first time it is seen.
// It tracks at most max keys: past that it forgets the key least recently
// used, one at a time, and never the whole map at once, which would hand
// every key a full bucket again (the reset a spread attack waits for).
type Keyed struct {
	rate Rate
	max  int

	mu   sync.Mutex
	keys map[string]*list.Element // of *keyed
	lru  *list.List               // front: most recently used
}

type keyed struct {
	key string
	s   state
}

// NewKeyed returns buckets of rate r for at most max keys.
func NewKeyed(r Rate, max int) *Keyed {
	return &Keyed{rate: r, max: max, keys: map[string]*list.Element{}, lru: list.New()}
}

// bucket returns key's bucket, made full if new, as the most recently
// used; k.mu is held.
func (k *Keyed) bucket(key string, now time.Time) *keyed {
	if el, ok := k.keys[key]; ok {
		k.lru.MoveToFront(el)
		return el.Value.(*keyed)
	}
	for k.lru.Len() >= max(k.max, 1) {
		old := k.lru.Back()
		k.lru.Remove(old)
		delete(k.keys, old.Value.(*keyed).key)
	}
	b := &keyed{key: key, s: state{tokens: float64(k.rate.Burst), at: now}}
	k.keys[key] = k.lru.PushFront(b)
	return b
}

// Take spends one of key's tokens at now and reports whether there was
// one; when there was not, it says how long until there is.
func (k *Keyed) Take(key string, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.bucket(key, now).s.take(k.rate, now)
}

// Refund gives key back a token taken for work that turned out free.
func (k *Keyed) Refund(key string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.bucket(key, now).s.refund(k.rate, now)
}

// Len is the number of keys tracked.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lru.Len()
}
