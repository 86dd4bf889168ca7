package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestKillNineDuringAnAsyncRecallIsFinishedAsItself: a process killed
// (SIGKILL) during an asynchronous recall, with four recall calls on the
// wire, leaves its record running; the restarted process finds it (its
// lease is gone) and finishes it as itself: the same record ends done with
// every message accounted for, those the dead calls took back included,
// and the audit trail credits the operator who asked, not a system resume.
func TestKillNineDuringAnAsyncRecallIsFinishedAsItself(t *testing.T) {
	// Not parallel: it catches exactly the first calls in flight, which
	// the load of another test beside it would let grow (the calls in flight
	// follow the round trip the client measures).
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := procConfig(t, srv, dir, "path: "+filepath.Join(dir, "ledger.db"), addr)
	fourInFlight(t, cfg)
	_ = srv.AddConversation(privCID, dingtalktest.KindPrivate, "a person-to-person chat")
	p := startProc(t, srv, cfg, addr)
	for i := range 250 {
		status, body := p.api("POST", "/v1/messages", fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"notice %d","batch_id":"b-async"}`, privCID, i))
		if status != 200 {
			t.Fatalf("send %d: %d %s", i, status, body)
		}
	}
	srv.Delay(dingtalktest.PathPrivateRecall, 0, 1)            // the first call is answered
	srv.Delay(dingtalktest.PathPrivateRecall, time.Minute, 20) // the next ones hang on the wire
	status, body := p.api("POST", "/v1/recalls", `{"batch_id":"b-async","async":true,"client":"ops"}`)
	var job struct {
		ID string `json:"recall_id"`
	}
	if status != 202 || json.Unmarshal([]byte(body), &job) != nil {
		t.Fatalf("POST /v1/recalls: %d %s", status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := srv.WaitUntil(ctx, func() bool { return srv.CountCalls(dingtalktest.PathPrivateRecall) == 1 && srv.InFlight() == 4 }); err != nil {
		t.Fatal(err)
	}
	p.kill() // DingTalk recalls what the four calls on the wire carried; nobody hears it
	if err := srv.WaitUntil(ctx, func() bool { return srv.InFlight() == 0 }); err != nil {
		t.Fatal(err)
	}
	srv.ClearFaults()

	p = startProc(t, srv, cfg, addr)
	var rec struct {
		State     string         `json:"state"`
		Requested int            `json:"requested"`
		Done      int            `json:"done"`
		Resumed   bool           `json:"resumed"`
		Receipt   map[string]any `json:"receipt"`
	}
	if err := waitFor(ctx, func() bool {
		_, body := p.api("GET", "/v1/recalls/"+job.ID, "")
		return json.Unmarshal([]byte(body), &rec) == nil && rec.State == "done"
	}); err != nil {
		t.Fatalf("the recall was never finished: %+v", rec)
	}
	if rec.Requested != 250 || rec.Done != 250 || !rec.Resumed || rec.Receipt["summary"] != "250 recalled" {
		t.Errorf("the record: %+v", rec)
	}
	for _, m := range srv.BotMessages() {
		if !m.Recalled && strings.HasPrefix(m.Text, "notice") {
			t.Errorf("still shown: %q", m.Text)
		}
	}
	_, body = p.api("GET", "/v1/audit?limit=10", "")
	var audit struct {
		Records []struct {
			Actor, Action, Note string
		} `json:"records"`
	}
	_ = json.Unmarshal([]byte(body), &audit)
	recalls := 0
	for _, r := range audit.Records {
		switch {
		case r.Action == "resume":
			t.Errorf("credited to a system resume: %+v", r)
		case r.Action == "recall" && r.Actor == "api:ops" && strings.Contains(r.Note, "resumed"):
			recalls++
		}
	}
	if recalls != 1 {
		t.Errorf("the audit trail: %+v; want one recall by api:ops, resumed", audit.Records)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("SIGTERM: exit code %d", code)
	}
}
