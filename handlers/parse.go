// Package handlers turns DingTalk messages into recallbot's work: it parses
// chat commands, authorizes them, dispatches them to the recall engine and
// the ledger, and sends one reply. It is the only package that sees the
// Stream SDK's types (stream.go), and it serves the local HTTP API.
package handlers

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Verb is what a command asks for.
type Verb string

// The verbs.
const (
	VerbHelp    Verb = "help"
	VerbRecall  Verb = "recall"
	VerbConfirm Verb = "confirm"
	VerbSent    Verb = "sent"
	VerbAudit   Verb = "audit"
	VerbStatus  Verb = "status"
)

// Command is a parsed chat command.
type Command struct {
	Verb Verb
	// Recall: exactly one of Last, Since, BatchID, Keys.
	Last    int
	Since   time.Duration
	BatchID string
	Keys    []string
	// In and To widen a recall beyond the current chat: another
	// conversation, or a user's 1:1 chat with the bot.
	In, To string
	DryRun bool
	// Code is /confirm's code.
	Code string
	// N is /sent's and /audit's count (0: the default).
	N int
}

// CrossChat reports whether the command reaches beyond the chat it was
// typed in.
func (c Command) CrossChat() bool { return c.In != "" || c.To != "" || c.BatchID != "" }

// UsageError is a command that could not be understood; its message is
// shown to the user verbatim.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ErrNotACommand is text that is not a command at all.
var ErrNotACommand = errors.New("not a command")

var verbs = map[string]Verb{
	"help": VerbHelp, "帮助": VerbHelp, "?": VerbHelp,
	"recall": VerbRecall, "撤回": VerbRecall,
	"preview": VerbRecall, "预览": VerbRecall,
	"confirm": VerbConfirm, "确认": VerbConfirm,
	"sent": VerbSent, "已发送": VerbSent, "发送记录": VerbSent,
	"audit": VerbAudit, "审计": VerbAudit,
	"status": VerbStatus, "状态": VerbStatus,
}

