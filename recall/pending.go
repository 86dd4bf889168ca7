package recall

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// A pending entry is a send whose outcome nobody heard: the process
// stopped mid-call, or DingTalk's answer was lost. The message may be in
// the chat without a key. An operator who learns the truth resolves the
// entry (Resolve); entries nobody resolves are closed as unknown once the
// recall window has passed (CloseStale), since nothing could recall them
// any more, so that the pending count only ever shows what is still
// worth an operator's attention.

// Resolution is an operator's verdict on a pending entry.
type Resolution struct {
	// To is sent (Key required: the message went out with that key),
	// send_failed (it never reached the chat) or unknown (nobody can tell).
	To  ledger.State
	Key string
	// Actor and Note go on the audit record.
	Actor, Note string
}

// Resolve settles a pending (or unknown) entry and audits it.
func (s *Sender) Resolve(ctx context.Context, id uint64, r Resolution) (ledger.Entry, error) {
	switch {
	case r.To == ledger.Sent && strings.TrimSpace(r.Key) == "":
		return ledger.Entry{}, &SelectionError{Msg: "resolving to sent needs the message's process_query_key", Zh: "标记为已发送需要提供消息 ID（process_query_key）"}
	case r.To == ledger.Sent && !dingtalk.WellFormedKey(r.Key):
		return ledger.Entry{}, &SelectionError{Msg: "that is not a process_query_key (DingTalk's keys are about 44 characters of letters, digits and +/=)", Zh: "这不是有效的消息 ID（process_query_key 通常是约 44 位的字母、数字和 +/=）"}
	case r.To != ledger.Sent && r.Key != "":
		return ledger.Entry{}, &SelectionError{Msg: "a process_query_key goes only with state sent", Zh: "只有标记为已发送时才提供消息 ID"}
	case r.To != ledger.Sent && r.To != ledger.SendFailed && r.To != ledger.Unknown:
		return ledger.Entry{}, &SelectionError{Msg: fmt.Sprintf("a pending entry resolves to sent, send_failed or unknown, not %q", r.To), Zh: "结果待定的记录只能标记为 sent、send_failed 或 unknown"}
	}
	old, err := s.led.Get(ctx, id)
	if err != nil {
		return ledger.Entry{}, err
	}
	if old.State != ledger.Pending && old.State != ledger.Unknown {
		w := stateWords[old.State]
		if w[0] == "" {
			w = [2]string{string(old.State), string(old.State)}
		}
		return ledger.Entry{}, &SelectionError{Msg: fmt.Sprintf("entry %d is %s, not pending: only a send whose outcome is pending or unknown can be resolved", id, QuoteName(w[1], "en")),
			Zh: fmt.Sprintf("记录 %d 已是%s，不是结果待定：只有结果待定或结果未知的记录可以标记", id, QuoteName(w[0], "zh"))}
	}
	reason := ResolvedReason(r.Actor, r.Note) // a code: words when read (ReasonWords)
	if r.To == ledger.Sent {
		reason = ""
	}
	e, err := s.led.Transition(ctx, id, ledger.Transition{To: r.To, Key: r.Key, Reason: reason, At: s.cfg.Now()})
	var te *ledger.TransitionError
	if errors.As(err, &te) {
		return ledger.Entry{}, transitionWords(te)
	}
	if err != nil {
		return ledger.Entry{}, err
	}
	outcome := string(r.To)
	if r.Key != "" {
		outcome += " with key " + r.Key
	}
	_, aerr := s.led.AppendAudit(ctx, ledger.AuditRecord{At: s.cfg.Now(), Actor: r.Actor, Action: "resolve", Allowed: true,
		About: &ledger.AuditAbout{Entry: id, Chat: &old.Chat}, Outcomes: map[string]string{fmt.Sprintf("#%d", id): outcome}, Note: r.Note})
	if aerr != nil {
		return e, fmt.Errorf("resolved, but not audited: %w", aerr)
	}
	return e, nil
}

// closeStep bounds one sweep of CloseStale.
const closeStep = 500

// CloseStale closes pending entries older than the recall window as
// unknown: nothing can recall them any more. It audits each sweep that
// closed something and returns how many it closed.
func (s *Sender) CloseStale(ctx context.Context) (int, error) {
	pending, err := s.led.InState(ctx, ledger.Pending, closeStep)
	if err != nil {
		return 0, err
	}
	now := s.cfg.Now()
	var changes []ledger.Change
	for _, e := range pending {
		if now.Sub(e.SentAt) > s.cfg.Window {
			changes = append(changes, ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.Unknown, At: now,
				Reason: "no answer from DingTalk was ever recorded; closed after the recall window"}})
		}
	}
	if len(changes) == 0 {
		return 0, nil
	}
	_, errs, err := s.led.TransitionAll(ctx, changes)
	if err != nil {
		return 0, err
	}
	outcomes := map[string]string{}
	for i, c := range changes {
		if errs[i] == nil {
			outcomes[fmt.Sprintf("#%d", c.ID)] = string(ledger.Unknown)
		}
	}
	if len(outcomes) > 0 {
		s.log.Warn("pending sends closed as unknown after the recall window", zap.Int("entries", len(outcomes)))
		_, err = s.led.AppendAudit(ctx, ledger.AuditRecord{At: now, Actor: "system", Action: "close_pending", Allowed: true,
			About: &ledger.AuditAbout{Count: len(outcomes)}, Why: "expired_pending", Outcomes: outcomes})
	}
	return len(outcomes), err
}

// stateWords are an entry's states in words (Chinese first): the state of
// one that cannot be resolved, and the state a resolve set (CountIn); a
// sentence shows no state's code.
var stateWords = map[ledger.State][2]string{
	ledger.Sent: {"已发送", "sent"}, ledger.SendFailed: {"发送失败", "send failed"}, ledger.Recalling: {"撤回中", "being recalled"},
	ledger.Recalled: {"已撤回", "recalled"}, ledger.RecallFailed: {"撤回失败", "recall failed"}, ledger.Expired: {"已过期", "expired"},
	ledger.Pending: {"结果待定", "pending"}, ledger.Unknown: {"结果未知", "unknown"},
}
