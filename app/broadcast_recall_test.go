package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestEveryWayToRecallABatchStopsItsBroadcast: a recall of a batch whose
// broadcast is still sending, made in chat (/recall batch, /confirm), over
// the asynchronous API and from the CLI, stops the broadcast first and
// takes back every copy it sent, the calls on the wire included. (The
// synchronous API is the engine's own test; the console's is in package
// console.)
func TestEveryWayToRecallABatchStopsItsBroadcast(t *testing.T) {
	for _, way := range []string{"chat", "async", "cli"} {
		t.Run(way, func(t *testing.T) {
			// The client waits for held answers as long as they take: a
			// held call must land, not time out, however slow the steps
			// before its release.
			h := start(t, dingtalktest.Options{}, fourInFlight, func(c *config.Config) { c.DingTalk.Timeout = time.Minute })
			// The ledger knows the chat, so replies go to it, not to the
			// admin's own 1:1 chat; DingTalk is far away: four calls are
			// always on the wire.
			h.notify(1)
			// DingTalk holds the answers of the first four calls until the
			// next four are on the wire, then of those until the recall has
			// stopped the broadcast: the recall always meets a broadcast
			// still sending, with keys to take back and calls on the wire
			// (a 300 ms delay let the broadcast end first when chat's two
			// round trips were slow on a busy machine).
			first := h.srv.HoldAnswers(dingtalktest.PathOTOSend, 4)
			defer first.Release()
			users := make([]string, 300)
			for i := range users {
				users[i] = fmt.Sprintf("%s%03d", way, i)
			}
			ids, _ := json.Marshal(users)
			r, b := h.do("POST", "/v1/broadcasts", testToken, `{"user_ids":`+string(ids)+`,"text":"wrong notice"}`)
			batch, _ := b["batch_id"].(string)
			if r.StatusCode != 202 || batch == "" {
				t.Fatalf("broadcast: %d %v", r.StatusCode, b)
			}
			if err := first.Wait(h.ctx()); err != nil {
				t.Fatal(err)
			}
			held := h.srv.HoldAnswers(dingtalktest.PathOTOSend, 4)
			defer held.Release()
			first.Release()
			if err := held.Wait(h.ctx()); err != nil {
				t.Fatal(err)
			}
			var finish func() string
			switch way {
			case "chat":
				code := confirmCode(t, h.say(admin, "/recall batch "+batch))
				before := len(h.botReplies(privCID))
				if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/confirm " + code}); err != nil {
					t.Fatal(err)
				}
				finish = func() string {
					if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) > before }); err != nil {
						t.Fatalf("no reply to /confirm: %v", err)
					}
					rs := h.botReplies(privCID)
					return rs[len(rs)-1].Text
				}
			case "async":
				_, job := h.do("POST", "/v1/recalls", testToken, fmt.Sprintf(`{"batch_id":%q,"async":true}`, batch))
				id, _ := job["recall_id"].(string)
				finish = func() string {
					if err := waitFor(h.ctx(), func() bool {
						_, job = h.do("GET", "/v1/recalls/"+id, testToken, "")
						return job["state"] != "running"
					}); err != nil {
						t.Fatalf("the recall never finished: %v", job)
					}
					rec, _ := job["receipt"].(map[string]any)
					s, _ := rec["summary"].(string)
					return s
				}
			case "cli":
				var out, errOut bytes.Buffer
				ran := make(chan error, 1)
				go func() { ran <- h.run([]string{"recall", "--batch", batch}, &out, &errOut) }()
				finish = func() string {
					if err := <-ran; err != nil {
						t.Fatalf("cli: %v %s", err, errOut.String())
					}
					return out.String()
				}
			}
			var st map[string]any
			if err := waitFor(h.ctx(), func() bool {
				_, st = h.do("GET", "/v1/broadcasts/"+url.PathEscape(batch), testToken, "")
				return st["state"] == "cancelled"
			}); err != nil {
				t.Fatalf("the recall did not stop the broadcast: %v", st)
			}
			held.Release()
			summary := finish()
			_, st = h.do("GET", "/v1/broadcasts/"+url.PathEscape(batch), testToken, "")
			shown := 0
			for _, u := range users {
				c, _ := h.srv.UserConversation(u)
				for _, m := range c.Messages {
					if !m.Recalled {
						shown++
					}
				}
			}
			if st["state"] != "cancelled" || st["pending"] != 0.0 || shown != 0 || st["sent"].(float64)+st["cancelled"].(float64) != 300 {
				t.Errorf("after the recall: %v; %d copies shown", st, shown)
			}
			if !strings.Contains(summary, "the broadcast was stopped first") || strings.Contains(summary, "no key") {
				t.Errorf("the receipt: %q", summary)
			}
		})
	}
}