var (
	wordLast   = map[string]bool{"last": true, "最近": true, "最后": true}
	wordSince  = map[string]bool{"since": true, "自": true, "以来": true}
	wordBatch  = map[string]bool{"batch": true, "批次": true}
	wordIn     = map[string]bool{"in": true, "在": true}
	wordTo     = map[string]bool{"to": true, "给": true}
	wordDryRun = map[string]bool{"--dry-run": true, "--preview": true, "预览": true, "-n": true}
	keyShape   = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{8,128}$`)
	idShape    = regexp.MustCompile(`^[^\s]{1,128}$`)
)

// maxCommandLen bounds what is parsed at all.
const maxCommandLen = 4096

// Parse reads a chat message. Case, extra spaces, full-width slashes and
// the space DingTalk leaves after an @-mention do not matter. Text that is
// not a command is ErrNotACommand; a command that cannot be understood is
// a *UsageError saying why.
func Parse(text string) (Command, error) {
	if len(text) > maxCommandLen {
		return Command{}, &UsageError{"the command is too long"}
	}
	name := commandWord(text) // "@recallbot /recall last 5" too
	if name == "" {
		return Command{}, ErrNotACommand
	}
	fields := strings.Fields(strings.ReplaceAll(text, "／", "/"))
	if strings.HasPrefix(fields[0], "@") {
		fields = fields[1:]
	}
	v, ok := verbs[name]
	if !ok {
		return Command{}, &UsageError{fmt.Sprintf("unknown command /%s", name)}
	}
	cmd := Command{Verb: v, DryRun: name == "preview" || name == "预览"}
	args := fields[1:]
	switch v {
	case VerbHelp, VerbStatus:
		return cmd, nil
	case VerbSent, VerbAudit:
		if len(args) > 1 {
			return Command{}, &UsageError{fmt.Sprintf("/%s takes at most one number", name)}
		}
		if len(args) == 1 {
			n, err := count(args[0])
			if err != nil {
				return Command{}, err
			}
			cmd.N = n
		}
		return cmd, nil
	case VerbConfirm:
		if len(args) != 1 {
			return Command{}, &UsageError{"/confirm takes the code from the preview, e.g. /confirm 4821"}
		}
		cmd.Code = strings.ToUpper(args[0])
		return cmd, nil
	}
	return parseRecall(cmd, args)
}

func parseRecall(cmd Command, args []string) (Command, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := strings.ToLower(args[i])
		switch {
		case wordDryRun[a]:
			cmd.DryRun = true
		case wordIn[a] || wordTo[a]:
			if i+1 >= len(args) || !idShape.MatchString(args[i+1]) {
				return Command{}, &UsageError{fmt.Sprintf("%q needs a conversation or staff id after it", args[i])}
			}
			if wordIn[a] {
				cmd.In = args[i+1]
			} else {
				cmd.To = args[i+1]
			}
			i++
		default:
			rest = append(rest, args[i])
		}
	}
	if cmd.In != "" && cmd.To != "" {
		return Command{}, &UsageError{`use "in CONVERSATION" or "to STAFF_ID", not both`}
	}
	if len(rest) == 0 {
		return Command{}, &UsageError{"say what to recall: /recall last 5, /recall since 30m, /recall batch ID or /recall KEY"}
	}
	head := strings.ToLower(rest[0])
	switch {
	case wordLast[head]:
		if len(rest) != 2 {
			return Command{}, &UsageError{"/recall last takes one number, e.g. /recall last 5"}
		}
		n, err := count(rest[1])
		if err != nil {
			return Command{}, err
		}
		cmd.Last = n
	case wordSince[head]:
		if len(rest) != 2 {
			return Command{}, &UsageError{"/recall since takes one duration, e.g. /recall since 30m"}
		}
		d, err := duration(rest[1])
		if err != nil {
			return Command{}, err
		}
		cmd.Since = d
	case wordBatch[head]:
		if len(rest) != 2 || !idShape.MatchString(rest[1]) {
			return Command{}, &UsageError{"/recall batch takes one batch id"}
		}
		cmd.BatchID = rest[1]
	default:
		if n, err := strconv.Atoi(head); err == nil && len(rest) == 1 { // "/撤回 5"
			if n < 1 {
				return Command{}, &UsageError{"the number of messages must be at least 1"}
			}
			cmd.Last = n
			break
		}
		for _, k := range rest {
			if !keyShape.MatchString(k) {
				return Command{}, &UsageError{fmt.Sprintf("%q is not a message key; try /recall last 5", k)}
			}
			cmd.Keys = append(cmd.Keys, k)
		}
	}
	if cmd.In != "" || cmd.To != "" {
		if cmd.BatchID != "" || len(cmd.Keys) > 0 {
			return Command{}, &UsageError{`"in" and "to" go with last N or since, not with keys or a batch`}
		}
	}
	return cmd, nil
}

// commandWord is a command's verb as typed, lower case, without the slash;
// "" when text is not a command.
func commandWord(text string) string {
	fields := strings.Fields(strings.ReplaceAll(text, "／", "/"))
	if len(fields) > 0 && strings.HasPrefix(fields[0], "@") {
		fields = fields[1:]
	}
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(fields[0], "/"))
}

// count parses a positive count.
func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, &UsageError{fmt.Sprintf("%q is not a number of messages (1 or more)", s)}
	}
	return n, nil
}

var cnDuration = strings.NewReplacer("分钟", "m", "分", "m", "小时", "h", "秒", "s")

// duration parses 30m, 2h, 1h30m, 30分钟, 2小时 and 1d / 1天.
func duration(s string) (time.Duration, error) {
	t := cnDuration.Replace(strings.ToLower(s))
	if n, ok := strings.CutSuffix(t, "天"); ok {
		t = n + "d"
	}
	if n, ok := strings.CutSuffix(t, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil {
			t = strconv.Itoa(days*24) + "h"
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil || d <= 0 {
		return 0, &UsageError{fmt.Sprintf("%q is not a duration such as 30m or 2h", s)}
	}
	return d, nil
}
