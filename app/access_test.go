package app_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestAccess: who may do what, and what a refusal writes: a non-admin's
// admin verbs are refused and audited in the access trail, and a flood of
// unauthenticated requests writes a bounded trail.
func TestAccess(t *testing.T) {
	t.Parallel()
	t.Run("a non-admin is refused and audited", testNonAdminIsRefusedAndAudited)
	t.Run("admin verbs of a non-admin are audited", testNonAdminAdminVerbsAreAudited)
	t.Run("an unauthenticated flood is bounded", testUnauthenticatedFloodIsBounded)
}

func testNonAdminIsRefusedAndAudited(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Commands.Burst = 10 }) // types faster than the default budget

	h.notify(2)
	reply := h.say(stranger, "/recall last 2")
	if !strings.Contains(reply, "only admins may recall") || h.recalledCount() != 0 {
		t.Errorf("reply %q, %d recalled", reply, h.recalledCount())
	}
	if reply := h.say(stranger, "/audit"); !strings.Contains(reply, "only admins") {
		t.Errorf("audit for a stranger: %q", reply)
	}
	// Refusals go to the access trail; the recall trail keeps the recalls.
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10, Trail: ledger.TrailAccess})
	if len(recs) != 2 || recs[0].Allowed || recs[0].Actor != stranger || recs[0].Action != "denied" {
		t.Errorf("access trail = %+v", recs)
	}
	if recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10}); len(recs) != 0 {
		t.Errorf("refusals in the recall trail: %+v", recs)
	}
	// Everyone may ask for help and see what the bot sent.
	if reply := h.say(stranger, "/help"); strings.Contains(reply, "/recall last 5") || !strings.Contains(reply, "/sent") {
		t.Errorf("help for a stranger: %q", reply)
	}
	if reply := h.say(stranger, "/sent 3"); !strings.Contains(reply, "notice 2") {
		t.Errorf("sent: %q", reply)
	}
}

// testUnauthenticatedFloodIsBounded: a flood of requests without a token,
// with long paths, writes a bounded amount to the access trail, none to
// the recall trail, and never pushes real records out of /audit; oversized
// URLs and headers are refused before anything is written.
func testUnauthenticatedFloodIsBounded(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(2)
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Fatal(reply)
	}
	size := func() int64 {
		fi, _ := os.Stat(h.app.Config.Ledger.Path)
		return fi.Size()
	}
	before := size()
	path := "/v1/messages/" + strings.Repeat("x", 1000)
	c := &http.Client{}
	for i := range 1500 {
		req, _ := http.NewRequest("GET", "http://"+h.app.HTTPAddr()+path+fmt.Sprint(i), nil)
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		if r.StatusCode != 401 {
			t.Fatalf("status %d", r.StatusCode)
		}
	}
	h.advance(2 * time.Minute) // the minute is over: its summary is written
	h.app.API.FlushDenied(h.ctx())
	access, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 100, Trail: ledger.TrailAccess})
	// Per minute: the first refusal written, the rest counted in one
	// summary. (The flood may cross a minute boundary on a slow machine:
	// then two minutes, four records.)
	counted := 0
	for _, r := range access {
		if r.About != nil && r.About.Count > 0 { // a minute's summary
			counted += r.About.Count
		} else {
			counted++
			if len(r.Scope) > 200 {
				t.Errorf("a record keeps %d bytes of the path", len(r.Scope))
			}
		}
	}
	if len(access) != 2 && len(access) != 4 || counted != 1500 {
		t.Errorf("access trail: %d records counting %d refusals: %+v", len(access), counted, access)
	}
	if grew := size() - before; grew > 256<<10 {
		t.Errorf("the ledger grew by %d bytes", grew)
	}
	if reply := h.say(admin, "/audit 1"); !strings.Contains(reply, admin+" recall") {
		t.Errorf("/audit lost the real record: %q", reply)
	}
	req, _ := http.NewRequest("GET", "http://"+h.app.HTTPAddr()+"/v1/audit?"+strings.Repeat("a", 3000), nil)
	if r, err := c.Do(req); err != nil || r.StatusCode != http.StatusRequestURITooLong {
		t.Errorf("long URL: %v %v", r, err)
	}
	req, _ = http.NewRequest("GET", "http://"+h.app.HTTPAddr()+"/v1/audit", nil)
	req.Header.Set("X-Junk", strings.Repeat("j", 32<<10))
	if r, err := c.Do(req); err != nil || r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("large header: %v %v", r, err)
	}
}

// testNonAdminAdminVerbsAreAudited: every attempt of an admin verb by
// someone who is not an admin is refused and audited, malformed or not.
func testNonAdminAdminVerbsAreAudited(t *testing.T) {
	t.Parallel()
	tries := []string{"/recall", "/recall last abc", "/confirm", "/audit 1", "/撤回 最近 x", "/preview last 2"}
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Commands.Burst = len(tries) }) // faster than the default budget
	h.notify(1)
	for _, text := range tries {
		if reply := h.say(stranger, text); !strings.Contains(reply, "only admins") {
			t.Errorf("%q: %q", text, reply)
		}
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 20, Trail: ledger.TrailAccess})
	denied := 0
	for _, r := range recs {
		if r.Action == "denied" && r.Actor == stranger && !r.Allowed {
			denied++
		}
	}
	if denied != len(tries) {
		t.Errorf("%d denied attempts audited, want %d: %+v", denied, len(tries), recs)
	}
}
