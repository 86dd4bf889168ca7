package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/recallbot/recallbot/internal/didyoumean"
	"github.com/recallbot/recallbot/recall"
)

// UnknownCommand reports a command word that is not in table: it names
// the word and the nearest command when one is close (a typo, or the start
// of exactly one name), then where the commands are listed: the error
// first, not under twenty lines of usage.
func UnknownCommand(stderr io.Writer, word string, table []Command) error {
	zh := envLang(os.Getenv) == "zh"
	msg := fmt.Sprintf("unknown command %q", word)
	if zh {
		msg = fmt.Sprintf("没有%s这个命令", recall.QuoteValue(word, "zh"))
	}
	switch near := nearest(word, table); {
	case near != "" && zh:
		msg += fmt.Sprintf("；是要用%s吗？", recall.QuoteValue(near, "zh"))
	case near != "":
		msg += fmt.Sprintf("; did you mean %q?", near)
	}
	return usageLine(stderr, msg, "recallbot help")
}

// nearest is the command name word most likely meant, or "": the only
// name it starts, else the closest within two edits (one for short words).
func nearest(word string, table []Command) string {
	word = strings.ToLower(strings.TrimLeft(word, "-"))
	if word == "" {
		return ""
	}
	var prefixed []string
	best, bestDist := "", len(word)/3+1
	if bestDist > 2 {
		bestDist = 2
	}
	for _, c := range table {
		if strings.HasPrefix(c.Name, word) {
			prefixed = append(prefixed, c.Name)
		}
		if d := didyoumean.Distance(word, c.Name); d <= bestDist && (best == "" || d < didyoumean.Distance(word, best)) {
			best = c.Name
		}
	}
	if len(prefixed) == 1 && len(word) >= 2 {
		return prefixed[0]
	}
	return best
}
