package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestSentinelFailoverLosesNoKey is the HA setup of docs/operations.md under fire: a
// primary, a replica and three Sentinels (real redis-server and
// redis-sentinel on loopback), the bot on the failover URL with
// min_replicas 1, six clients sending through its HTTP API. The primary
// is killed (SIGKILL) with sends in flight; the Sentinels promote the
// replica; the old primary comes back as the new one's replica; the
// sends go on. Every key DingTalk issued must be in the ledger at the end,
// every send answered 200 or 202 too, and the Redis password in no log
// line. While no replica acknowledges (the dead primary, then a primary
// alone) a new send is refused (503) and the keys of sends in flight are
// spooled (202), never reported recorded; the spool drains once the old
// primary replicates from the new one. Two sends are held at DingTalk
// across the kill (HoldAnswers), so the failover is exercised whatever the
// scheduler does.
func TestSentinelFailoverLosesNoKey(t *testing.T) {
	t.Parallel()
	const password = "ha-redis-pass-41c7e2"
	ha := ledgertest.StartHA(t, password)
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.Ledger.RedisURL = ha.URL(password)
		c.Ledger.MinReplicas = 1
		c.Ledger.ReplicaTimeout = time.Second
		c.Ledger.Spool = filepath.Join(t.TempDir(), "recallbot.spool")
	})
	const gid = "cidFailover"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "")
	h.srv.Delay(dingtalktest.PathGroupSend, 20*time.Millisecond, 1_000_000) // so that sends are in flight at the kill

	var (
		mu        sync.Mutex
		statuses  = map[int]int{}
		answered  = map[string]int{} // key -> HTTP status, for sends answered with a key
		sends     atomic.Int64
		recovered atomic.Bool
		okAfter   atomic.Int64 // sends answered 200 since the old primary replicates again
		wg        sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; sends.Add(1) <= 5000; i++ { // bounded whatever happens
				status, key := postMessage(h.app.HTTPAddr(), fmt.Sprintf(`{"family":"group","conversation_id":%q,"text":"failover %d-%d"}`, gid, w, i))
				mu.Lock()
				statuses[status]++
				if key != "" && (status == 200 || status == 202) {
					answered[key] = status
				}
				mu.Unlock()
				if status == 200 && recovered.Load() {
					okAfter.Add(1)
				}
				pause := time.Duration(0)
				if status != 200 && status != 202 {
					pause = 20 * time.Millisecond // a refused client backs off a little
				}
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := waitFor(ctx, func() bool { return sends.Load() >= 60 }); err != nil {
		t.Fatal(err)
	}
	old, err := ha.Master(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two sends take effect on DingTalk's side and their answers are held
	// until the primary is dead: their keys reach the bot after the kill
	// however the machine schedules the test (a send merely in flight at
	// the kill could still be recorded first on a busy machine).
	held := h.srv.HoldAnswers(dingtalktest.PathGroupSend, 2)
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	ha.ByAddr(old).Kill()
	issuedAtKill := len(h.srv.BotMessages())
	held.Release()
	promoted, err := ha.WaitForMaster(ctx, old)
	if err != nil {
		t.Fatalf("no promotion: %v\n%s", err, ha.Sentinels[0].Log())
	}
	failover := time.Since(killed)
	// The sends in flight at the kill got their keys from DingTalk, but no
	// replica can take them (the new primary is alone): the bot retries
	// for RecordFor, then spools them. Only then does the old primary
	// come back, as the new one's replica: from then on writes are
	// acknowledged by a replica again.
	if err := waitFor(ctx, func() bool { return h.app.Spool.Waiting() > 0 }); err != nil {
		t.Fatalf("nothing was spooled: %v", err)
	}
	// A new send while the new primary has no replica to acknowledge it is
	// refused: nothing is sent that could not be recorded durably. (Asked
	// here rather than counted among the clients' answers: whether one of
	// them happens to start a send in this window is the scheduler's
	// business.)
	if status, key := postMessage(h.app.HTTPAddr(), fmt.Sprintf(`{"family":"group","conversation_id":%q,"text":"while alone"}`, gid)); status != http.StatusServiceUnavailable || key != "" {
		t.Errorf("a send with no replica to acknowledge it: %d %q, want 503 and no key", status, key)
	}
	if err := ha.ByAddr(old).RestartReplicaOf(promoted); err != nil {
		t.Fatal(err)
	}
	if err := ha.ByAddr(old).WaitReplicating(ctx, password); err != nil {
		t.Fatal(err)
	}
	durableAgain := time.Since(killed)
	recovered.Store(true)
	if err := waitFor(ctx, func() bool { return okAfter.Load() >= 60 }); err != nil {
		t.Fatalf("sends did not recover after the failover: %v; statuses %v", err, statuses)
	}
	close(stop)
	wg.Wait()
	// Keys spooled during the failover reach the ledger by themselves.
	if err := waitFor(ctx, func() bool { return h.app.Spool.Waiting() == 0 }); err != nil {
		t.Fatalf("the spool still holds %d records: %v", h.app.Spool.Waiting(), err)
	}

	issued, inLedger := 0, 0
	for _, m := range h.srv.BotMessages() {
		issued++
		if e, err := h.app.Ledger.ByKey(ctx, m.ProcessQueryKey); err == nil && e.State == ledger.Sent {
			inLedger++
		} else {
			t.Errorf("DingTalk issued %s (%q); the ledger has %+v, %v", m.ProcessQueryKey, m.Text, e, err)
		}
	}
	for k, st := range answered {
		if _, err := h.app.Ledger.ByKey(ctx, k); err != nil {
			t.Errorf("answered %d with key %s, not in the ledger", st, k)
		}
	}
	if err := h.app.Ledger.Check(ctx); err != nil {
		t.Error(err)
	}
	pending, _ := h.app.Ledger.InState(ctx, ledger.Pending, 1000)
	if len(pending) != 0 {
		t.Errorf("%d entries left pending; the emulator answered every send", len(pending))
	}
	if strings.Contains(h.logs.String(), password) {
		t.Error("the Redis password reached the log")
	}
	mu.Lock()
	defer mu.Unlock()
	// The figure BENCHMARKS.md quotes (go run ./tools/benchreport).
	t.Logf("failover figure: keys issued %d, keys in ledger %d; primary killed with %d issued, new primary after %s, durable again after %s; %d sends, HTTP statuses %v",
		issued, inLedger, issuedAtKill, failover.Round(time.Millisecond), durableAgain.Round(time.Millisecond), sends.Load(), statuses)
	if statuses[202] < 2 { // the held sends' keys came after the kill: spooled, answered 202
		t.Errorf("%d sends answered 202 (spooled), want at least the 2 held across the kill", statuses[202])
	}
}

// postMessage sends one message through the bot's HTTP API and returns the
// status and the key in the answer, if any (0 when the request failed).
func postMessage(addr, body string) (int, string) {
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e ledger.Entry
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.ProcessQueryKey
}
