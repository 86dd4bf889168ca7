package app_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestConsoleResumesTheBreaker: the real bot's console shows the
// auto-recall breaker open after too many automatic recalls, and its
// Resume button closes it, audited as the operator.
func TestConsoleResumesTheBreaker(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.AutoRecall.SelfDestructEvery = 10 * time.Millisecond
		c.AutoRecall.MaxPerMinute = 1
		c.AutoRecall.Rules = []autorecall.Rule{{Name: "templates", Action: autorecall.Recall, Mode: autorecall.Enforce}}
	})
	for _, text := range []string{"on call: {{ .Name }}", "owner: ${OWNER}"} {
		if r, e := h.do("POST", "/v1/messages", testToken, `{"family":"private","conversation_id":"`+privCID+`","text":"`+text+`"}`); r.StatusCode != 200 {
			t.Fatalf("send: %d %v", r.StatusCode, e)
		}
	}
	if err := waitFor(h.ctx(), h.app.AutoRecall.Paused); err != nil {
		t.Fatal("the breaker never opened")
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := "http://" + h.app.HTTPAddr()
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	body := page(c.PostForm(base+"/ui/login", url.Values{"token": {testToken}, "name": {"alice"}, "next": {"/ui/audit"}}))
	csrf := regexp.MustCompile(`name="csrf" content="([0-9a-f]+)"`).FindStringSubmatch(body)
	if csrf == nil || !strings.Contains(body, `id="resume"`) || !strings.Contains(body, "Auto-recall paused") {
		t.Fatalf("the status bar does not show the open breaker: %s", body)
	}
	body = page(c.PostForm(base+"/ui/autorecall/resume", url.Values{"csrf": {csrf[1]}, "back": {"/ui/audit"}}))
	if h.app.AutoRecall.Paused() || !strings.Contains(body, "Auto-recall resumed.") || !strings.Contains(body, "Auto-recall running") {
		t.Errorf("after resume: paused %v, page %s", h.app.AutoRecall.Paused(), body)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10})
	found := false
	for _, r := range recs {
		found = found || r.Action == "autorecall.resume" && r.Actor == "api:alice" && r.Scope == "" // the breaker: a fact, said per locale
	}
	if !found {
		t.Errorf("the resume is not audited as api:alice: %+v", recs)
	}
}
