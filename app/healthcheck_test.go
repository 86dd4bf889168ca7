package app_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/cli"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestHealthcheck: "recallbot healthcheck" says ready (nil: exit 0) for a
// connected bot, and why not (an error: exit 1) for one that lost
// DingTalk or that does not answer at all.
func TestHealthcheck(t *testing.T) {
	// Not parallel: it sets RECALLBOT_API, which the command reads.
	h := start(t, dingtalktest.Options{})
	check := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(h.ctx(), append([]string{"healthcheck"}, args...), &out, &out)
		return out.String(), err
	}
	if out, err := check("-url", "http://"+h.app.HTTPAddr()+"/readyz"); err != nil || out != "ready\n" {
		t.Errorf("connected: %q %v", out, err)
	}
	t.Setenv("RECALLBOT_API", "http://"+h.app.HTTPAddr())
	if out, err := check(); err != nil || out != "ready\n" {
		t.Errorf("through RECALLBOT_API: %q %v", out, err)
	}
	h.app.Listener.Stop(context.Background()) // the bot stays up, without Stream
	if _, err := check(); err == nil || err.Error() != "not ready: not connected to DingTalk (Stream)" {
		t.Errorf("disconnected: %v", err)
	}
	closed := freeAddr(t)
	if _, err := check("-url", "http://"+closed+"/readyz"); err == nil || !strings.HasPrefix(err.Error(), "not ready: no answer from http://"+closed+"/readyz") {
		t.Errorf("nothing listening: %v", err)
	}
	var ue cli.UsageError
	if _, err := check("now"); !errors.As(err, &ue) {
		t.Errorf("an argument: %v", err)
	}
}
