package app_test

// Regression tests for the defects a fault campaign found (issue 10): each
// drives the real bot through the emulator and would fail without its fix.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
	"github.com/recallbot/recallbot/recall"
)

// TestShutdownRecordsKeysOfSendsInFlight: SIGTERM while a command's recall
// hangs past the grace and HTTP sends are in flight. Both intakes stop at
// once (new requests are refused), and the ledger is closed only after
// every send that got its key has recorded it.
func TestShutdownRecordsKeysOfSendsInFlight(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	h.notify(1)
	h.srv.Delay(dingtalktest.PathPrivateRecall, 5*time.Second, 1)
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() == 1 }); err != nil {
		t.Fatalf("the recall never reached DingTalk: %v\n%s", err, h.logs.String())
	}
	h.srv.Delay(dingtalktest.PathPrivateSend, 300*time.Millisecond, 1000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var accepted, refused atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				req, _ := http.NewRequest("POST", "http://"+h.app.HTTPAddr()+"/v1/messages",
					strings.NewReader(fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"in flight %d-%d"}`, privCID, w, i)))
				req.Header.Set("Authorization", "Bearer "+testToken)
				r, err := http.DefaultClient.Do(req)
				if err != nil { // refused: the intake is closed
					refused.Add(1)
					return
				}
				_ = r.Body.Close()
				accepted.Add(1)
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	// Sends are now in flight; shut down with a 1 s grace.
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() >= 3 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = h.app.Close(ctx)
	close(stop)
	wg.Wait()
	led, err := ledger.Open(h.app.Config.Ledger.Path, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	issued := 0
	for _, m := range h.srv.BotMessages() {
		if !strings.HasPrefix(m.Text, "in flight") {
			continue
		}
		issued++
		if _, err := led.ByKey(context.Background(), m.ProcessQueryKey); err != nil {
			t.Errorf("DingTalk issued a key for %q during shutdown; the ledger lost it: %v", m.Text, err)
		}
	}
	t.Logf("%d requests answered, %d refused after shutdown began; %d keys issued, all in the ledger", accepted.Load(), refused.Load(), issued)
	if refused.Load() == 0 {
		t.Error("the HTTP API kept accepting requests during shutdown")
	}
}

// TestQPSRefusedSendsAreRetried: DingTalk's 403 QpsLimit refusal of a
// send is definite (nothing was sent), so the send is made again after the
// one-second window, paced. 600 parallel sends through one bot, then 300
// through two bots sharing one app's quota: every send succeeds once.
func TestQPSRefusedSendsAreRetried(t *testing.T) {
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

// TestSelfDestructThatFailsForGoodIsReportedOnce: a self-destruct DingTalk
// refuses for good is reported to the admins once and leaves the due list,
// instead of being tried, and reported, every second until the window
// closes; an expiry as long as the recall window is refused up front. (The
// backoff of failures that may pass is TestSelfDestructBacksOff in
// autorecall.)
func TestSelfDestructThatFailsForGoodIsReportedOnce(t *testing.T) {
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.AutoRecall.SelfDestructEvery = time.Hour })
	r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"refused later","expires_in":"30s"}`, privCID))
	if r.StatusCode != 200 {
		t.Fatalf("send: %d %v", r.StatusCode, body)
	}
	key := body["process_query_key"].(string)
	h.srv.FailKey(key, "NOT_ALLOWED", 100) // refused for good (the query says it is still shown)
	adminReports := func() int {
		c, _ := h.srv.UserConversation(admin)
		n := 0
		for _, m := range c.Messages {
			if strings.Contains(m.Text, "Self-destruct did not complete") {
				n++
			}
		}
		return n
	}
	h.advance(31 * time.Second)
	for range 4 {
		h.app.AutoRecall.RecallDue(h.ctx())
	}
	if n := len(h.srv.CallsTo(dingtalktest.PathPrivateRecall)); n != 1 {
		t.Errorf("a refused self-destruct was tried %d times, want once", n)
	}
	if n := adminReports(); n != 1 {
		t.Errorf("admins told %d times, want once", n)
	}
	if due, _ := h.app.Ledger.Due(h.ctx(), h.clock.Now().Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("still due: %+v", due)
	}
	if got, _ := h.app.Ledger.ByKey(h.ctx(), key); got.State != ledger.RecallFailed || got.Reason != "NOT_ALLOWED" {
		t.Errorf("entry: %s %s", got.State, got.Reason)
	}
	// 24 h is the whole window: refused like anything longer.
	for _, d := range []string{"24h", "23h59m30s", "25h"} {
		r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"x","expires_in":%q}`, privCID, d))
		if r.StatusCode != 400 {
			t.Errorf("expires_in %s: %d %v", d, r.StatusCode, body)
		}
	}
}

// TestCrossChatIsDecidedByTheMessages: /recall KEY typed in chat A for a
// message of group B needs /confirm like any other cross-chat recall.
func TestCrossChatIsDecidedByTheMessages(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	const gid = "cidGroupB"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "group B")
	ge, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Group, ConversationID: gid}, dingtalk.Text("group B notice"), recall.SendOptions{Origin: ledger.OriginAuto})
	if err != nil {
		t.Fatal(err)
	}
	mine := h.notify(1)[0]
	reply := h.say(admin, "/recall "+ge.ProcessQueryKey+" "+mine.ProcessQueryKey)
	code := confirmCode(t, reply)
	if m, _ := h.srv.Message(ge.ProcessQueryKey); m.Recalled {
		t.Fatal("group B's message was recalled without /confirm")
	}
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "2 requested: 2 recalled") {
		t.Errorf("confirm: %q", reply)
	}
	// A key of a message in this very chat needs no confirmation.
	mine = h.notify(1)[0]
	if reply := h.say(admin, "/recall "+mine.ProcessQueryKey); !strings.Contains(reply, "1 requested: 1 recalled") {
		t.Errorf("same chat: %q", reply)
	}
}

// TestUnauthenticatedFloodIsBounded: a flood of requests without a token,
// with long paths, writes a bounded amount to the access trail, none to
// the recall trail, and never pushes real records out of /audit; oversized
// URLs and headers are refused before anything is written.
func TestUnauthenticatedFloodIsBounded(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	h.notify(2)
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Fatal(reply)
	}
	size := func() int64 {
		fi, _ := os.Stat(h.app.Config.Ledger.Path)
		return fi.Size()
	}
	before := size()
	path := "/v1/messages/" + strings.Repeat("x", 1000)
	c := &http.Client{}
	for i := range 1500 {
		req, _ := http.NewRequest("GET", "http://"+h.app.HTTPAddr()+path+fmt.Sprint(i), nil)
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		if r.StatusCode != 401 {
			t.Fatalf("status %d", r.StatusCode)
		}
	}
	h.advance(2 * time.Minute) // the minute is over: its summary is written
	h.app.API.FlushDenied(h.ctx())
	access, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 100, Trail: ledger.TrailAccess})
	// Per minute: the first refusal written, the rest counted in one
	// summary. (The flood may cross a minute boundary on a slow machine:
	// then two minutes, four records.)
	counted := 0
	for _, r := range access {
		var n int
		if _, err := fmt.Sscanf(r.Scope, "%d more refused", &n); err == nil {
			counted += n
		} else {
			counted++
			if len(r.Scope) > 200 {
				t.Errorf("a record keeps %d bytes of the path", len(r.Scope))
			}
		}
	}
	if len(access) != 2 && len(access) != 4 || counted != 1500 {
		t.Errorf("access trail: %d records counting %d refusals: %+v", len(access), counted, access)
	}
	if grew := size() - before; grew > 256<<10 {
		t.Errorf("the ledger grew by %d bytes", grew)
	}
	if reply := h.say(admin, "/audit 1"); !strings.Contains(reply, admin+" recall") {
		t.Errorf("/audit lost the real record: %q", reply)
	}
	req, _ := http.NewRequest("GET", "http://"+h.app.HTTPAddr()+"/v1/audit?"+strings.Repeat("a", 3000), nil)
	if r, err := c.Do(req); err != nil || r.StatusCode != http.StatusRequestURITooLong {
		t.Errorf("long URL: %v %v", r, err)
	}
	req, _ = http.NewRequest("GET", "http://"+h.app.HTTPAddr()+"/v1/audit", nil)
	req.Header.Set("X-Junk", strings.Repeat("j", 32<<10))
	if r, err := c.Do(req); err != nil || r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("large header: %v %v", r, err)
	}
}

// TestRepliesEscapeAndRedact: what a user types comes back in a reply as
// text, never as a live link; a secret typed into a command is neither
// repeated into the chat nor written to the audit.
func TestRepliesEscapeAndRedact(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	h.notify(1) // the bot has sent into the chat: it answers there
	reply := h.say(admin, "/[click](http://evil.example/login)")
	if strings.Contains(reply, "](") || strings.Contains(reply, "http://") || !strings.Contains(reply, "click") {
		t.Errorf("link echoed live: %q", reply)
	}
	secret := h.app.Config.DingTalk.ClientSecret
	reply = h.say(admin, "/recall "+secret)
	if strings.Contains(reply, secret) {
		t.Errorf("the client secret came back in the reply: %q", reply)
	}
	reply = h.say(stranger, "/recall "+testToken)
	if !strings.Contains(reply, "only admins") {
		t.Errorf("stranger: %q", reply)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10})
	b, _ := json.Marshal(recs)
	for _, s := range []string{secret, testToken} {
		if strings.Contains(string(b), s) {
			t.Errorf("a secret reached the audit: %s", b)
		}
	}
	for _, m := range h.srv.BotMessages() {
		if strings.Contains(m.Text, secret) || strings.Contains(m.Text, testToken) {
			t.Errorf("a secret reached a chat: %q", m.Text)
		}
	}

	// A token whose "_" and "-" the escaping would turn full-width is
	// redacted before it is escaped, in an echoed command and in excerpts.
	jwt := "eyJhbGciOiJI_zI1NiJ9.eyJzdWIiOiIx-MjM0NTY3ODkwIn0.abc_DEF-ghi_jkl"
	if reply := h.say(admin, "/recall "+jwt); strings.Contains(reply, "eyJ") {
		t.Errorf("a JWT came back escaped but readable: %q", reply)
	}
	text := "see [the fix](http://evil.example/x) and ![img](http://evil.example/i.png) " + jwt
	// (The secrets rule blocks such a send at the API; a rule set to
	// recall after the fact lets it through, as here.)
	if _, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Private, ConversationID: privCID}, dingtalk.Text(text), recall.SendOptions{NoGuard: true}); err != nil {
		t.Fatal(err)
	}
	check := func(who, reply string) {
		t.Helper()
		for _, bad := range []string{"](", "://", "![", "eyJ"} {
			if strings.Contains(reply, bad) {
				t.Errorf("%s: /sent shows %q live: %q", who, bad, reply)
			}
		}
	}
	reply = h.say(admin, "/sent 1")
	check("admin", reply)
	if !strings.Contains(reply, "the fix") {
		t.Errorf("admin's /sent lost the excerpt: %q", reply)
	}
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Fatalf("recall: %q", reply)
	}
	reply = h.say(stranger, "/sent 3")
	check("stranger", reply)
	if strings.Contains(reply, "the fix") || !strings.Contains(reply, "content recalled") {
		t.Errorf("a stranger sees what was recalled: %q", reply)
	}
}

// TestNonAdminAdminVerbsAreAudited: every attempt of an admin verb by
// someone who is not an admin is refused and audited, malformed or not.
func TestNonAdminAdminVerbsAreAudited(t *testing.T) {
	tries := []string{"/recall", "/recall last abc", "/confirm", "/audit 1", "/撤回 最近 x", "/preview last 2"}
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Commands.Burst = len(tries) }) // faster than the default budget
	h.notify(1)
	for _, text := range tries {
		if reply := h.say(stranger, text); !strings.Contains(reply, "only admins") {
			t.Errorf("%q: %q", text, reply)
		}
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 20, Trail: ledger.TrailAccess})
	denied := 0
	for _, r := range recs {
		if r.Action == "denied" && r.Actor == stranger && !r.Allowed {
			denied++
		}
	}
	if denied != len(tries) {
		t.Errorf("%d denied attempts audited, want %d: %+v", denied, len(tries), recs)
	}
}

// TestConfirmCodeSurvivesAnotherAdminsAttempt: another admin sending the
// owner's code at the same moment never consumes or hides it.
func TestConfirmCodeSurvivesAnotherAdminsAttempt(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	for round := range 15 {
		h.notify(11)
		code := confirmCode(t, h.say(admin, "/recall last 11"))
		before := len(h.botReplies(privCID))
		var wg sync.WaitGroup
		for _, who := range []string{admin2, admin} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: who, Text: "/confirm " + code})
			}()
		}
		wg.Wait()
		if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) >= before+2 }); err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range h.botReplies(privCID)[before:] {
			texts = append(texts, m.Text)
		}
		// The owner's confirmation always works; the other admin is told
		// the code is not theirs, or, once the owner used it, that it is gone.
		joined := strings.Join(texts, " | ")
		if !strings.Contains(joined, "11 requested: 11 recalled") || !strings.Contains(joined, "is not yours") && !strings.Contains(joined, "unknown or has expired") {
			t.Fatalf("round %d: %s", round, joined)
		}
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 100})
	for _, r := range recs {
		if r.Actor == admin2 && !r.Allowed && !strings.HasPrefix(r.Note, "another admin's confirmation code") {
			t.Errorf("the other admin's attempt is audited as %q", r.Note)
		}
	}
}

// TestLedgerOutageCommandGetsAReply: while the ledger is down an admin's
// command is not run (it could run twice) but the admin is told so; the
// reply's key waits in the spool and reaches the ledger when it is back.
func TestLedgerOutageCommandGetsAReply(t *testing.T) {
	r := ledgertest.Own(t)
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.Ledger.RedisURL = r.URL
		c.Ledger.Spool = c.Ledger.Path + ".spool"
	})
	h.notify(1)
	r.Kill()
	// Without its ledger the bot cannot tell this chat's kind: it answers
	// in the admin's own 1:1 chat with it.
	oto := func() []dingtalktest.Message {
		c, _ := h.srv.UserConversation(admin)
		return c.Messages
	}
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(oto()) > 0 }); err != nil {
		t.Fatalf("no reply during the outage: %v\n%s", err, h.logs.String())
	}
	reply := oto()[0]
	if !strings.Contains(reply.Text, "ledger is unavailable") {
		t.Fatalf("reply during the outage: %q", reply.Text)
	}
	if h.recalledCount() != 0 {
		t.Error("the command ran without a ledger")
	}
	// A stranger's attempt during the outage is refused and audited, late.
	strangerTried := func() bool { c, _ := h.srv.UserConversation(stranger); return len(c.Messages) > 0 }
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: stranger, Text: "/recall last 3"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), strangerTried); err != nil {
		t.Fatalf("no reply to the stranger during the outage: %v", err)
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	deniedAudited := func() bool {
		recs, err := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 20, Trail: ledger.TrailAccess})
		for _, rec := range recs {
			if rec.Actor == stranger && rec.Action == "denied" {
				return true
			}
		}
		_ = err
		return false
	}
	if err := waitFor(h.ctx(), deniedAudited); err != nil {
		t.Errorf("the stranger's attempt during the outage was never audited: %v\n%s", err, h.logs.String())
	}
	key := reply.ProcessQueryKey
	if err := waitFor(h.ctx(), func() bool { _, err := h.app.Ledger.ByKey(h.ctx(), key); return err == nil }); err != nil {
		t.Fatalf("the reply's key never reached the ledger: %v\n%s", err, h.logs.String())
	}
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Errorf("after the outage: %q", reply)
	}
}

// TestResolvePendingOverHTTP: POST /v1/entries/{id}/resolve settles a
// pending entry, audited; what cannot be resolved is refused clearly.
func TestResolvePendingOverHTTP(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	h.srv.Fail(dingtalktest.PathPrivateSend, dingtalktest.FaultServerError, 1)
	r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"in doubt"}`, privCID))
	if r.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("a 5xx on a send is unknown: %d %v", r.StatusCode, body)
	}
	id := uint64(body["entry"].(map[string]any)["id"].(float64))
	path := fmt.Sprintf("/v1/entries/%d/resolve", id)
	if r, body := h.do("POST", path, testToken, `{"state":"recalled"}`); r.StatusCode != http.StatusConflict {
		t.Errorf("bad state: %d %v", r.StatusCode, body)
	}
	if r, body := h.do("POST", "/v1/entries/999999/resolve", testToken, `{"state":"unknown"}`); r.StatusCode != 404 {
		t.Errorf("unknown entry: %d %v", r.StatusCode, body)
	}
	if r, body := h.do("POST", path, testToken, `{"state":"send_failed","note":"not in the chat","client":"ops"}`); r.StatusCode != 200 || body["state"] != "send_failed" {
		t.Errorf("resolve: %d %v", r.StatusCode, body)
	}
	if r, _ := h.do("POST", path, testToken, `{"state":"unknown"}`); r.StatusCode != http.StatusConflict {
		t.Errorf("resolving twice: %d", r.StatusCode)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 1})
	if len(recs) != 1 || recs[0].Action != "resolve" || recs[0].Actor != "api:ops" {
		t.Errorf("audit: %+v", recs)
	}
}

