package app_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestBroadcastRefusesFilteredPeople: people oToMessages/batchSend names
// in filteredStaffIdList got nothing. The broadcast counts them refused
// ("filtered"), like invalid ones, not reached (they used to be), and the
// packed key's recipients leave them out.
func TestBroadcastRefusesFilteredPeople(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.srv.FilterUser("u2")
	batch, st := h.broadcast(`{"user_ids":["u1","u2","u3"],"text":"all hands at 15:00"}`)
	refused := fmt.Sprint(st["refused"])
	if st["sent"] != 2.0 || st["failed"] != 1.0 || refused != "[map[reason:filtered target:u2]]" {
		t.Errorf("broadcast %s: sent %v, failed %v, refused %s; want 2, 1 and u2 filtered", batch, st["sent"], st["failed"], refused)
	}
	r, body := h.do("GET", "/v1/conversations/u2/messages?family=oto", testToken, "")
	if r.StatusCode != 200 || fmt.Sprint(body["messages"]) != "[]" {
		t.Errorf("u2's chat lists %d %v; the filtered person got nothing", r.StatusCode, body)
	}
	es, _ := h.app.Ledger.Batch(h.ctx(), batch)
	if len(es) != 1 || fmt.Sprint(es[0].Recipients) != "[u1 u3]" {
		t.Errorf("the batch's entries: %+v; want one key for u1 and u3", es)
	}
	if _, ok := h.srv.UserConversation("u2"); ok {
		t.Error("the emulator delivered to u2")
	}
}

// TestGroupCoolAppCodeIsSent: with dingtalk.group_cool_app_code set, a
// send into a group the bot was installed in through that group cool app
// goes through: groupMessages/send carries coolAppCode (it did not).
func TestGroupCoolAppCodeIsSent(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.DingTalk.GroupCoolAppCode = "COOLAPP-G-9" })
	const gid = "cidCoolAppGroup"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "")
	if err := h.srv.RequireGroupCoolApp(gid, "COOLAPP-G-9"); err != nil {
		t.Fatal(err)
	}
	r, body := h.do("POST", "/v1/messages", testToken, `{"family":"group","conversation_id":"`+gid+`","text":"through the cool app"}`)
	if r.StatusCode != 200 {
		t.Errorf("send into a cool app group: %d %v", r.StatusCode, body)
	}
	if c, _ := h.srv.Conversation(gid); len(c.Messages) != 1 {
		t.Errorf("the group shows %d messages", len(c.Messages))
	}
}

// TestQPSRefusedSendsAreRetried: DingTalk's 403 QpsLimit refusal of a
// send is definite (nothing was sent), so the send is made again after the
// one-second window, paced. 600 parallel sends through one bot, then 300
// through two bots sharing one app's quota: every send succeeds once.
func TestQPSRefusedSendsAreRetried(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("sends 900 messages at DingTalk's pace (~12 s)")
	}
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	qps := func(c *config.Config) { c.DingTalk.QPS = 100 }
	a := startOn(t, srv, qps)
	run := func(bots []*harness, n int) (failed int, refusals int) {
		srv.ResetCalls()
		var wg sync.WaitGroup
		var bad atomic.Int64
		next := atomic.Int64{}
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					h := bots[int(i)%len(bots)]
					r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"qps %d-%d"}`, privCID, w, i))
					if r.StatusCode != 200 {
						bad.Add(1)
						t.Logf("send %d: %d %v", i, r.StatusCode, body)
					}
				}
			}()
		}
		wg.Wait()
		for _, c := range srv.CallsTo(dingtalktest.PathPrivateSend) {
			if c.Status == 403 {
				refusals++
			}
		}
		return int(bad.Load()), refusals
	}
	failed, refusals := run([]*harness{a}, 600)
	t.Logf("one bot: 600 sends, %d failed, %d refused by DingTalk's limit and retried", failed, refusals)
	if failed > 0 {
		t.Errorf("one bot: %d of 600 sends failed", failed)
	}
	b := startOn(t, srv, qps)
	failed, refusals = run([]*harness{a, b}, 300)
	t.Logf("two bots: 300 sends, %d failed, %d refused and retried", failed, refusals)
	if failed > 0 {
		t.Errorf("two bots: %d of 300 sends failed", failed)
	}
	if n := len(srv.CallsTo(dingtalktest.PathPrivateSend)) - refusals; n != 300 {
		t.Errorf("%d sends reached DingTalk, want exactly 300", n)
	}
}
