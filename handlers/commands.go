package handlers

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
	"go.uber.org/zap"
)

func (b *Bot) help(_ context.Context, req *request) (string, error) {
	s := say(b.cfg.Locale, "help.all")
	if b.isAdmin(req.msg.SenderStaffID) {
		s += say(b.cfg.Locale, "help.admin", recall.HumanDuration(b.cfg.ConfirmTTL, b.cfg.Locale))
	}
	return s + b.alertHelp(req.msg.SenderStaffID), nil
}

// selection turns a recall command into a selection, resolving "in" and
// "to" to a chat.
func (b *Bot) selection(ctx context.Context, req *request) (recall.Selection, error) {
	c := req.cmd
	chat := req.chat
	switch {
	case c.To != "":
		chat = ledger.Chat{Family: ledger.OTO, UserID: c.To}
	case c.In != "":
		found := false
		for _, f := range []ledger.Family{ledger.Group, ledger.Private} {
			cand := ledger.Chat{Family: f, ConversationID: c.In}
			if es, err := b.led.List(ctx, ledger.Query{Chat: cand, Limit: 1}); err == nil && len(es) > 0 {
				chat, found = cand, true
				break
			}
		}
		if !found {
			return recall.Selection{}, &UsageError{Msg: say("en", "no.chat", c.In), Zh: say("zh", "no.chat", c.In)}
		}
	}
	switch {
	case c.Last > 0:
		if c.Last > b.cfg.MaxLast {
			return recall.Selection{}, &UsageError{Msg: say("en", "max.last", b.cfg.MaxLast), Zh: say("zh", "max.last", b.cfg.MaxLast)}
		}
		return recall.Selection{Chat: chat, Last: c.Last, Matching: c.Matching}, nil
	case c.Since > 0:
		return recall.Selection{Chat: chat, Since: b.cfg.Now().Add(-c.Since), Matching: c.Matching}, nil
	case c.BatchID != "":
		return recall.Selection{BatchID: c.BatchID, Matching: c.Matching}, nil
	case len(c.Keys) > 0:
		return recall.Selection{Keys: c.Keys, Matching: c.Matching}, nil
	}
	return recall.Selection{Chat: chat, Matching: c.Matching}, nil // matching alone
}

// confirmation is what /confirm will recall: exactly the previewed entries;
// for a batch, the batch (its broadcast is stopped first, and what it sent
// since the preview goes too).
type confirmation struct {
	Admin    string             `json:"admin"`
	IDs      []uint64           `json:"ids"`
	Scope    string             `json:"scope"`
	About    *ledger.AuditAbout `json:"about,omitempty"` // the previewed selection, for the audit record
	Expires  time.Time          `json:"expires"`
	Reads    bool               `json:"reads,omitempty"` // ask who has read them before the recall
	Batch    string             `json:"batch,omitempty"`
	Matching string             `json:"matching,omitempty"`
}

func (b *Bot) recall(ctx context.Context, req *request) (string, error) {
	sel, err := b.selection(ctx, req)
	if err != nil {
		return "", err
	}
	loc := b.cfg.Locale
	actor := req.msg.SenderStaffID
	plan, err := b.engine.Plan(ctx, sel)
	if err != nil {
		return "", err
	}
	plan.Scope = b.describe(ctx, req, sel.About()) // "this group", not its key
	if plan.Requested() == 0 {
		return say(loc, "nothing", md(b.describe(ctx, req, sel.About()))), nil
	}
	would := plan.Count(recall.WouldRecall)
	needsConfirm := would > 0 && (would > b.cfg.ConfirmAbove || reachesBeyond(plan, req.chat))
	reads := would > 0 && (req.cmd.Reads || would <= b.cfg.ReadsUpTo)
	if req.cmd.DryRun || needsConfirm {
		if !req.once.now(ctx, req) {
			return "", nil // a repeated delivery: no second code, no reply
		}
		if reads {
			b.addReads(ctx, plan, req)
		}
		r, err := b.engine.Execute(ctx, recall.Request{Selection: sel, Actor: actor, DryRun: true}, plan)
		if err != nil {
			return "", err
		}
		text := say(loc, "preview", r.Summary(loc), calls(loc, "api", r.Calls)) + "\n\n" + b.itemLines(r.Items)
		if n, people := othersReached(r, sel.Chat, req.chat); n > 0 {
			text += othersText(loc, n, people)
		}
		if !reads && would > 0 {
			text += readsHint(loc, would, b.cfg.QPS)
		}
		if !req.cmd.DryRun {
			code, err := b.newConfirmation(ctx, actor, r, reads, sel)
			if err != nil {
				return "", err
			}
			if chats := elsewhere(r, req.chat); len(chats) > 0 { // say where, and why it asks
				text += elsewhereText(loc, b.chatNames(ctx, req.chat, chats), chats)
			}
			text += say(loc, "confirm.ask", code, recall.HumanDuration(b.cfg.ConfirmTTL, loc))
		}
		return text, nil
	}
	if reads {
		b.addReads(ctx, plan, req)
	}
	r, err := b.engine.Execute(ctx, recall.Request{Selection: sel, Actor: actor, Once: req.once.handOff()}, plan)
	if !req.once.settle(err) {
		return "", nil // a repeated delivery: it ran already
	}
	if err != nil {
		return "", err
	}
	return b.receiptText(r), nil
}

