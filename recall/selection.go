package recall

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

var randRead = rand.Read

// Selection says which messages to recall. Exactly one of Keys, Last,
// Since, BatchID or IDs is used; Last and Since need Chat. Matching narrows
// any of them to the messages whose text contains it (ignoring case; the
// ledger keeps a message's first 80 characters); with a Chat alone it
// selects the matching messages of that chat still within the recall
// window.
type Selection struct {
	Keys     []string
	Chat     ledger.Chat
	Last     int
	Since    time.Time
	BatchID  string
	IDs      []uint64
	Matching string
}

// SelectionError is a selection that cannot be carried out, in words.
type SelectionError struct {
	Msg string // English
	Zh  string // Chinese; "" falls back to Msg
}

func (e *SelectionError) Error() string { return e.Msg }

// In returns the message in locale ("en", or Chinese otherwise).
func (e *SelectionError) In(locale string) string {
	if locale != "en" && e.Zh != "" {
		return e.Zh
	}
	return e.Msg
}

// ErrEmptySelection is a selection that selects nothing at all.
var ErrEmptySelection = &SelectionError{Msg: "the selection is empty: give keys, last N in a chat, a time, or a batch id", Zh: "没有选择任何消息：请给出消息 ID、最近 N 条、时间或批次 ID"}

func (s Selection) validate(max int) error {
	set := 0
	for _, b := range []bool{len(s.Keys) > 0, s.Last != 0, !s.Since.IsZero(), s.BatchID != "", len(s.IDs) > 0} {
		if b {
			set++
		}
	}
	switch {
	case set == 0 && s.Matching != "" && s.Chat.Validate() != nil:
		return &SelectionError{Msg: "matching needs a chat, a time, keys or a batch to look in", Zh: "按内容撤回需要指定会话、时间、消息 ID 或批次"}
	case set == 0 && s.Matching == "":
		return ErrEmptySelection
	case set > 1:
		return &SelectionError{Msg: "give one of keys, last N, since, batch id or ids, not several", Zh: "消息 ID、最近 N 条、时间、批次只能选一种"}
	case s.Last < 0:
		return &SelectionError{Msg: fmt.Sprintf("last %d: N must be a positive number", s.Last), Zh: fmt.Sprintf("最近 %d 条：N 必须是正数", s.Last)}
	case s.Last > max || len(s.Keys) > max || len(s.IDs) > max:
		return &SelectionError{Msg: fmt.Sprintf("at most %d messages can be recalled at once", max), Zh: fmt.Sprintf("一次最多撤回 %d 条", max)}
	case len([]rune(s.Matching)) > 100:
		return &SelectionError{Msg: "the text to match is longer than 100 characters", Zh: "匹配的文字不能超过 100 个字"}
	case (s.Last != 0 || !s.Since.IsZero()) && s.Chat.Validate() != nil:
		return &SelectionError{Msg: "last N and since need a chat: name one (a conversation id, or a user for their 1:1 chat with the bot; in the CLI --chat, --group, --private or --user)",
			Zh: "最近 N 条和按时间撤回需要指定会话（会话 ID，或用户的单聊；命令行中用 --chat、--group、--private 或 --user）"}
	}
	for _, k := range s.Keys {
		if strings.TrimSpace(k) == "" {
			return &SelectionError{Msg: "an empty key was given", Zh: "消息 ID 不能为空"}
		}
	}
	return nil
}

// Describe is the selection in words, in "zh" or "en", for receipts: its
// chat named by kind and id (DescribeAbout names it by title).
func (s Selection) Describe(locale string) string { return DescribeAbout(*s.About(), locale, nil) }

// Outcome is what became of one selected message.
type Outcome string

// Outcomes, in the order receipts list them.
const (
	Recalled        Outcome = "recalled"
	WouldRecall     Outcome = "would_recall" // dry run
	AlreadyRecalled Outcome = "already_recalled"
	TooOld          Outcome = "too_old"
	Failed          Outcome = "failed"
	Unknown         Outcome = "unknown"       // the send never returned a key
	NeverSent       Outcome = "never_sent"    // DingTalk refused the send
	InProgress      Outcome = "in_progress"   // another recall holds it
	NotAttempted    Outcome = "not_attempted" // cancelled before its call
	NotFound        Outcome = "not_found"     // a key the ledger does not know
)

