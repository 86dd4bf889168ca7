package cli

import (
	"bytes"
	"github.com/recallbot/recallbot/api"
	"strings"
	"testing"
	"time"
	"unicode"
)

// TestTableAlignsChineseByDisplayWidth: a table with Chinese text lines
// up on a terminal, where a Chinese character takes two columns, and no
// line ends with a space.
func TestTableAlignsChineseByDisplayWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"abc", 3}, {"运维值班群", 10}, {"db-7 磁盘 97%", 13}, {"（2 分钟）", 10}, {"✅ ok", 5}, {"e\u0301", 1}, {"", 0},
	} {
		if got := displayWidth(tc.s); got != tc.want {
			t.Errorf("displayWidth(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
	tb := &table{indent: "  "}
	tb.row("已撤回", "12-06 15:04", "[通知] 今晚值班：张三", "")
	tb.row("too old", "12-05 15:04", "db-7 disk at 97%", "read 1/3")
	tb.row("将撤回", "12-06 15:05", "发布推迟到明晚", "2 人已读")
	var b bytes.Buffer
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	col := func(line, cell string) int { return displayWidth(line[:strings.Index(line, cell)]) }
	for i, cells := range [][]string{{"12-06 15:04", "[通知]"}, {"12-05 15:04", "db-7"}, {"12-06 15:05", "发布"}} {
		if c1, c2 := col(lines[i], cells[0]), col(lines[i], cells[1]); c1 != col(lines[0], "12-06 15:04") || c2 != col(lines[0], "[通知]") {
			t.Errorf("line %d has its columns at %d and %d, not %d and %d:\n%s", i+1, c1, c2, col(lines[0], "12-06"), col(lines[0], "[通知]"), b.String())
		}
	}
	for _, l := range lines {
		if strings.TrimRight(l, " ") != l {
			t.Errorf("a line ends with a space: %q", l)
		}
	}
}

// TestReceiptInTheBotsLanguage: the CLI's own words follow the language
// the bot answered in, so a line never mixes two; calls are counted in
// the singular and plural they need.
func TestReceiptInTheBotsLanguage(t *testing.T) {
	r := api.Receipt{Summary: "1 条将被撤回", DryRun: true, Calls: 1, AuditID: 7}
	r.Items = append(r.Items, api.Item{Outcome: "would_recall", Excerpt: "**发布** 推迟", SentAt: time.Now()})
	var zh, en bytes.Buffer
	(&ctl{lang: "zh"}).printReceipt(&zh, r)
	if s := zh.String(); !strings.Contains(s, "预览（未撤回）：1 条将被撤回；1 次接口调用；审计记录 #7") || !strings.Contains(s, "将撤回") || strings.Contains(s, "**") || hasLatinWords(s, "would_recall", "preview", "API") {
		t.Errorf("in Chinese:\n%s", s)
	}
	r.Summary = "1 would be recalled"
	(&ctl{lang: "en"}).printReceipt(&en, r)
	if s := en.String(); !strings.Contains(s, "preview (nothing recalled): 1 would be recalled; 1 API call; audit #7") || strings.Contains(s, "would_recall") || strings.Contains(s, "(s)") {
		t.Errorf("in English:\n%s", s)
	}
	if strings.ContainsFunc(strings.ReplaceAll(en.String(), "发布 推迟", ""), func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		t.Errorf("English with Chinese words of the CLI's own:\n%s", en.String())
	}
}

func hasLatinWords(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// TestCLIWordsInEnglishUseASCIIPunctuation: the CLI's English words carry
// no full-width punctuation.
func TestCLIWordsInEnglishUseASCIIPunctuation(t *testing.T) {
	for k, w := range texts {
		if i := strings.IndexAny(w[1], "（）［］【】：；，。！？、"); i >= 0 {
			t.Errorf("%s: %q has full-width punctuation", k, w[1])
		}
	}
}

// TestPreviewSaysTimeLeft: a preview's table gives each message it would
// recall its time left in the recall window, as the chat's preview does
// (docs/commands.md promised it of both; the CLI showed none).
func TestPreviewSaysTimeLeft(t *testing.T) {
	r := api.Receipt{Summary: "1 条将被撤回", DryRun: true, Calls: 1}
	r.Items = append(r.Items, api.Item{Outcome: "would_recall", Excerpt: "发布推迟", SentAt: time.Now().Add(-time.Hour),
		RecallableUntil: time.Now().Add(23*time.Hour + 30*time.Minute)})
	var zh, en bytes.Buffer
	(&ctl{lang: "zh"}).printReceipt(&zh, r)
	(&ctl{lang: "en"}).printReceipt(&en, r)
	if !strings.Contains(zh.String(), "剩余 23 小时") || !strings.Contains(en.String(), "23 h") && !strings.Contains(en.String(), "23 hours") {
		t.Errorf("a preview without its time left:\n%s\n%s", zh.String(), en.String())
	}
}