// TestCancelOverTheCLIAndTheConsole: `recallbot broadcast cancel` (the
// API's DELETE) answers with final counts but for the calls on the wire,
// which it names; the people not sent to are cancelled, not pending, in
// the status JSON, the CLI and the console; once the calls in flight land,
// nothing is pending and the cancel's audit record says what they reached.
func TestCancelOverTheCLIAndTheConsole(t *testing.T) {
	// The first four calls are held at DingTalk until the cancel has
	// answered, so it always names exactly them as on the wire (a 300 ms
	// delay let them land first when the test was held back); the client
	// waits for a held answer rather than timing out.
	h := start(t, dingtalktest.Options{}, fourInFlight, func(c *config.Config) { c.DingTalk.Timeout = time.Minute })
	held := h.srv.HoldAnswers(dingtalktest.PathOTOSend, 4)
	defer held.Release()
	users := make([]string, 300)
	for i := range users {
		users[i] = fmt.Sprintf("cancel%03d", i)
	}
	ids, _ := json.Marshal(users)
	_, b := h.do("POST", "/v1/broadcasts", testToken, `{"user_ids":`+string(ids)+`,"text":"wrong list","batch_id":"b-cancel"}`)
	if b["batch_id"] != "b-cancel" {
		t.Fatalf("broadcast: %v", b)
	}
	if err := held.Wait(h.ctx()); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := h.run([]string{"broadcast", "cancel", "b-cancel"}, &out, &errOut); err != nil {
		t.Fatalf("cli: %v %s", err, errOut.String())
	}
	held.Release()
	if !strings.Contains(out.String(), ": cancelled;") || !strings.Contains(out.String(), " · 220 cancelled;") || !strings.Contains(out.String(), "4 calls for 80 people on the wire") {
		t.Errorf("cli: %q", out.String())
	}
	var st map[string]any
	if err := waitFor(h.ctx(), func() bool {
		_, st = h.do("GET", "/v1/broadcasts/b-cancel", testToken, "")
		in, _ := st["in_flight"].([]any)
		return len(in) == 0
	}); err != nil {
		t.Fatalf("the calls in flight never landed: %v", st)
	}
	if st["state"] != "cancelled" || st["pending"] != 0.0 || st["sent"].(float64)+st["cancelled"].(float64) != 300 {
		t.Errorf("after the calls in flight landed: %v", st)
	}
	note := fmt.Sprintf("%.0f of 300 recipients reached, 0 refused, %.0f not sent (cancelled)", st["sent"], st["cancelled"])
	var recs []ledger.AuditRecord
	if err := waitFor(h.ctx(), func() bool { // rewritten just after the last call in flight is settled
		recs, _ = h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 5})
		return len(recs) > 0 && auditNote(recs[0]) == note
	}); err != nil || recs[0].Action != "broadcast.cancel" || recs[0].Actor != "api:cli" {
		t.Errorf("the cancel's audit record: %+v; want the note %q", recs, note)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := "http://" + h.app.HTTPAddr()
	if resp, err := c.PostForm(base+"/ui/login", url.Values{"token": {testToken}, "name": {"alice"}, "next": {"/ui/broadcasts/b-cancel"}}); err == nil {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("Cancelled: %.0f people will not be sent to (by api:cli)", st["cancelled"])
		if !strings.Contains(string(page), want) {
			t.Errorf("the console's broadcast page does not say %q: %s", want, page)
		}
	} else {
		t.Fatal(err)
	}
}

// fourInFlight fixes the calls a recall or broadcast keeps on the wire at
// four, for tests that catch exactly the first calls: sized from the round
// trip, their number would follow the machine's load.
func fourInFlight(c *config.Config) { c.DingTalk.InFlight = 4 }

// auditNote is an audit record's note in English words, as it is shown.
func auditNote(r ledger.AuditRecord) string {
	_, n := recall.AuditWords(r, "en", nil)
	return n
}
