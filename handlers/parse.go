// Package handlers runs recallbot's chat commands: it parses what a user
// typed (/recall last 5, /撤回 最近 5, /confirm CODE …), authorizes it,
// runs it once per DingTalk msgId against the recall engine and the
// ledger, and sends one reply, in Chinese or English.
package handlers

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	// Matching narrows a recall to messages whose text contains it.
	Matching string
	DryRun   bool
	// Reads asks DingTalk who has read each message (one query call per
	// message): "/preview last 5 reads", "/撤回 最近 5 条 已读".
	Reads bool
	// Code is /confirm's code.
	Code string
	// N is /sent's and /audit's count (0: the default).
	N int
	// Target, For and Comment are an alert verb's alert ID, silence
	// duration and reason (handlers/alerts.go).
	Target  string
	For     time.Duration
	Comment string
}

// UsageError is a command that could not be understood; its message is
// shown to the user verbatim, in the bot's language.
type UsageError struct {
	Msg string // English
	Zh  string // Chinese; "" falls back to Msg
}

func (e *UsageError) Error() string { return e.Msg }

// In returns the message in locale ("en", or Chinese otherwise).
func (e *UsageError) In(locale string) string {
	if locale != "en" && e.Zh != "" {
		return e.Zh
	}
	return e.Msg
}