// reachesBeyond reports whether a plan would recall a message of another
// chat than the one the command was typed in: decided by the messages
// themselves, whatever the command's words (a key typed in chat A may
// belong to group B).
func reachesBeyond(plan *recall.Receipt, here ledger.Chat) bool {
	for _, it := range plan.Items {
		if it.Outcome == recall.WouldRecall && (it.Entry.Chat.Key() != here.Key() || it.Entry.Reach() > 1) {
			return true
		}
	}
	return false
}

// othersReached says how many of a plan's messages also reached people
// outside the chat the recall aims at (one key packed for several users),
// and how many: the chat named by "to" or "in" when the selection has one
// (a command typed in a group about intern001 takes a message back from
// intern001 and the others), else the chat the command was typed in.
func othersReached(plan *recall.Receipt, target, typedIn ledger.Chat) (messages, people int) {
	here := typedIn
	if target.Validate() == nil {
		here = target
	}
	for _, it := range plan.Items {
		if it.Outcome != recall.WouldRecall || it.Entry.Reach() < 2 {
			continue
		}
		messages++
		people += it.Entry.Reach()
		for _, c := range it.Entry.Chats() {
			if c.Key() == here.Key() {
				people--
			}
		}
	}
	return messages, people
}

// elsewhere are the chats other than the one here that a plan would
// recall messages of (a packed key's people aside: othersText says those).
func elsewhere(plan *recall.Receipt, here ledger.Chat) []ledger.Chat {
	var out []ledger.Chat
	seen := map[string]bool{here.Key(): true}
	for _, it := range plan.Items {
		if c := it.Entry.Chat; it.Outcome == recall.WouldRecall && it.Entry.Reach() < 2 && !seen[c.Key()] {
			seen[c.Key()] = true
			out = append(out, c)
		}
	}
	return out
}

// elsewhereText names the chats a recall typed here would reach into, and
// says that is why it asks for a confirmation.
func elsewhereText(locale string, names recall.Names, chats []ledger.Chat) string {
	var named []string
	for _, c := range chats {
		named = append(named, md(names(c)))
	}
	if locale == "en" {
		return say(locale, "confirm.elsewhere", strings.Join(named, ", "))
	}
	return say(locale, "confirm.elsewhere", recall.AfterHan(strings.Join(named, "、")))
}

// othersText is the warning that a recall takes packed messages back from
// other people too, in words that agree with both numbers.
func othersText(locale string, messages, people int) string {
	if locale != "en" {
		return say(locale, "others", messages, people)
	}
	it := "them"
	if messages == 1 {
		it = "it"
	}
	return fmt.Sprintf(texts["others"][1], messages, it, it, recall.Plural(people, "other person", "other people"))
}

func (b *Bot) receiptText(r *recall.Receipt) string {
	s := say(b.cfg.Locale, "receipt", r.Summary(b.cfg.Locale)) + "\n\n" + b.itemLines(r.Items)
	if _, read := r.ReadTotals(); read > 0 && r.Count(recall.Recalled) > 0 { // taken back, but seen
		s += say(b.cfg.Locale, "reads.undone")
	}
	return s
}

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I

func newCode() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b[:])
}

