package recall

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// An entry's Reason is a fact, as an audit record's is: a DingTalk error
// code, a code of the bot's own, or (in entries written before the codes)
// a fixed English sentence. ReasonWords puts it in words when someone
// reads it, in the reader's language.

// reasonResolved starts the reason of an entry an operator resolved:
// the code, then the actor and the operator's note, each quoted
// (resolved "api:ops" "not in the chat"), since an actor may hold a colon.
const reasonResolved = "resolved "

// ResolvedReason is the reason code of an entry actor resolved by hand,
// with the note they gave ("" for none).
func ResolvedReason(actor, note string) string {
	r := reasonResolved + strconv.Quote(actor)
	if note != "" {
		r += " " + strconv.Quote(note)
	}
	return r
}

// resolvedBy reads a resolved entry's reason: the code, or the English
// sentence entries carried before it ("resolved by api:ops: a note").
func resolvedBy(reason string) (actor, note string, ok bool) {
	if rest, found := strings.CutPrefix(reason, reasonResolved); found && strings.HasPrefix(rest, `"`) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return "", "", false
		}
		actor, _ = strconv.Unquote(q)
		rest = strings.TrimPrefix(rest[len(q):], " ")
		if rest != "" {
			if note, err = strconv.Unquote(rest); err != nil {
				return "", "", false
			}
		}
		return actor, note, true
	}
	if rest, found := strings.CutPrefix(reason, "resolved by "); found {
		actor, note, _ = strings.Cut(rest, ": ")
		return actor, note, true
	}
	return "", "", false
}

// fixedReasons are the sentences the bot writes as an entry's or an
// item's reason, Chinese first.
var fixedReasons = map[string][2]string{
	"past the recall window": {"已超过撤回时限", "past the recall window"},
	"no answer from DingTalk was ever recorded; closed after the recall window": {"从未收到钉钉的应答；超过撤回时限后已关闭", "no answer from DingTalk was ever recorded; closed after the recall window"},
	ledger.ReasonCancelled: {"未发送：群发已取消", ledger.ReasonCancelled},
	"no recipient reached: invalid, filtered or flow-controlled":                  {"没有送达任何接收人：无效、被过滤或被限流", "no recipient reached: invalid, filtered or flow-controlled"},
	"not sent: the ledger could not replicate the entry in time":                  {"未发送：账本未能及时复制这条记录", "not sent: the ledger could not replicate the entry in time"},
	"not sent: the ledger's answer to its append was lost":                        {"未发送：账本对写入的应答丢失了", "not sent: the ledger's answer to its append was lost"},
	"the ledger could not be updated":                                             {"账本无法更新", "the ledger could not be updated"},
	"recalled by another instance: this one stalled and its claim was taken over": {"已由另一实例撤回：本实例停顿，撤回被接管", "recalled by another instance: this one stalled and its claim was taken over"},
	"another instance took the claim over when this one stalled":                  {"本实例停顿时另一实例接管了撤回", "another instance took the claim over when this one stalled"},
}

// ReasonWords is an entry's or a receipt item's reason in locale ("en",
// or Chinese otherwise): the bot's own codes and sentences in words, a
// DingTalk code explained.
func ReasonWords(reason, locale string) string {
	en := locale == "en"
	if actor, note, ok := resolvedBy(reason); ok {
		who := ActorWords(actor, locale) // the code stays in the reason; people read words
		switch {
		case en && note != "":
			return fmt.Sprintf("resolved by %s: %s", who, note)
		case en:
			return "resolved by " + who
		}
		zh := "由" + latinApart(who) + "手动标记"
		if note != "" {
			zh += "：" + note
		}
		return zh
	}
	switch reason { // a broadcast's refusal of one person (ledger.Refusal)
	case "invalid", "filtered", "flow_controlled":
		return dingtalk.Describe(&dingtalk.RecipientError{Reason: reason}, locale)
	case "not_sent":
		if en {
			return "not sent"
		}
		return "未发送"
	}
	if w, ok := fixedReasons[reason]; ok {
		if en {
			return w[1]
		}
		return w[0]
	}
	return dingtalk.Explain(reason, locale)
}

// transitionWords is a state change the ledger refused, in both
// languages: the ledger says why in English, and the forms of its why are
// few, so the Chinese names the one it is.
func transitionWords(te *ledger.TransitionError) *SelectionError {
	zh := fmt.Sprintf("记录 %d 不能从「%s」改为「%s」：账本拒绝了这次更改，未做任何更改；请查看该记录现在的状态", te.ID, stateZh(te.From), stateZh(te.To))
	if other, ok := strings.CutPrefix(te.Why, "its processQueryKey already belongs to entry "); ok {
		zh = fmt.Sprintf("这个消息 ID 已属于记录 %s：记录 %d 未做更改", other, te.ID)
	} else if strings.HasPrefix(te.Why, "it is already ") {
		zh = fmt.Sprintf("记录 %d 刚刚已被改为「%s」（与这次的内容不同）：未做更改；请查看该记录现在的状态", te.ID, stateZh(te.To))
	}
	return &SelectionError{Msg: te.Error(), Zh: zh}
}

// stateZh is a ledger state in Chinese; one it does not know is shown as
// it is written.
func stateZh(s ledger.State) string {
	if w, ok := statesZh[s]; ok {
		return w
	}
	return string(s)
}

var statesZh = map[ledger.State]string{
	ledger.Pending: "结果待定", ledger.Sent: "已发送", ledger.SendFailed: "发送失败", ledger.Recalling: "撤回中",
	ledger.Recalled: "已撤回", ledger.RecallFailed: "撤回失败", ledger.Expired: "已超时", ledger.Unknown: "结果未知",
}
