package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestKillNineDuringSends runs the real binary, sends through its HTTP API
// in a loop, and kills it with SIGKILL at random moments, 20 times. Every
// key DingTalk issued must then be in the ledger as sent, or the message
// must be accounted for by a pending entry (its outcome unknown), never
// silently absent; and a final recall takes back every message whose key
// the ledger holds.
func TestKillNineDuringSends(t *testing.T) {
	t.Parallel()
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const cid = "cidLoadGroup"
	_ = srv.AddConversation(cid, dingtalktest.KindGroup, "load")
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "ledger.db")
	addr := freeAddr(t)
	cfg := procConfig(t, srv, dir, "path: "+ledgerPath, addr)

	acked := map[string]string{} // key -> text, for sends the API confirmed
	var mu sync.Mutex
	n := 0
	for round := range 20 {
		p := startProc(t, srv, cfg, addr)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					text := fmt.Sprintf("m-%02d-%d-%04d", round, w, i)
					status, body := p.api("POST", "/v1/messages", `{"family":"group","conversation_id":"`+cid+`","text":"`+text+`"}`)
					if status != 200 {
						return // killed
					}
					var e ledger.Entry
					_ = json.Unmarshal([]byte(body), &e)
					mu.Lock()
					acked[e.ProcessQueryKey] = text
					n++
					mu.Unlock()
				}
			}()
		}
		time.AfterFunc(time.Duration(20+rand.IntN(200))*time.Millisecond, p.kill) // the kill lands anywhere in the send path
		<-p.done
		cancel()
		wg.Wait()
	}
	t.Logf("%d sends acknowledged over 20 kills; DingTalk shows %d messages", n, len(srv.BotMessages()))

	// The ledger, read directly: every acknowledged key is sent; every
	// message DingTalk shows is either known by key or matched by a
	// pending entry of the same text.
	led, err := ledger.Open(ledgerPath, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := led.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for key, text := range acked {
		if e, err := led.ByKey(ctx, key); err != nil || e.State != ledger.Sent || e.Excerpt != text {
			t.Errorf("acknowledged %s (%s): %+v, %v", key, text, e, err)
		}
	}
	pending, _ := led.InState(ctx, ledger.Pending, 10_000)
	pendingText := map[string]bool{}
	for _, e := range pending {
		pendingText[e.Excerpt] = true
	}
	unknown := 0
	for _, m := range srv.BotMessages() {
		if _, err := led.ByKey(ctx, m.ProcessQueryKey); err != nil {
			if !pendingText[m.Text] {
				t.Errorf("DingTalk shows %q (key %s) but the ledger has neither its key nor a pending entry", m.Text, m.ProcessQueryKey)
			}
			unknown++
		}
	}
	_ = led.Close()
	t.Logf("%d pending entries; %d shown messages with no key in the ledger", len(pending), unknown)

	// A final recall of everything takes back every message with a key.
	p := startProc(t, srv, cfg, addr)
	status, body := p.api("POST", "/v1/recalls", `{"family":"group","conversation_id":"`+cid+`","since":"1h"}`)
	if status != 200 {
		t.Fatalf("final recall: %d %s", status, body)
	}
	shown := 0
	for _, m := range srv.BotMessages() {
		if !m.Recalled {
			shown++
		}
	}
	if shown != unknown {
		t.Errorf("%d messages still shown after the final recall; only the %d without a key may be", shown, unknown)
	}
	if !strings.Contains(body, `"summary"`) {
		t.Errorf("receipt %s", body)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("SIGTERM: exit code %d", code)
	}
}
