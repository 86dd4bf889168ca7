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

// broadcastState is what GET /v1/broadcasts/{id} answers, in part.
type broadcastState struct {
	State     string `json:"state"`
	Sent      int    `json:"sent"`
	Failed    int    `json:"failed"`
	Cancelled int    `json:"cancelled"`
	Pending   int    `json:"pending"`
	Calls     int    `json:"send_calls"`
	InFlight  []struct {
		EntryID uint64 `json:"entry_id"`
		People  int    `json:"people"`
	} `json:"in_flight"`
}

func (p *proc) broadcastState(t *testing.T, id string) broadcastState {
	t.Helper()
	status, body := p.api("GET", "/v1/broadcasts/"+id, "")
	var st broadcastState
	if status != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET broadcast: %d %s", status, body)
	}
	return st
}

// pendingEntries is how many entries the process's ledger holds pending.
func (p *proc) pendingEntries() int {
	status, body := p.api("GET", "/v1/entries/pending", "")
	var out struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
		return -1
	}
	return len(out.Entries)
}

// received counts the bot's messages in each user's one-to-one chat.
func received(srv *dingtalktest.Server, users []string) (once, twice, never int) {
	for _, u := range users {
		n := 0
		if c, ok := srv.UserConversation(u); ok {
			n = len(c.Messages)
		}
		switch {
		case n == 0:
			never++
		case n == 1:
			once++
		default:
			twice++
		}
	}
	return once, twice, never
}

// TestKillNineMidBroadcastLeavesOnlyCallsInFlightInDoubt: a process killed
// (SIGKILL) while four calls of a broadcast are on the wire and a fifth
// step is written ahead, waiting for a worker, leaves in doubt only the
// people of the four calls (DingTalk got them; their keys were never
// heard): the fifth step was never sent, and the restarted process sends
// it, so that nobody is left out and nobody gets the message twice.
func TestKillNineMidBroadcastLeavesOnlyCallsInFlightInDoubt(t *testing.T) {
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
	p := startProc(t, srv, cfg, addr)

	const n = 200 // 10 calls of 20
	var users, quoted []string
	for i := range n {
		users = append(users, fmt.Sprintf("kill-u%03d", i))
		quoted = append(quoted, `"`+users[i]+`"`)
	}
	srv.Delay(dingtalktest.PathOTOSend, 2*time.Second, 4) // the four workers' calls hang on the wire
	status, body := p.api("POST", "/v1/broadcasts", `{"user_ids":[`+strings.Join(quoted, ",")+`],"text":"killed mid-way","batch_id":"b-kill"}`)
	if status != 202 {
		t.Fatalf("POST /v1/broadcasts: %d %s", status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Four calls on the wire, and the fifth step written ahead behind them.
	if err := srv.WaitUntil(ctx, func() bool { return srv.InFlight() == 4 }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, func() bool { return p.pendingEntries() == 5 }); err != nil {
		t.Fatalf("never 5 steps written: %d pending", p.pendingEntries())
	}
	p.kill()
	// DingTalk acts on the four calls it got; nobody hears its answers.
	if err := srv.WaitUntil(ctx, func() bool { return srv.InFlight() == 0 && srv.CountCalls(dingtalktest.PathOTOSend) == 4 }); err != nil {
		t.Fatal(err)
	}

	p = startProc(t, srv, cfg, addr)
	var st broadcastState
	if err := waitFor(ctx, func() bool { st = p.broadcastState(t, "b-kill"); return st.State != "running" }); err != nil {
		t.Fatalf("the broadcast did not end after the restart: %+v", st)
	}
	once, twice, never := received(srv, users)
	if once != n || twice != 0 || never != 0 {
		t.Errorf("after the restart: %d got it once, %d twice, %d never; want all %d once", once, twice, never, n)
	}
	if st.State != "done" || st.Sent != n-80 || st.Pending != 80 || p.pendingEntries() != 4 {
		t.Errorf("job %+v with %d pending entries; want done, the 80 people of the 4 calls on the wire in doubt, the rest sent", st, p.pendingEntries())
	}
	if code := p.stop(); code != 0 {
		t.Errorf("SIGTERM: exit code %d", code)
	}
}
