package recall

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// Reads is who had read a message when DingTalk was asked: the operator's
// question after a wrong broadcast ("who saw it before it was taken
// back?"). Each answer costs one query call per message, against that
// query API's own 20 calls/s, so it is asked for, never fetched by
// default (Request and the callers' "read status" options).
type Reads struct {
	// SendStatus is DingTalk's: SUCCESS (shown), PROCESSING, RECALLED.
	SendStatus string `json:"send_status,omitempty"`
	// Read is how many recipients had read it.
	Read int `json:"read"`
	// Recipients is how many it was sent to, where DingTalk says (the
	// one-to-one API lists every recipient); 0 when unknown (a group's or
	// a person-to-person chat's query lists only the readers).
	Recipients int `json:"recipients,omitempty"`
	// Readers are the staffIds of those who had read it.
	Readers []string `json:"readers,omitempty"`
	// Err is why DingTalk could not say (too early, past its window,
	// unreachable); Read and Recipients are then unknown.
	Err string `json:"error,omitempty"`
}

// Words is the count in a reader's words: "7 of 20 had read it", "7 had
// read it", or why it is unknown.
func (r Reads) Words(locale string) string {
	switch {
	case r.Err != "" && locale == "en":
		return "read status unknown (" + r.Err + ")"
	case r.Err != "":
		return "已读情况未知（" + r.Err + "）"
	case r.Recipients > 0 && locale == "en":
		return fmt.Sprintf("%d of %d had read it", r.Read, r.Recipients)
	case r.Recipients > 0:
		return fmt.Sprintf("%d/%d 人已读", r.Read, r.Recipients)
	case locale == "en":
		return fmt.Sprintf("%d had read it", r.Read)
	}
	return fmt.Sprintf("%d 人已读", r.Read)
}

// ReadCost is what asking who has read n messages takes: n query calls,
// and at least that many seconds over DingTalk's pace of qps calls a
// second (per query API; the three families' queries are paced apart,
// so this is the worst case).
func ReadCost(n int, qps float64) (calls int, at time.Duration) {
	if qps <= 0 {
		qps = 20
	}
	return n, time.Duration(float64(n) / qps * float64(time.Second))
}

// ErrNoReadStatus is an engine whose API cannot query DingTalk.
var ErrNoReadStatus = errors.New("this bot's DingTalk client cannot ask for read status")

// ReadStatus asks DingTalk who has read one message.
func (e *Engine) ReadStatus(ctx context.Context, en ledger.Entry) (Reads, error) {
	if e.status == nil {
		return Reads{}, ErrNoReadStatus
	}
	if en.ProcessQueryKey == "" {
		return Reads{Err: "no key: the send's outcome is unknown"}, nil
	}
	var st dingtalk.MessageStatus
	var err error
	switch en.Chat.Family {
	case ledger.OTO:
		st, err = e.status.QueryOTO(ctx, en.ProcessQueryKey)
	case ledger.Private:
		st, err = e.status.QueryPrivate(ctx, en.Chat.ConversationID, en.ProcessQueryKey)
	default:
		st, err = e.status.QueryGroup(ctx, en.Chat.ConversationID, en.ProcessQueryKey)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Reads{}, ctx.Err()
		}
		return Reads{Err: dingtalk.Describe(err, "en")}, nil
	}
	r := Reads{SendStatus: st.SendStatus, Read: len(st.ReadUserIDs), Readers: st.ReadUserIDs, Recipients: len(st.Recipients)}
	return r, nil
}

// AddReads asks who has read each message of the receipt that has a key
// and is not final (what a recall would or did act on), a few at a time,
// and puts the answer on its item. Ask before the recall: a recalled
// message's readers are still listed, but "before it was taken back" is
// the question.
func (e *Engine) AddReads(ctx context.Context, r *Receipt) error {
	if e.status == nil {
		return ErrNoReadStatus
	}
	gate := newGate(e.status, 0, queryAPIs...) // their pace is the client's, per query API
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range r.Items {
		it := &r.Items[i]
		if it.Entry.ID == 0 || it.Key == "" || it.Outcome == NeverSent || it.Outcome == Unknown {
			continue
		}
		_ = gate.Acquire(context.Background()) // never fails: every item is asked, or told why not
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer gate.Release()
			rd, err := e.ReadStatus(ctx, it.Entry)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			it.Reads = &rd
		}()
	}
	wg.Wait()
	return firstErr
}

// ReadTotals sums the read counts on a receipt's items: messages asked
// about, readers, and recipients where known.
func (r *Receipt) ReadTotals() (asked, read int) {
	for _, it := range r.Items {
		if it.Reads != nil && it.Reads.Err == "" {
			asked++
			read += it.Reads.Read
		}
	}
	return asked, read
}
