package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestTheRunningBuildIsShown: the version `recallbot version` prints is in
// the startup log line (with the console's URL), in /readyz, as
// recallbot_build_info on /metrics, in the console's status bar and in
// the chat's /status.
func TestTheRunningBuildIsShown(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	want := app.ReadBuild("")
	base := "http://" + h.app.HTTPAddr()

	var running map[string]any
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, `"recallbot running"`) {
			_ = json.Unmarshal([]byte(line), &running)
		}
	}
	if running["version"] != want.String() || running["console"] != base+"/ui/" {
		t.Errorf("the startup line: %v, want version %q and console %s/ui/", running, want.String(), base)
	}

	// The reply goes to the sender's 1:1 chat with the bot.
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: stranger, Text: "/status"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool {
		for _, c := range h.srv.Calls() {
			if c.Path == dingtalktest.PathOTOSend && strings.Contains(c.Request, "Version: "+want.String()) {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("/status in chat does not name the version %q: %v", want.String(), err)
	}
	get := func(c *http.Client, path string) string {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var ready struct{ Version string }
	if err := json.Unmarshal([]byte(get(http.DefaultClient, "/readyz")), &ready); err != nil || ready.Version != want.String() {
		t.Errorf("/readyz version %q (%v), want %q", ready.Version, err, want.String())
	}
	metric := `recallbot_build_info{revision="` + want.Revision + `",version="` + want.Version + `"} 1`
	if m := get(http.DefaultClient, "/metrics"); !strings.Contains(m, metric) {
		t.Errorf("/metrics lacks %s", metric)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"/ui/login", url.Values{"token": {testToken}, "name": {"alice"}, "next": {"/ui/audit"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `id="version" title="recallbot version">recallbot `+want.String()+`<`) {
		t.Errorf("the console's status bar does not show %q", want.String())
	}
}