// addReads asks who has read the plan's messages; a failure costs the
// counts, never the recall.
func (b *Bot) addReads(ctx context.Context, plan *recall.Receipt, req *request) {
	if err := b.engine.AddReads(ctx, plan); err != nil {
		req.log.Warn("read status not fetched", zap.Error(err))
	}
}

func (b *Bot) newConfirmation(ctx context.Context, admin string, r *recall.Receipt, reads bool, sel recall.Selection) (string, error) {
	c := confirmation{Admin: admin, Scope: r.Scope, About: sel.About(), Expires: b.cfg.Now().Add(b.cfg.ConfirmTTL), Reads: reads}
	if sel.BatchID != "" {
		c.Batch, c.Matching = sel.BatchID, sel.Matching
	}
	for _, it := range r.With(recall.WouldRecall) {
		c.IDs = append(c.IDs, it.Entry.ID)
	}
	v, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	code := newCode()
	return code, b.led.PutTemp(ctx, "confirm", code, v, b.cfg.ConfirmTTL)
}

func (b *Bot) confirm(ctx context.Context, req *request) (string, error) {
	loc := b.cfg.Locale
	me := req.msg.SenderStaffID
	var c confirmation
	mine := func(v []byte) bool { // only its owner consumes a code
		c = confirmation{}
		return json.Unmarshal(v, &c) == nil && c.Admin == me && b.cfg.Now().Before(c.Expires)
	}
	_, found, taken, err := b.led.TakeTempIf(ctx, "confirm", req.cmd.Code, mine)
	if err != nil {
		return "", err
	}
	switch {
	case found && !taken && c.Admin != "" && c.Admin != me:
		// Someone else's code: refused and audited, left intact for its owner.
		b.auditRefused(ctx, req, b.log, "", "confirm_foreign")
		return say(loc, "confirm.who", md(req.cmd.Code)), nil
	case !taken:
		return say(loc, "confirm.none", md(req.cmd.Code)), nil
	}
	cr := recall.Request{Selection: recall.Selection{IDs: c.IDs, Matching: c.Matching}, Batch: c.Batch, Actor: me, Scope: c.Scope, About: c.About, Note: "/confirm " + req.cmd.Code}
	plan, err := b.engine.Plan(ctx, cr.Selection)
	if err != nil {
		return "", err
	}
	if c.Reads {
		b.addReads(ctx, plan, req)
	}
	r, err := b.engine.Execute(ctx, cr, plan)
	if err != nil {
		return "", err
	}
	return b.receiptText(r), nil
}

// maxLines bounds the messages listed in one reply.
const maxLines = 20

var outcomeMarks = map[recall.Outcome]string{
	recall.Recalled: "✅", recall.WouldRecall: "🔸", recall.AlreadyRecalled: "☑️", recall.TooOld: "⌛",
	recall.Failed: "❌", recall.Unknown: "❔", recall.NeverSent: "➖", recall.InProgress: "⏳",
	recall.NotAttempted: "⏸", recall.NotFound: "❓",
}

func (b *Bot) itemLines(items []recall.Item) string {
	loc := b.cfg.Locale
	var lines []string
	now := b.cfg.Now()
	for i, it := range items {
		if i == maxLines {
			lines = append(lines, say(loc, "more", len(items)-maxLines))
			break
		}
		line := outcomeMarks[it.Outcome] + " "
		if it.Entry.ID != 0 {
			line += it.Entry.SentAt.Local().Format("01-02 15:04") + " · " + b.quote(recall.PlainText(it.Entry.Excerpt))
		} else {
			line += md(it.Key)
		}
		if it.Reads != nil {
			line += " · " + it.Reads.Words(loc)
		}
		switch {
		case it.Outcome == recall.WouldRecall:
			if left := it.Entry.SentAt.Add(b.cfg.Window).Sub(now); left > 0 {
				line += " · " + say(loc, "left", recall.HumanDuration(left, loc))
			}
		case it.Outcome == recall.TooOld:
			line += " · " + say(loc, "too.old")
		case it.Reason != "" && it.Outcome != recall.Recalled:
			line += " · " + recall.ReasonWords(it.Reason, loc)
		}
		lines = append(lines, "- "+line)
	}
	return strings.Join(lines, "\n")
}