// TestInstancesShareOneQuota: two, then three bots sharing a Redis ledger
// share the app's DingTalk quota too (one schedule of call starts per API,
// booked in Redis): every call of every bot, retries included, books its
// start in that one window, so together they never offer DingTalk more
// than its limit in any second and draw no refusal, where bots pacing
// themselves alone each fill the window (measured: 6 and 14 refusals for
// the same sends). A stall on a busy machine between a call's booked start
// and its request is measured and widens the margin (dingtalk/jitter.go).
// How close together they come to the limit is measured by
// BenchmarkSharedQuota (BENCHMARKS.md), not asserted here.
func TestInstancesShareOneQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 240 messages at DingTalk's pace (~5 s)")
	}
	r := ledgertest.Own(t)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: 40, SlidingWindow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var bots []*harness
	for range 3 {
		bots = append(bots, startOn(t, srv, func(c *config.Config) {
			c.DingTalk.QPS = 40
			c.Ledger.RedisURL = r.URL
			c.Ledger.Spool = c.Ledger.Path + ".spool"
		}))
	}
	for _, n := range []int{2, 3} {
		srv.ResetCalls()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for i, h := range bots[:n] {
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range 60 / n / 4 * 2 {
						r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"shared %d-%d-%d"}`, privCID, i, w, j))
						if r.StatusCode != 200 {
							failed.Add(1)
							t.Logf("send: %d %v", r.StatusCode, body)
						}
					}
				}()
			}
		}
		wg.Wait()
		calls := srv.CallsTo(dingtalktest.PathPrivateSend)
		refused := 0
		for _, c := range calls {
			if c.Status == 403 {
				refused++
			}
		}
		span := calls[len(calls)-1].Time.Sub(calls[0].Time)
		t.Logf("%d bots: %d sends in %s, %d refused, at most %d in a second (limit 40)", n, len(calls)-refused,
			span.Round(time.Millisecond), refused, srv.BusiestWindow(dingtalktest.PathPrivateSend, time.Second))
		if failed.Load() > 0 {
			t.Errorf("%d bots: %d sends failed", n, failed.Load())
		}
		if refused > 0 {
			t.Errorf("%d bots: DingTalk refused %d calls for its limit: the bots do not keep to one window", n, refused)
		}
	}
}
