package demo

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoTranscriptReadsLikeAPerson: the demo's transcript, in Chinese
// and English, is text a person would write: no markdown marks, no
// full-width brackets in English, no ledger keys for chats, no trailing
// spaces, no path of the temporary ledger it deletes; and its dates agree
// with its words: the first 3 notices went out yesterday, the rest today.
func TestDemoTranscriptReadsLikeAPerson(t *testing.T) {
	for _, locale := range []string{"zh", "en"} {
		t.Run(locale, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			before := time.Now()
			var out bytes.Buffer
			if err := Run(context.Background(), Options{Locale: locale}, &out); err != nil {
				t.Fatalf("demo: %v\n%s", err, out.String())
			}
			after := time.Now()
			s := out.String()
			bad := map[string]*regexp.Regexp{
				"markdown marks":         regexp.MustCompile(`\*\*`),
				"a chat's ledger key":    regexp.MustCompile(`\b(private|group|oto):`),
				"a trailing space":       regexp.MustCompile(`(?m)[ \t]+$`),
				"the temporary ledger":   regexp.MustCompile(regexp.QuoteMeta(tmp) + `|recallbot-demo-|ledger\.db`),
				"full-width punctuation": regexp.MustCompile(`[［］（）＜＞＊＿｀＃｜！～]`),
			}
			if locale == "zh" {
				delete(bad, "full-width punctuation") // Chinese writes （）
			}
			for what, re := range bad {
				if loc := re.FindStringIndex(s); loc != nil {
					t.Errorf("%s at %q:\n%s", what, s[max(0, loc[0]-40):min(len(s), loc[1]+40)], s)
				}
			}
			narration := map[string]string{"zh": "前 3 条发于昨天", "en": "the first 3 went out yesterday"}[locale]
			_, sent, ok := strings.Cut(s, narration+"\n")
			if !ok {
				t.Fatalf("no %q in:\n%s", narration, s)
			}
			sent, _, _ = strings.Cut(sent, "\n\n")
			dates := regexp.MustCompile(`(?m)^  (\d\d-\d\d) \d\d:\d\d  `).FindAllStringSubmatch(sent, -1)
			if len(dates) != 7 {
				t.Fatalf("%d notices in the chat:\n%s", len(dates), sent)
			}
			today := dates[3][1]
			if today != before.Format("01-02") && today != after.Format("01-02") {
				t.Errorf("today's notices carry %s, not today's date", today)
			}
			yesterday := map[string]bool{before.AddDate(0, 0, -1).Format("01-02"): true, after.AddDate(0, 0, -1).Format("01-02"): true}
			for i, d := range dates {
				if i < 3 && !yesterday[d[1]] || i >= 3 && d[1] != today {
					t.Errorf("notice %d carries %s; the first 3 should carry yesterday's date, the rest today's:\n%s", i+1, d[1], sent)
				}
			}
			refused := map[string]string{"zh": "intern001    已拒绝 · 在会话「王经理 ↔ 李工」输入 /recall last 5", "en": "intern001    refused · /recall last 5 in the chat 王经理 ↔ 李工"}[locale]
			if !strings.Contains(s, refused) {
				t.Errorf("the audit lacks the refusal %q:\n%s", refused, s)
			}
			// The recall's line says what was asked and what became of it,
			// in the receipt's words, not a count beside the scope.
			recalled := map[string]string{"zh": "撤回 · 会话「王经理 ↔ 李工」最近 5 条：4 条已撤回，1 条超过 24 小时无法撤回",
				"en": "recall · the last 5 in the chat 王经理 ↔ 李工: 4 recalled, 1 too old"}[locale]
			if !strings.Contains(s, recalled) {
				t.Errorf("the audit lacks the recall %q:\n%s", recalled, s)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("the demo left %v in the temporary directory", left)
			}
		})
	}
}

// TestSceneOffset: whatever the time of day, the demo's first notices go
// out yesterday, more than a day before its end, and the rest today.
func TestSceneOffset(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	for _, now := range []time.Time{
		time.Date(2026, 11, 30, 15, 12, 0, 0, loc),
		time.Date(2026, 11, 30, 0, 3, 0, 0, loc),
		time.Date(2026, 11, 30, 0, 0, 0, 0, loc),
		time.Date(2026, 11, 30, 23, 59, 59, 0, loc),
		time.Date(2026, 3, 1, 0, 9, 0, 0, loc),
	} {
		start := now.Add(sceneOffset(now))
		later := start.Add(24*time.Hour + 5*time.Minute)
		end := later.Add(2 * time.Minute)
		yesterday := now.AddDate(0, 0, -1).Format("01-02")
		if start.Format("01-02") != yesterday || later.Format("01-02") != now.Format("01-02") || end.Sub(start) <= 24*time.Hour || end.Before(now) {
			t.Errorf("now %v: the scene runs from %v (then %v) to %v", now, start, later, end)
		}
	}
}
