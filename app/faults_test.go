package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestSurvivesFaults runs admins' commands and HTTP API sends while the
// emulator injects what DingTalk and the network do: 5xx bursts, 403 QPS,
// tokens revoked mid-run, garbage bodies, duplicated and redelivered
// frames, a disconnect and a zombie connection. Afterwards every command ran
// exactly once, no key was recalled twice, every receipt matches the chat,
// the ledger agrees with the emulator, and no goroutine is left behind.
func TestSurvivesFaults(t *testing.T) {
	// Not parallel: goleak looks at every goroutine of the process.
	if testing.Short() {
		t.Skip("waits out a zombie connection (~11 s)")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := start(t, dingtalktest.Options{ACKTimeout: time.Second, MaxRedeliveries: 100, DisconnectGrace: 200 * time.Millisecond},
		func(c *config.Config) { c.DingTalk.KeepAlive = 3 * time.Second })
	const gid = "cidOpsGroup"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "ops")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	var commands []string
	command := func(text string) {
		id, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: text})
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		commands = append(commands, id)
		mu.Unlock()
	}
	send := func(family, cid, text string) {
		_, _ = h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":%q,"conversation_id":%q,"text":%q}`, family, cid, text))
	}

	for i := range 40 {
		send("private", privCID, fmt.Sprintf("notice %d", i))
		send("group", gid, fmt.Sprintf("group notice %d", i))
		if i%2 == 1 {
			command("/recall last 1")
		}
		switch i {
		case 5:
			h.srv.Fail(dingtalktest.AnyAPI, dingtalktest.FaultServerError, 3)
		case 8:
			h.srv.Fail(dingtalktest.PathPrivateRecall, dingtalktest.FaultQPS, 4)
		case 11:
			h.srv.RevokeTokens()
		case 14:
			h.srv.Fail(dingtalktest.AnyAPI, dingtalktest.FaultGarbage, 2)
		case 17:
			h.srv.DuplicateFrames(3)
		case 20:
			h.srv.DropACKs(2)
		case 23:
			_ = h.srv.Disconnect(h.srv.Connections()[0].ID)
		case 30:
			// Once the bot is back from the disconnect, its connection
			// turns zombie; commands go on (swallowed, then redelivered)
			// until the SDK's keepalive gives the socket up.
			live := func() []dingtalktest.ConnInfo {
				var out []dingtalktest.ConnInfo
				for _, c := range h.srv.Connections() {
					if !c.Draining && !c.Zombie {
						out = append(out, c)
					}
				}
				return out
			}
			if err := h.srv.WaitUntil(ctx, func() bool { return len(live()) == 1 }); err != nil {
				t.Fatal(err)
			}
			zombie := live()[0].ID
			_ = h.srv.Zombie(zombie)
			command("/recall last 1")
			if err := h.srv.WaitUntil(ctx, func() bool { l := live(); return len(l) == 1 && l[0].ID != zombie }); err != nil {
				t.Fatalf("the SDK kept the zombie: %v", err)
			}
		}
	}
	// A final recall through the API, and wait for every command to be
	// handled (frames swallowed by the zombie come again after 1 s).
	_, _ = h.do("POST", "/v1/recalls", testToken, `{"family":"group","conversation_id":"`+gid+`","last":10}`)
	handled := func() map[string]int {
		out := map[string]int{}
		for _, line := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(line, `"command handled"`) {
				var l struct {
					MsgID string `json:"msg_id"`
				}
				_ = json.Unmarshal([]byte(line), &l)
				out[l.MsgID]++
			}
		}
		return out
	}
	if err := waitFor(ctx, func() bool { return len(handled()) >= len(commands) }); err != nil {
		t.Fatalf("only %d of %d commands handled", len(handled()), len(commands))
	}
	h.srv.RedeliverNow() // any frame still unACKed comes once more: it must not run again

	// Stop everything, then check the record.
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ccancel()
	if err := h.app.Close(cctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	counts := handled()
	for _, id := range commands {
		if counts[id] != 1 {
			t.Errorf("command %s ran %d times", id, counts[id])
		}
	}
	// No key recalled twice: counted in the recall requests DingTalk took
	// (a repeat is answered in failedResult, so counting successResult
	// could never see one). The faults here are all refusals made before
	// anything happened, so no key may be carried twice.
	recalledBy := map[string]int{}
	for _, c := range h.srv.Calls() {
		if c.Status != 200 || !strings.Contains(c.Path, "ecall") {
			continue
		}
		var r struct{ ProcessQueryKeys []string }
		_ = json.Unmarshal([]byte(c.Request), &r)
		for _, k := range r.ProcessQueryKeys {
			recalledBy[k]++
		}
	}
	for k, n := range recalledBy {
		if n > 1 {
			t.Errorf("key %s carried in %d recall requests", k, n)
		}
	}
	led, err := ledger.Open(h.app.Config.Ledger.Path, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	shown := map[string]dingtalktest.Message{}
	for _, m := range h.srv.BotMessages() {
		shown[m.ProcessQueryKey] = m
		e, err := led.ByKey(ctx, m.ProcessQueryKey)
		if err != nil {
			t.Errorf("DingTalk shows %q but the ledger does not know its key", m.Text)
			continue
		}
		if (e.State == ledger.Recalled) != m.Recalled {
			t.Errorf("%q: ledger says %s, the chat says recalled=%v", m.Text, e.State, m.Recalled)
		}
	}
	recs, _ := led.Audit(ctx, ledger.AuditQuery{Limit: 1000})
	receipts := 0
	for _, r := range recs {
		for key, outcome := range r.Outcomes {
			if outcome == "recalled" {
				receipts++
				if m, ok := shown[key]; !ok || !m.Recalled {
					t.Errorf("audit #%d says %s was recalled; the chat disagrees", r.ID, key)
				}
			}
		}
	}
	if receipts == 0 {
		t.Error("no recall succeeded at all")
	}
	t.Logf("%d commands, %d messages shown, %d recalled per receipts, %d recall calls", len(commands), len(shown), receipts, len(recalledBy))
	_ = led.Close()
	_ = h.srv.Close()
	http.DefaultClient.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}
