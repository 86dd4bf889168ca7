package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestStreamConnection: the bot follows its Stream connection: it
// reconnects, keeps answering, and readiness says whether it is up.
func TestStreamConnection(t *testing.T) {
	// Not parallel: it reads the Stream connection's state, which every
	// bot in this process shares (the SDK's log lines, the only signal, name
	// no connection), so another test's bot stopping would move it.
	t.Run("commands work after a disconnect", testCommandsWorkAfterDisconnect)
	t.Run("readiness follows the connection", testReadinessFollowsTheConnection)
}

func testCommandsWorkAfterDisconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the SDK's reconnect backoff")
	}
	h := start(t, dingtalktest.Options{DisconnectGrace: 500 * time.Millisecond})
	old := h.srv.Connections()[0].ID
	_ = h.srv.Disconnect(old)
	if err := h.srv.WaitUntil(h.ctx(), func() bool { c := h.srv.Connections(); return len(c) == 1 && c[0].ID != old }); err != nil {
		t.Fatal(err)
	}
	h.notify(1)
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Errorf("after reconnect: %q", reply)
	}
	if !h.app.Listener.Connected() {
		t.Error("readiness says disconnected")
	}
}

// testReadinessFollowsTheConnection also guards the SDK log formats the
// Listener relies on (see handlers/sdklog.go).
func testReadinessFollowsTheConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the SDK's reconnect backoff")
	}
	h := start(t, dingtalktest.Options{})
	if !h.app.Listener.Connected() || h.get("/readyz", "").StatusCode != 200 {
		t.Fatal("not ready while connected")
	}
	_ = h.srv.Kill(h.srv.Connections()[0].ID)
	if err := waitFor(h.ctx(), func() bool { return !h.app.Listener.Connected() }); err != nil {
		t.Fatalf("readiness did not notice the drop: %v", err)
	}
	if r := h.get("/readyz", ""); r.StatusCode != 503 {
		t.Errorf("/readyz = %d while disconnected", r.StatusCode)
	}
	if err := waitFor(h.ctx(), h.app.Listener.Connected); err != nil {
		t.Fatalf("readiness did not notice the reconnect: %v", err)
	}
}