// usage builds a UsageError from an English and a Chinese format.
func usage(en, zh string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(en, args...), Zh: fmt.Sprintf(zh, args...)}
}

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
	wordMatch  = map[string]bool{"matching": true, "match": true, "包含": true, "匹配": true}
	wordDryRun = map[string]bool{"--dry-run": true, "--preview": true, "预览": true, "-n": true}
	wordReads  = map[string]bool{"reads": true, "read": true, "--read-status": true, "已读": true}
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
		return Command{}, usage("the command is too long", "命令太长")
	}
	name := commandWord(text) // "@recallbot /recall last 5" too
	if name == "" {
		return Command{}, ErrNotACommand
	}
	fields := tokens(strings.ReplaceAll(text, "／", "/"))
	if len(fields) > 0 && strings.HasPrefix(fields[0], "@") {
		fields = fields[1:]
	}
	// Quotes can join what white space split: `@"bot /recall"` is one
	// token here, so the command word found above is not a command.
	if len(fields) == 0 || strings.ToLower(strings.TrimPrefix(fields[0], "/")) != name {
		return Command{}, ErrNotACommand
	}
	v := verbOf(name)
	if v == "" {
		return Command{}, usage("unknown command /%s", "未知命令 /%s", name)
	}
	cmd := Command{Verb: v, DryRun: name == "preview" || name == "预览"}
	args := fields[1:]
	switch v {
	case VerbHelp, VerbStatus:
		return cmd, nil
	case VerbSent, VerbAudit:
		if len(args) > 1 {
			return Command{}, usage("/%s takes at most one number", "/%s 最多带一个数字", name)
		}
		if len(args) == 1 {
			n, err := count(args[0])
			if err != nil {
				return Command{}, err
			}
			cmd.N = n
		}
		return cmd, nil
	case VerbSilence, VerbAck, VerbUnsilence:
		return parseAlert(cmd, name, args)
	case VerbConfirm:
		if len(args) != 1 {
			return Command{}, usage("/confirm takes the code from the preview, e.g. /confirm 4821", "/confirm 后面跟预览中的确认码，例如 /confirm 4821")
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
		case wordReads[a]:
			cmd.Reads = true
		case wordMatch[a]:
			if i+1 >= len(args) || strings.TrimSpace(args[i+1]) == "" {
				return Command{}, usage(`%q needs the text to look for after it, e.g. /recall matching "db-7"`, `「%s」后面需要要查找的文字，例如 /recall matching "db-7"`, args[i])
			}
			if utf8.RuneCountInString(args[i+1]) > 100 {
				return Command{}, usage("the text to match is longer than 100 characters", "匹配的文字不能超过 100 个字")
			}
			cmd.Matching = args[i+1]
			i++
		case wordIn[a] || wordTo[a]:
			if i+1 >= len(args) || !idShape.MatchString(args[i+1]) {
				return Command{}, usage("%q needs a conversation or staff id after it", "「%s」后面需要会话 ID 或员工 ID", args[i])
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
		return Command{}, usage(`use "in CONVERSATION" or "to STAFF_ID", not both`, "in 会话ID 与 to 员工ID 只能用一个")
	}
	if len(rest) == 0 && cmd.Matching != "" {
		return cmd, nil // matching alone: in this chat (or "in"/"to"), within the recall window
	}
	if len(rest) == 0 {
		return Command{}, usage("say what to recall: /recall last 5, /recall since 30m, /recall batch ID or /recall KEY", "请说明撤回哪些消息：/recall last 5、/recall since 30m、/recall batch 批次ID 或 /recall 消息ID")
	}
	head := strings.ToLower(rest[0])
	switch {
	case wordLast[head]:
		if len(rest) != 2 {
			return Command{}, usage("/recall last takes one number, e.g. /recall last 5", "/recall last 后面跟一个数字，例如 /recall last 5")
		}
		n, err := count(rest[1])
		if err != nil {
			return Command{}, err
		}
		cmd.Last = n
	case wordSince[head]:
		if len(rest) != 2 {
			return Command{}, usage("/recall since takes one duration, e.g. /recall since 30m", "/recall since 后面跟一个时长，例如 /recall since 30m")
		}
		d, err := duration(rest[1])
		if err != nil {
			return Command{}, err
		}
		cmd.Since = d
	case wordBatch[head]:
		if len(rest) != 2 || !idShape.MatchString(rest[1]) {
			return Command{}, usage("/recall batch takes one batch id", "/recall batch 后面跟一个批次 ID")
		}
		cmd.BatchID = rest[1]
	default:
		if n, err := strconv.Atoi(head); err == nil && len(rest) == 1 { // "/撤回 5"
			if n < 1 {
				return Command{}, usage("the number of messages must be at least 1", "消息条数至少为 1")
			}
			cmd.Last = n
			break
		}
		for _, k := range rest {
			if !keyShape.MatchString(k) {
				return Command{}, usage("%q is not a message key; try /recall last 5", "「%s」不是消息 ID；试试 /recall last 5", k)
			}
			cmd.Keys = append(cmd.Keys, k)
		}
	}
	if cmd.In != "" || cmd.To != "" {
		if cmd.BatchID != "" || len(cmd.Keys) > 0 {
			return Command{}, usage(`"in" and "to" go with last N or since, not with keys or a batch`, "in 和 to 只能与 last N 或 since 一起使用")
		}
	}
	return cmd, nil
}

// quotePairs are the quotes that keep words together in a command:
// /recall matching "disk full".
var quotePairs = map[rune]rune{'"': '"', '“': '”', '「': '」', '\'': '\''}

// tokens splits text on white space, except inside quotes, which it drops.
func tokens(text string) []string {
	var out []string
	var cur strings.Builder
	var close rune
	inToken := false
	for _, r := range text {
		switch {
		case close != 0 && r == close:
			close = 0
		case close != 0:
			cur.WriteRune(r)
		case quotePairs[r] != 0:
			close, inToken = quotePairs[r], true
		case unicode.IsSpace(r):
			if inToken {
				out = append(out, cur.String())
				cur.Reset()
				inToken = false
			}
		default:
			cur.WriteRune(r)
			inToken = true
		}
	}
	if inToken {
		out = append(out, cur.String())
	}
	return out
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
		return 0, usage("%q is not a number of messages (1 or more)", "「%s」不是有效的消息条数（至少 1）", s)
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
		return 0, usage("%q is not a duration such as 30m or 2h", "「%s」不是有效时长，例如 30m 或 2h", s)
	}
	return d, nil
}
