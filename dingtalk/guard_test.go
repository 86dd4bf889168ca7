package dingtalk_test

import (
	"errors"
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestGuardSpeaksForItsCallOnly: a guard is checked once, for the call it
// was given for, just before that call's request; not for the access token
// the call fetches first (a broadcast's guard marks its step dispatched,
// which the token's request must not do). A guard's error stops the call
// before anything is written.
func TestGuardSpeaksForItsCallOnly(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	var checks []int // calls to the send API the emulator had seen at each check
	gctx := dingtalk.WithGuard(ctx(t), func() error {
		checks = append(checks, srv.CountCalls(dingtalktest.PathGroupSend))
		return nil
	})
	if _, err := c.SendGroup(gctx, "cidg", dingtalk.Text("first call: fetches the token")); err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 || srv.CountCalls(dingtalktest.PathAccessToken) != 1 {
		t.Errorf("guard checked %d times for one call (and its token)", len(checks))
	}
	stop := errors.New("stopped")
	_, err := c.SendGroup(dingtalk.WithGuard(ctx(t), func() error { return stop }), "cidg", dingtalk.Text("never sent"))
	if !errors.Is(err, stop) || !dingtalk.NotSent(err) || srv.CountCalls(dingtalktest.PathGroupSend) != 1 {
		t.Errorf("a guard's error: %v, %d sends", err, srv.CountCalls(dingtalktest.PathGroupSend))
	}
}