var outcomeOrder = []Outcome{Recalled, WouldRecall, AlreadyRecalled, TooOld, Failed, Unknown, NeverSent, InProgress, NotAttempted, NotFound}

// Item is one message of a receipt.
type Item struct {
	Entry   ledger.Entry `json:"entry,omitzero"`
	Key     string       `json:"process_query_key,omitempty"`
	Outcome Outcome      `json:"outcome"`
	// Reason is DingTalk's code or reason for a failure.
	Reason string `json:"reason,omitempty"`
	// Transient marks a failure that may pass (DingTalk unreachable or
	// erring, or an outcome that could not be confirmed): trying again
	// later may succeed. Other failures are DingTalk's final word.
	Transient bool `json:"transient,omitempty"`
	// Reads is who had read it when DingTalk was asked (AddReads); nil
	// when nobody asked.
	Reads *Reads `json:"reads,omitempty"`
}

// Receipt accounts for every selected message.
type Receipt struct {
	Scope  string `json:"scope"`
	DryRun bool   `json:"dry_run,omitempty"`
	Items  []Item `json:"items"`
	// Calls is the number of recall API calls made (or, for a dry run,
	// that would be made).
	Calls int `json:"calls"`
	// AuditID is the audit record of this attempt.
	AuditID uint64 `json:"audit_id,omitempty"`
	// Asked is N of a recall of the last N messages of a chat, so the
	// summary can say when fewer were found; 0 for other selections.
	Asked int `json:"asked,omitempty"`
	// Broadcast, for a recall of a batch sent as a broadcast, is what the
	// recall did to it: stopped it first, and waited for its calls on the
	// wire.
	Broadcast *BroadcastStop `json:"broadcast,omitempty"`
}

// Requested is the number of messages the selection named.
func (r *Receipt) Requested() int { return len(r.Items) }

// Count is the number of items with an outcome.
func (r *Receipt) Count(o Outcome) int {
	n := 0
	for _, it := range r.Items {
		if it.Outcome == o {
			n++
		}
	}
	return n
}

// People is how many people the items with an outcome reached in chats of
// their own: a packed oto key counts each of its recipients, and a group
// message counts nobody (a group is a group; Groups counts those).
func (r *Receipt) People(o Outcome) int {
	n := 0
	for _, it := range r.Items {
		if it.Outcome == o && it.Entry.Chat.Family != ledger.Group {
			n += it.Entry.Reach()
		}
	}
	return n
}

// Groups is how many groups the items with an outcome are in.
func (r *Receipt) Groups(o Outcome) int {
	seen := map[string]bool{}
	for _, it := range r.Items {
		if it.Outcome == o && it.Entry.Chat.Family == ledger.Group {
			seen[it.Entry.Chat.Key()] = true
		}
	}
	return len(seen)
}

// packed reports whether any item reached several people.
func (r *Receipt) packed() bool {
	for _, it := range r.Items {
		if it.Entry.Reach() > 1 {
			return true
		}
	}
	return false
}

// With returns the items with an outcome.
func (r *Receipt) With(o Outcome) []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Outcome == o {
			out = append(out, it)
		}
	}
	return out
}

var outcomeWords = map[Outcome][2]string{
	Recalled:        {"%d 条已撤回", "%d recalled"},
	WouldRecall:     {"%d 条将被撤回", "%d would be recalled"},
	AlreadyRecalled: {"%d 条此前已撤回", "%d already recalled"},
	TooOld:          {"%d 条超过 24 小时无法撤回", "%d too old"},
	Failed:          {"%d 条撤回失败", "%d failed"},
	Unknown:         {"%d 条发送结果未知（没有消息 ID）", "%d with no key (send outcome unknown)"},
	NeverSent:       {"%d 条当初未发送成功", "%d never sent"},
	InProgress:      {"%d 条正在由另一次撤回处理", "%d being recalled by another request"},
	NotAttempted:    {"%d 条未执行（已取消）", "%d not attempted (cancelled)"},
	NotFound:        {"%d 条不在发送记录中", "%d not in the ledger"},
}

