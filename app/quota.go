package app

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// A bot that paces its calls on DingTalk's window draws a rate-limit
// refusal only when the way there varies more than it learnt (once, then
// it widens its margin) or when something else spends the same app's
// quota: another program with the app's credentials, or a second recallbot
// that does not share this one's Redis ledger (each then paces as if
// alone, and together they send twice the limit: an outside test of two
// bots on their own bbolt files drew refusals on 41 % of their calls, and
// neither said why). quotaWatch says so in the log, at most once every
// quotaWarnEvery, when quotaRefusals refusals come within a minute.
const (
	quotaRefusals  = 3
	quotaWarnEvery = 10 * time.Minute
)

// quotaWatch counts the rate-limit refusals of the last minute.
type quotaWatch struct {
	log      *zap.Logger
	clientID string
	now      func() time.Time

	mu     sync.Mutex
	recent []time.Time
	warned time.Time
}

// refused notes one refusal of a call to path, and warns when they come
// too often to be the pace's own.
func (q *quotaWatch) refused(path string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	keep := q.recent[:0]
	for _, t := range q.recent {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	q.recent = append(keep, now)
	if len(q.recent) < quotaRefusals || !q.warned.IsZero() && now.Sub(q.warned) < quotaWarnEvery {
		return
	}
	q.warned = now
	q.log.Warn("DingTalk keeps refusing calls for its rate limit although this bot paces them: something else is spending this app's quota, "+
		"such as another program with the same clientId or another recallbot that does not share this one's Redis ledger "+
		"(run every instance of one app on one Redis ledger, which paces them together)",
		zap.String("client_id", q.clientID), zap.String("api", path), zap.Int("refusals_last_minute", len(q.recent)))
}
