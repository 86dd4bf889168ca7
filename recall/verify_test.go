package recall_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestFreshKeyIsAskedAgain: a recall's answer is lost (it applied, the
// answer came too late), the next call's answer is a reason recallbot
// cannot read, so it asks DingTalk's query API; the key was sent moments
// ago, and DingTalk answers 400 processQueryKey.expireTime ("not generated
// yet, or expired"). The engine waits and asks again, and reports what
// DingTalk then says (recalled), instead of "unconfirmed".
func TestFreshKeyIsAskedAgain(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{QueryNotReadyFor: 600 * time.Millisecond,
		RecallReasons: dingtalktest.RecallReasons{AlreadyRecalled: "MESSAGE_WITHDRAWN"}})
	paths := map[ledger.Family]string{ledger.Private: dingtalktest.PathPrivateRecall, ledger.Group: dingtalktest.PathGroupRecall, ledger.OTO: dingtalktest.PathOTORecall}
	for _, chat := range []ledger.Chat{private, group, {Family: ledger.OTO, UserID: "alice"}} {
		es := f.send(t, chat, 1)
		o := f.srv.Options()
		short := dingtalk.New(dingtalk.Config{BaseURL: f.srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode, Timeout: 200 * time.Millisecond, QPS: 1000}, nil)
		eng := recall.New(f.led, short, zap.NewNop(), recall.Config{BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
		f.srv.DelayAnswer(paths[chat.Family], 500*time.Millisecond, 1)
		r, err := eng.Recall(tctx(t), recall.Request{Selection: recall.Selection{Keys: []string{es[0].ProcessQueryKey}}})
		if err != nil || r.Count(recall.Recalled) != 1 {
			t.Errorf("%s: %s %+v, %v; want recalled", chat.Family, r.Summary("en"), r.Items, err)
			continue
		}
		e, _ := f.led.Get(tctx(t), es[0].ID)
		if e.State != ledger.Recalled || strings.HasPrefix(e.Reason, recall.ReasonUnconfirmed) {
			t.Errorf("%s: the ledger says %s %q", chat.Family, e.State, e.Reason)
		}
		queries := 0
		for _, c := range f.srv.Calls() {
			if strings.Contains(c.Path, "query") || strings.Contains(c.Path, "readStatus") {
				queries++
			}
		}
		t.Logf("%s: %s after %d query calls", chat.Family, r.Summary("en"), queries)
		f.srv.ResetCalls()
	}
}