// CountOutcomes counts outcomes as an audit record keeps them (by key:
// "recalled", "failed:<reason>"), for CountsIn.
func CountOutcomes(recorded map[string]string) map[Outcome]int {
	n := map[Outcome]int{}
	for _, o := range recorded {
		o, _, _ = strings.Cut(o, ":")
		o, _, _ = strings.Cut(o, " with key ") // a resolve's "sent with key K" counts as sent
		n[Outcome(o)]++
	}
	return n
}

// CountsIn is outcomes counted, in locale's words and the receipt's order:
// "4 条已撤回，1 条超过 24 小时无法撤回", "4 recalled, 1 too old". The chat's
// receipts, the CLI's and the console's audit trail all say a result with
// it, so one outcome reads the same everywhere.
func CountsIn(counts map[Outcome]int, locale string) string {
	var parts []string
	for _, o := range Present(counts) {
		parts = append(parts, CountIn(o, counts[o], locale))
	}
	if locale == "en" {
		return strings.Join(parts, ", ")
	}
	return strings.Join(parts, "，")
}

// Present are the outcomes counts holds, in the receipt's order, then
// the others (a resolve's new state, an outcome of a newer build) sorted.
func Present(counts map[Outcome]int) []Outcome {
	var known, odd []Outcome
	for _, o := range outcomeOrder {
		if counts[o] > 0 {
			known = append(known, o)
		}
	}
	for o, n := range counts {
		if _, ok := outcomeWords[o]; !ok && n > 0 {
			odd = append(odd, o)
		}
	}
	slices.Sort(odd)
	return append(known, odd...)
}

// Outcomes are the outcomes in the order a receipt lists them.
func Outcomes() []Outcome { return slices.Clone(outcomeOrder) }

// CountIn is n messages with outcome o in locale's words: "1 条已撤回",
// "1 recalled"; a ledger state, which a resolve record keeps as its
// outcome, reads as what was set: "1 条标记为发送失败", "1 marked send failed".
func CountIn(o Outcome, n int, locale string) string {
	w, ok := outcomeWords[o]
	if st, isState := stateWords[ledger.State(o)]; !ok && isState { // a resolve's outcome: the state it set
		w, ok = [2]string{"%d 条标记为" + st[0], "%d marked " + st[1]}, true
	}
	if !ok {
		return fmt.Sprintf("%d %s", n, o)
	}
	if locale == "en" {
		return fmt.Sprintf(w[1], n)
	}
	return fmt.Sprintf(w[0], n)
}

// Summary is the receipt in one phrase, to follow a title and its colon:
// "4 recalled, 1 too old (5 messages)" or "4 条已撤回，1 条超过 24 小时无法撤回
// （共 5 条）". The total is said only when it adds something: when the
// messages had several outcomes, or when a recall of the last N found
// fewer than N.
func (r *Receipt) Summary(locale string) string {
	en := locale == "en"
	counts := map[Outcome]int{}
	for _, it := range r.Items {
		counts[it.Outcome]++
	}
	s := CountsIn(counts, locale)
	switch n := r.Requested(); {
	case n == 0 && en:
		return "nothing to recall: " + r.Scope + " selects no messages" + r.Broadcast.words(locale)
	case n == 0:
		return "没有可撤回的消息" + r.Broadcast.words(locale)
	case r.Asked > n && en && n == 1:
		s += fmt.Sprintf(" (only 1 of the last %d is in the ledger)", r.Asked)
	case r.Asked > n && en:
		s += fmt.Sprintf(" (only %d of the last %d are in the ledger)", n, r.Asked)
	case r.Asked > n:
		s += fmt.Sprintf("（最近 %d 条中只有 %d 条有发送记录）", r.Asked, n)
	case len(counts) > 1 && en:
		s += " (" + plural(n, "message", "messages") + ")"
	case len(counts) > 1:
		s += fmt.Sprintf("（共 %d 条）", n)
	}
	return s + r.reach(locale) + r.Broadcast.words(locale)
}