// inTheChat are the states of a message that is, or may be, in the chat:
// every state but send_failed. /sent lists the bot's messages in the chat,
// and a send known never to have arrived is not one; the console and the
// CLI's entries show it to those who look after failed sends.
var inTheChat = []ledger.State{ledger.Pending, ledger.Sent, ledger.Unknown, ledger.Recalling, ledger.Recalled, ledger.RecallFailed, ledger.Expired}

func (b *Bot) sent(ctx context.Context, req *request) (string, error) {
	n := min(max(req.cmd.N, 10), 50)
	if req.cmd.N > 0 {
		n = min(req.cmd.N, 50)
	}
	es, err := b.led.List(ctx, ledger.Query{Chat: req.chat, Limit: n, SkipOrigin: ledger.OriginCommand, States: inTheChat})
	if err != nil {
		return "", err
	}
	loc, now, admin := b.cfg.Locale, b.cfg.Now(), b.isAdmin(req.msg.SenderStaffID)
	if len(es) == 0 {
		return say(loc, "sent.none"), nil
	}
	lines := []string{say(loc, "sent.head", len(es)), ""}
	for i, e := range es {
		state := stateWord(loc, string(e.State))
		if e.State.Recallable() && now.Sub(e.SentAt) > b.cfg.Window {
			state = stateWord(loc, "too_old")
		}
		excerpt := b.quote(recall.PlainText(e.Excerpt))
		if e.State == ledger.Recalled && !admin {
			// What was taken back is not shown again to everyone in the chat.
			excerpt = say(loc, "withheld")
		}
		lines = append(lines, fmt.Sprintf("%d. %s · %s · %s", i+1, e.SentAt.Local().Format("01-02 15:04"), state, excerpt))
	}
	return strings.Join(lines, "\n"), nil
}

func (b *Bot) audit(ctx context.Context, req *request) (string, error) {
	n := 10
	if req.cmd.N > 0 {
		n = min(req.cmd.N, 50)
	}
	recs, err := b.led.Audit(ctx, ledger.AuditQuery{Limit: n})
	if err != nil {
		return "", err
	}
	loc := b.cfg.Locale
	if len(recs) == 0 {
		return say(loc, "audit.none"), nil
	}
	lines := []string{say(loc, "audit.head", len(recs)), ""}
	var chats []ledger.Chat
	for _, r := range recs {
		if r.About != nil && r.About.Chat != nil {
			chats = append(chats, *r.About.Chat)
		}
	}
	names := b.chatNames(ctx, req.chat, chats)
	for _, r := range recs {
		scope, note := recall.AuditWords(r, loc, names)
		line := fmt.Sprintf("- #%d %s %s %s · %s", r.ID, r.At.Local().Format("01-02 15:04"), b.quote(recall.ActorWords(r.Actor, loc)), recall.ActionWords(r.Action, loc), b.quote(scope))
		if !r.Allowed {
			line += " ⛔"
		}
		if note != "" && !r.Allowed {
			line += " · " + b.quote(note)
		}
		if len(r.Outcomes) > 0 { // the receipt's own words, in the bot's language
			line += " · " + recall.CountsIn(recall.CountOutcomes(r.Outcomes), loc)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), nil
}

func (b *Bot) statusReply(ctx context.Context, _ *request) (string, error) {
	c, err := b.led.Counts(ctx)
	if err != nil {
		return "", err
	}
	loc := b.cfg.Locale
	conn := say(loc, "down")
	if b.cfg.Connected() {
		conn = say(loc, "up")
	}
	s := say(loc, "status", conn, c.Total(), c[ledger.Pending], c[ledger.Recalling], c[ledger.RecallFailed])
	if b.cfg.Version != "" {
		s += "\n- " + say(loc, "status.version", b.cfg.Version)
	}
	if b.cfg.AlertStatus != nil {
		if line := b.cfg.AlertStatus(loc); line != "" {
			s += "\n- " + line
		}
	}
	return s, nil
}

// readsHint is the hint to ask who has read the would messages first,
// with its cost at qps: "them" for several, "it" for one.
func readsHint(loc string, would int, qps float64) string {
	n, took := recall.ReadCost(would, qps)
	key := "reads.hint"
	if would == 1 {
		key = "reads.hint.one"
	}
	return say(loc, key, calls(loc, "query", n), recall.HumanDuration(max(took, time.Second), loc))
}
