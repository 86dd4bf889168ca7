package recall

import (
	"context"
	"errors"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// codeQueryNotReady is the query APIs' answer for a key whose query data
// is "not generated yet, or expired" (docs/dingtalk.md §5): for a message
// sent moments ago, DingTalk has not processed it yet.
const codeQueryNotReady = "processQueryKey.expireTime"

// verifyMaxWait caps the pause between two questions about one message.
const verifyMaxWait = 2 * time.Second

// askStatus asks DingTalk's query API about en's message. A message
// younger than half the recall window that DingTalk answers with
// codeQueryNotReady is asked about again, after VerifyWait, then twice as
// long each time (at most verifyMaxWait apart), until ctx (the
// VerifyTimeout) ends: recorded "unconfirmed" at once, a recall that
// worked would have to be run again by hand.
func (e *Engine) askStatus(ctx context.Context, g group, en ledger.Entry) (dingtalk.MessageStatus, error) {
	pause := e.cfg.VerifyWait
	for {
		var st dingtalk.MessageStatus
		var err error
		switch g.family {
		case ledger.OTO:
			st, err = e.status.QueryOTO(ctx, en.ProcessQueryKey)
		case ledger.Private:
			st, err = e.status.QueryPrivate(ctx, g.conv, en.ProcessQueryKey)
		default:
			st, err = e.status.QueryGroup(ctx, g.conv, en.ProcessQueryKey)
		}
		var ae *dingtalk.APIError
		if !errors.As(err, &ae) || ae.Code != codeQueryNotReady || e.cfg.Now().Sub(en.SentAt) > e.cfg.Window/2 {
			return st, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, err
		case <-t.C:
		}
		pause = min(2*pause, verifyMaxWait)
	}
}