// reach is how many people the receipt's messages reached and how many had
// read them, when that is more than the count says: some keys reached
// several people. The people are those of the messages recalled (or to
// be), or, once every one had been recalled before, of those.
func (r *Receipt) reach(locale string) string {
	en := locale == "en"
	s := ""
	if r.packed() {
		o := Recalled
		if r.DryRun {
			o = WouldRecall
		}
		if r.Count(o) == 0 {
			o = AlreadyRecalled
		}
		people, groups := r.People(o), r.Groups(o)
		switch {
		case groups > 0 && en:
			s = " · " + plural(groups, "group", "groups") + " and " + plural(people, "person", "people") + " in chats of their own"
		case groups > 0:
			s = fmt.Sprintf(" · %d 个群，以及单聊中的 %d 人", groups, people)
		case people > 0 && en:
			s = " · " + plural(people, "person", "people")
		case people > 0:
			s = fmt.Sprintf(" · 共 %d 人", people)
		}
	}
	if asked, read := r.ReadTotals(); asked > 0 { // a person reading two messages counts twice
		one := r.Requested() == 1
		switch {
		case en && one && r.DryRun:
			s += fmt.Sprintf(" · %d had read it so far", read)
		case en && one:
			s += fmt.Sprintf(" · %d had read it before the recall", read)
		case en && r.DryRun:
			s += " · " + plural(read, "read", "reads") + " so far"
		case en:
			s += " · " + plural(read, "read", "reads") + " before the recall"
		case one && r.DryRun:
			s += fmt.Sprintf(" · 目前 %d 人已读", read)
		case one:
			s += fmt.Sprintf(" · 撤回前 %d 人已读", read)
		case r.DryRun:
			s += fmt.Sprintf(" · 目前共 %d 人次已读", read) // 人次: a person who read two counts twice
		default:
			s += fmt.Sprintf(" · 撤回前共 %d 人次已读", read)
		}
	}
	return s
}

// words is what a recall did to a broadcast, for the receipt's summary:
// nothing when it had ended by itself.
func (b *BroadcastStop) words(locale string) string {
	if b == nil || !b.Stopped {
		return ""
	}
	s := fmt.Sprintf("; the broadcast was stopped first: %d people were never sent to", b.NotSent)
	if locale != "en" {
		s = fmt.Sprintf("；已先停止群发：%d 人未发送", b.NotSent)
	}
	if b.Unanswered > 0 && locale == "en" {
		s += ", " + plural(b.Unanswered, "call", "calls") + " on the wire got no answer"
	} else if b.Unanswered > 0 {
		s += fmt.Sprintf("，%d 次发送调用没有应答", b.Unanswered)
	}
	return s
}

// stopFacts is what a recall did to a broadcast, in its audit note: the
// people never sent to and the calls that got no answer. They are facts,
// put in words when the record is read (stopWords).
const stopFacts = "broadcast_stopped:%d/%d"

// facts is b as stopFacts, or "" when the recall stopped nothing.
func (b *BroadcastStop) facts() string {
	if b == nil || !b.Stopped {
		return ""
	}
	return fmt.Sprintf(stopFacts, b.NotSent, b.Unanswered)
}

// stopWords finds stopFacts at the end of an audit note and puts them in
// locale's words (as the receipt said them); rest is the note before
// them. ok is false for a note without them.
func stopWords(note, locale string) (rest, words string, ok bool) {
	i := strings.LastIndex(note, "broadcast_stopped:")
	if i < 0 {
		return note, "", false
	}
	b := BroadcastStop{Stopped: true}
	if n, _ := fmt.Sscanf(note[i:], stopFacts, &b.NotSent, &b.Unanswered); n != 2 || fmt.Sprintf(stopFacts, b.NotSent, b.Unanswered) != note[i:] {
		return note, "", false
	}
	return strings.TrimSuffix(note[:i], "; "), b.words(locale), true
}

// IsSelectionError reports whether err is a problem with the selection
// itself, to be shown to the person who made it.
func IsSelectionError(err error) bool {
	var se *SelectionError
	return errors.As(err, &se)
}
