package recall

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// An alert command's audit record keeps the alert group it was about as a
// fact (AuditAbout.Alert) and its note in a fixed form the alerts package
// writes: "silence ID until RFC3339: comment" for a silence or an ack,
// "expired ID, ID" for an unsilence. Both are put in words here, when
// read. Records written before the fact carry "alert ID" as their scope,
// which is read the same way.

// alertScope is the alert a record is about in words, from its fact or
// from the scope an older record wrote; ok is false for other records.
func alertScope(alert, scope, action, locale string) (string, bool) {
	if alert == "" && strings.HasPrefix(action, "alert.") {
		alert, _ = strings.CutPrefix(scope, "alert ")
	}
	switch {
	case alert == "":
		return "", false
	case locale == "en":
		return "alert " + alert, true
	}
	return "告警 " + alert, true
}

// silenceNote is how the alerts package notes a silence it made.
var silenceNote = regexp.MustCompile(`^silence (\S+) until (\S+): (.*)$`)

// alertNote is an alert command's note in locale; a note of another form
// is returned as it is.
func alertNote(note, action, locale string) string {
	en := locale == "en"
	if !strings.HasPrefix(action, "alert.") {
		return note
	}
	if m := silenceNote.FindStringSubmatch(note); m != nil {
		until := m[2]
		if t, err := time.Parse(time.RFC3339, until); err == nil {
			until = t.Local().Format("2006-01-02 15:04")
		}
		switch {
		case en && m[3] == "":
			return fmt.Sprintf("silence %s until %s", m[1], until)
		case en:
			return fmt.Sprintf("silence %s until %s: %s", m[1], until, m[3])
		case m[3] == "":
			return fmt.Sprintf("静默 %s，至 %s", m[1], until)
		}
		return fmt.Sprintf("静默 %s，至 %s：%s", m[1], until, m[3])
	}
	if ids, ok := strings.CutPrefix(note, "expired "); ok && action == "alert.unsilence" {
		if en {
			return "ended silence " + ids
		}
		return "已结束静默 " + ids
	}
	return note
}

// factScope is the scope of the records whose scope is a fact, not what
// someone typed: a resume of the automatic recalls is about their circuit
// breaker, a frame the bot could not read is named by its Stream message
// id. Older records kept these as English words ("circuit breaker",
// "frame <id>"); they read in the reader's locale too.
func factScope(r ledger.AuditRecord, locale string) (string, bool) {
	en := locale == "en"
	switch {
	case r.Action == "autorecall.resume" && (r.Scope == "" || r.Scope == "circuit breaker"):
		if en {
			return "circuit breaker", true
		}
		return "熔断器", true
	case r.Action == "malformed_frame":
		id, old := strings.CutPrefix(r.Scope, "frame ")
		if r.About != nil && r.About.Frame != "" {
			id = r.About.Frame
		} else if !old {
			return "", false
		}
		if en {
			return "frame " + id, true
		}
		return "消息帧 " + id, true
	}
	return "", false
}
