package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/internal/onelanguage"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestAlertAuditReadsInTheReadersLanguage: a silence and an unsilence
// made from chat are audited as facts (the alert's shown id, the silence
// in a fixed form), and read as "告警 X" with a Chinese note under zh and
// as "alert X" under en, whichever language the chat spoke; a record
// written before the fact ("alert X" as its scope) reads the same.
func TestAlertAuditReadsInTheReadersLanguage(t *testing.T) {
	ctx := context.Background()
	webAM, web := latency("web", "w1")
	f := newSilenceFixture(t, "", webAM)
	id := f.group(t, webChat, web)
	if _, err := f.act.Silence(ctx, ActionRequest{Chat: webChat, Target: id, Duration: time.Hour, Comment: "换硬盘", Who: "u1", Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.act.Unsilence(ctx, ActionRequest{Chat: webChat, Target: id, Who: "u1", Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	recs, err := f.led.Audit(ctx, ledger.AuditQuery{Limit: 5})
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit: %+v, %v", recs, err)
	}
	recs = append(recs, ledger.AuditRecord{Actor: "u1", Action: "alert.ack", Allowed: true, Scope: "alert " + id,
		Note: "silence s-1 until 2026-01-02T03:04:05Z: 我来看"})
	for _, r := range recs {
		scope, note := recall.AuditWords(r, "zh", nil)
		if scope != "告警 "+id || onelanguage.EnglishRun(note) != "" || strings.Contains(note, "expired") || strings.Contains(note, "until") {
			t.Errorf("%s under zh: scope %q, note %q", r.Action, scope, note)
		}
		if scope, note = recall.AuditWords(r, "en", nil); scope != "alert "+id || strings.ContainsAny(note, "静告") {
			t.Errorf("%s under en: scope %q, note %q", r.Action, scope, note)
		}
	}
}
