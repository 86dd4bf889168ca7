package dingtalktest_test

import (
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestHoldAnswersUntilReleased: a held send takes effect (DingTalk shows
// the message, its key is issued) and its caller hears nothing until the
// test releases it, however long that takes; then it gets that key.
func TestHoldAnswersUntilReleased(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{QPS: -1})
	if err := srv.AddConversation("cidHeld", dingtalktest.KindGroup, "held"); err != nil {
		t.Fatal(err)
	}
	o := srv.Options()
	client := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode}, nil)
	ctx := testContext(t)
	hold := srv.HoldAnswers(dingtalktest.PathGroupSend, 1)
	if a := srv.ArmedFaults(); len(a) != 1 || a[0].What != "answer held" || a[0].Target != dingtalktest.PathGroupSend {
		t.Errorf("armed faults %+v, want the hold", a)
	}
	type answer struct {
		key string
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		key, err := client.SendGroup(ctx, "cidHeld", dingtalk.Text("held"))
		answered <- answer{key, err}
	}()
	if err := hold.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := srv.BotMessages()
	if len(msgs) != 1 || srv.InFlight() != 1 {
		t.Fatalf("%d messages shown, %d calls in flight; want the held send applied and waiting", len(msgs), srv.InFlight())
	}
	select {
	case a := <-answered:
		t.Fatalf("answered before the release: %+v", a)
	default:
	}
	hold.Release()
	hold.Release()
	a := <-answered
	if a.err != nil || a.key != msgs[0].ProcessQueryKey {
		t.Errorf("after the release: %q, %v; want %q", a.key, a.err, msgs[0].ProcessQueryKey)
	}
	// The hold is spent: the next send is answered at once.
	if _, err := client.SendGroup(ctx, "cidHeld", dingtalk.Text("not held")); err != nil {
		t.Error(err)
	}
}
