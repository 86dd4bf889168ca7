package console

import (
	"crypto/rand"
	"slices"
	"sync"
	"time"
)

// A preview that can be carried out is a plan, held for the operator's
// session: its keys, and the code to type when chat's rule wants one.

// planTTL is how long a preview that needs no confirmation can be carried
// out.
const planTTL = 15 * time.Minute

// maxPlans bounds the plans of one session; the oldest goes first.
const maxPlans = 20

// maxPreviewRows bounds the messages a preview page lists (a batch of
// 100,000 people is 5,000 keys); its counts cover them all.
const maxPreviewRows = 500

// maxTries is how many wrong confirmation codes drop a plan.
const maxTries = 5

// plan is a preview that can be carried out.
type plan struct {
	id, session string
	keys        []string
	batch       string // a batch previewed whole: recalled as the batch
	reads       bool   // ask who has read them again, just before the recall
	confirm     bool
	code        string
	expires     time.Time
	tries       int
	view        previewView
}

type plans struct {
	mu sync.Mutex
	m  map[string]*plan
}

func (ps *plans) put(p *plan, now time.Time) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*plan{}
	}
	var mine []*plan
	for id, q := range ps.m {
		switch {
		case now.After(q.expires):
			delete(ps.m, id)
		case q.session == p.session:
			mine = append(mine, q)
		}
	}
	if len(mine) >= maxPlans {
		slices.SortFunc(mine, func(a, b *plan) int { return a.expires.Compare(b.expires) })
		delete(ps.m, mine[0].id)
	}
	ps.m[p.id] = p
}

// use takes the session's live plan id if check passes, in one step (two
// submissions of one preview recall once). A failed check counts against
// the plan; maxTries of them drop it.
func (ps *plans) use(id, session string, now time.Time, check func(*plan) bool) (p *plan, ok bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p = ps.m[id]
	if p == nil || p.session != session || now.After(p.expires) {
		return nil, false
	}
	if !check(p) {
		if p.tries++; p.tries >= maxTries {
			delete(ps.m, id)
		}
		return p, false
	}
	delete(ps.m, id)
	return p, true
}

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I: as chat's codes

func newCode() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b[:])
}
