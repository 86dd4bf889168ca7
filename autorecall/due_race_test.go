package autorecall_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// tickingLedger is the fixture's ledger with the due worker's tick run the
// moment an entry becomes due: the worst moment a busy machine can pick.
type tickingLedger struct {
	*ledger.Bolt
	tick func(context.Context)
}

func (l *tickingLedger) Reschedule(ctx context.Context, id uint64, at time.Time) error {
	if err := l.Bolt.Reschedule(ctx, id, at); err != nil {
		return err
	}
	if !at.IsZero() && l.tick != nil {
		tick := l.tick
		l.tick = nil // once: the tick's own reschedules do not tick again
		tick(ctx)
	}
	return nil
}

// TestDueWorkerRightAfterTheCatchNamesTheRule: a recall rule catches a
// sent message and puts it on the due list; the due worker may tick at
// any moment after that, and its report to the admins still names the
// rule and what it found (it used to say "rule autorecall found a recall
// rule caught it" when the tick fell between the schedule and the record
// of the rule, which a loaded machine made common).
func TestDueWorkerRightAfterTheCatchNamesTheRule(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	cfg := autorecall.Config{Rules: []autorecall.Rule{{Name: "templates", Action: autorecall.Recall, Mode: autorecall.Enforce}},
		Admins: []string{admin}, Locale: "en", Now: f.clock.Now}
	led := &tickingLedger{Bolt: f.led}
	svc, err := autorecall.New(cfg, led, f.sender, f.engine, zap.NewNop(), f.metrics)
	if err != nil {
		t.Fatal(err)
	}
	led.tick = func(ctx context.Context) { svc.RecallDue(ctx) }
	e, err := f.sender.WithGuard(svc).Send(ctx(t), group, dingtalk.Text("on call: {{ .Name }}"), recall.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.RecallDue(ctx(t)) // the next tick: nothing left to do
	if m, _ := f.srv.Message(e.ProcessQueryKey); !m.Recalled {
		t.Error("the message is still in the chat")
	}
	reports := f.adminReports()
	if len(reports) != 1 || !strings.Contains(reports[0], "rule templates found an unrendered {{ }} template; 1 recalled") {
		t.Errorf("admin reports %q, want one naming rule templates", reports)
	}
	a, _ := f.led.Audit(ctx(t), ledger.AuditQuery{Limit: 5})
	if len(a) != 1 || a[0].Actor != "rule:templates" || a[0].Note != "an unrendered {{ }} template" {
		t.Errorf("audit %+v, want one record by rule:templates", a)
	}
}
