package e2e

import (
	"context"
	"fmt"
	"github.com/recallbot/recallbot/alerts/alertmanagertest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestAlertDuplicatesOnTwoInstances runs two bot processes (the real
// binary) on one real redis-server, as behind a load balancer that
// Alertmanager's HA pair both deliver to: every notification reaches both
// at the same moment, and one is killed and restarted in between. The chat
// shows one message for the group throughout: one first message, one
// update (or supersede) per change, whichever instance took what.
func TestAlertDuplicatesOnTwoInstances(t *testing.T) {
	t.Parallel()
	for _, style := range []alerts.Style{alerts.StyleCard, alerts.StyleMarkdown} {
		t.Run(string(style), func(t *testing.T) { testAlertDuplicates(t, style) })
	}
}

func testAlertDuplicates(t *testing.T, style alerts.Style) {
	r := ledgertest.Shared(t)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddConversation(alertCID, dingtalktest.KindGroup, "db on-call"); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("alerts-dup-%s-%d:", style, time.Now().UnixNano())
	dir := t.TempDir()
	ledgerLine := fmt.Sprintf("redis_url: %s\n  redis_prefix: %q", r.URL, prefix)
	addrA, addrB := freeAddr(t), freeAddr(t)
	cfgA, cfgB := alertsProcConfig(t, srv, dir, ledgerLine, addrA, style), alertsProcConfig(t, srv, dir, ledgerLine, addrB, style)
	a := startProc(t, srv, cfgA, addrA)
	b := startProc(t, srv, cfgB, addrB)
	led, err := ledger.OpenRedis(context.Background(), r.URL, ledger.RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Both instances get the notification at the same moment.
	both := func(body string, procs ...*proc) {
		t.Helper()
		var wg sync.WaitGroup
		start := make(chan struct{})
		codes := make([]int, len(procs))
		for i, p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[i], _ = p.api("POST", "/v1/alerts/alertmanager", body)
			}()
		}
		close(start)
		wg.Wait()
		for i, c := range codes {
			if c != 200 {
				t.Fatalf("instance %d answered %d", i, c)
			}
		}
	}
	shown := func() []dingtalktest.Message {
		c, _ := srv.Conversation(alertCID)
		var out []dingtalktest.Message
		for _, m := range c.Messages {
			if m.FromBot() && !m.Recalled {
				out = append(out, m)
			}
		}
		return out
	}
	settled := func(want string) {
		t.Helper()
		var ms []dingtalktest.Message
		if err := waitFor(ctx, func() bool {
			ms = shown()
			due, err := led.DueAlerts(ctx, 10)
			return err == nil && len(due) == 0 && len(ms) == 1 && strings.Contains(ms[0].Text, want)
		}); err != nil {
			la, _ := os.ReadFile(a.log)
			lb, _ := os.ReadFile(b.log)
			t.Fatalf("the chat never settled on one message with %q: %q\nA:\n%s\nB:\n%s", want, texts(ms), la, lb)
		}
	}

	db1 := amAlert{Name: "DiskFull", Instance: "db1", Summary: "disk 95% on db1"}
	db2 := amAlert{Name: "DiskFull", Instance: "db2", Summary: "disk 91% on db2"}
	db3 := amAlert{Name: "DiskFull", Instance: "db3", Summary: "disk 97% on db3"}
	both(amNotification("db-oncall", "DiskFull", db1), a, b)
	settled("disk 95% on db1")
	both(amNotification("db-oncall", "DiskFull", db1), a, b) // a repeat, twice at once
	both(amNotification("db-oncall", "DiskFull", db1, db2), a, b)
	settled("disk 91% on db2")

	// One instance dies and comes back; the duplicates go on.
	a.kill()
	both(amNotification("db-oncall", "DiskFull", db1, db2, db3), b)
	settled("disk 97% on db3")
	a = startProc(t, srv, cfgA, addrA)
	db1.Resolved, db2.Resolved, db3.Resolved = true, true, true
	both(amNotification("db-oncall", "DiskFull", db1, db2, db3), a, b)
	settled("RESOLVED")

	cardSends, updates := srv.CountCalls(dingtalktest.PathCardSend), srv.CountCalls(dingtalktest.PathCardUpdate)
	groupSends, recalls := srv.CountCalls(dingtalktest.PathGroupSend), srv.CountCalls(dingtalktest.PathGroupRecall)
	switch style {
	case alerts.StyleCard:
		if cardSends != 1 || updates != 3 || groupSends != 0 {
			t.Errorf("card: %d sends, %d updates, %d markdown sends; want 1, 3, 0", cardSends, updates, groupSends)
		}
	case alerts.StyleMarkdown:
		c, _ := srv.Conversation(alertCID)
		if groupSends != 4 || recalls != 3 || len(c.Messages) != 4 {
			t.Errorf("markdown: %d sends, %d recalls, %d messages in the chat; want 4, 3, 4", groupSends, recalls, len(c.Messages))
		}
	}
}

// alertsProcConfig is procConfig with alerts routed to alertCID.
func alertsProcConfig(t *testing.T, srv *dingtalktest.Server, dir, ledgerLine, addr string, style alerts.Style) string {
	t.Helper()
	path := procConfig(t, srv, dir, ledgerLine, addr)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "alerts:\n  style: %s\n  routes:\n    db-oncall: {group: %q}\n", style, alertCID); err != nil {
		t.Fatal(err)
	}
	return path
}

// alertCID is the group the instances route receiver "db-oncall" to.
const alertCID = "cidAlertsGroup=="

// amAlert, amNotification and alertsEpoch: a notification as Alertmanager
// sends it, posted without running Alertmanager (alertmanagertest).
type amAlert = alertmanagertest.WebhookAlert

var (
	amNotification = alertmanagertest.Notification
	alertsEpoch    = alertmanagertest.Epoch
)

// texts are the messages' texts.
func texts(ms []dingtalktest.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}
