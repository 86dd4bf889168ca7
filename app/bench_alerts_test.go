package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// stormQPS is the limit of the alert storm: DingTalk's 20 calls/s per app
// and API, x10, to keep the run short.
const stormQPS = 200

// stormGroups is how many alert groups fire at once.
const stormGroups = 1000

// BenchmarkAlertStorm: 1,000 alert groups fire at once, each notified
// twice in a row (it fires, then a second alert joins), through the bot's
// HTTP API, with the emulator's limit on (stormQPS per app and API, over
// any sliding second) and the bot paced for it. It measures the time until
// every group's card shows its latest state, against the ceiling the limit
// implies for the DingTalk calls made (x-ceiling); the calls, of which
// every one beyond one per group is an update a coalesced group did not
// need; the emulator's 403s; and how long the webhook's answer took (it
// never waits for DingTalk).
func BenchmarkAlertStorm(b *testing.B) {
	for range b.N {
		srv, bot := stormBot(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		var mu sync.Mutex
		var answers []time.Duration
		work := make(chan []string) // one group's notifications, in order, as Alertmanager sends them
		var wg sync.WaitGroup
		client := &http.Client{Timeout: time.Minute}
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for bodies := range work {
					for _, body := range bodies {
						req, _ := http.NewRequest(http.MethodPost, "http://"+bot.HTTPAddr()+"/v1/alerts/alertmanager", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+testToken)
						t0 := time.Now()
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							continue
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Errorf("notification answered %d", resp.StatusCode)
						}
						mu.Lock()
						answers = append(answers, time.Since(t0))
						mu.Unlock()
					}
				}
			}()
		}
		start := time.Now()
		for i := range stormGroups {
			name := fmt.Sprintf("Storm%04d", i)
			first := amAlert{Name: name, Instance: "db1", Summary: "disk 95% on db1"}
			second := amAlert{Name: name, Instance: "db2", Summary: "disk 91% on db2"}
			work <- []string{amNotification("db-oncall", name, first), amNotification("db-oncall", name, first, second)}
		}
		close(work)
		wg.Wait()
		if err := srv.WaitUntil(ctx, func() bool { return srv.CountCalls(dingtalktest.PathCardSend) >= stormGroups }); err != nil {
			b.Fatal(err)
		}
		if err := waitFor(ctx, func() bool {
			due, err := bot.Ledger.DueAlerts(ctx, 1)
			return err == nil && len(due) == 0
		}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		cancel()
		refused := refusals(srv, dingtalktest.PathCardSend) + refusals(srv, dingtalktest.PathCardUpdate)
		calls := srv.CountCalls(dingtalktest.PathCardSend) + srv.CountCalls(dingtalktest.PathCardUpdate) - refused
		c, _ := srv.Conversation(stormCID)
		cards, latest := 0, 0
		for _, m := range c.Messages {
			if m.Card != nil {
				cards++
				if strings.Contains(m.Text, "db2") {
					latest++
				}
			}
		}
		if cards != stormGroups || latest != stormGroups {
			b.Fatalf("%d cards, %d of them showing their group's latest state; want %d", cards, latest, stormGroups)
		}
		slices.Sort(answers)
		ceiling := float64(calls) / stormQPS
		b.ReportMetric(stormGroups, "groups")
		b.ReportMetric(float64(len(answers)), "notifications")
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(took.Seconds(), "s")
		b.ReportMetric(ceiling, "ceiling-s")
		b.ReportMetric(took.Seconds()/ceiling, "x-ceiling")
		b.ReportMetric(float64(refused), "403s")
		b.ReportMetric(stormQPS, "limit-qps")
		b.ReportMetric(float64(answers[len(answers)*99/100].Microseconds())/1000, "answer-p99-ms")
	}
}

const stormCID = "cidAlertStorm=="

// stormBot runs the bot with its HTTP API and alerts routed to stormCID,
// against an emulator whose limit is on (stormQPS, sliding), paced for it.
func stormBot(b *testing.B) (*dingtalktest.Server, *app.App) {
	srv, bot := benchBot(b, filepath.Join(b.TempDir(), "ledger.db"), stormQPS, func(cfg *config.Config) {
		cfg.HTTP = config.HTTP{Listen: "127.0.0.1:0", Token: testToken}
		cfg.Alerts.Routes = map[string]alerts.Target{"db-oncall": {Group: stormCID}}
	})
	if err := srv.AddConversation(stormCID, dingtalktest.KindGroup, "storm"); err != nil {
		b.Fatal(err)
	}
	return srv, bot
}
