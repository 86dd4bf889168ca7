package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Entries is `recallbot entries`: the entries that need attention,
// pending by default.
func Entries(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c := newCtl("entries", "entries [pending|recalling|recall_failed]", stdout, stderr)
	defer c.explain(&err)
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	state := "pending"
	switch len(pos) {
	case 0:
	case 1:
		state = pos[0]
	default:
		return usageError(c.fs, c.say("usage.one_state"))
	}
	a, err := c.bot.Entries(ctx, api.State(state))
	if err != nil {
		return err
	}
	if *c.asJSON {
		return c.printJSON(a)
	}
	if len(a.Entries) == 0 {
		fmt.Fprintln(stdout, c.say("entries.none", c.say("state."+state)))
		return nil
	}
	t := &table{}
	t.row(strings.Split(c.say("entries.cols"), "|")...)
	for _, e := range a.Entries {
		chat := ledger.Chat{Family: ledger.Family(e.Chat.Family), ConversationID: e.Chat.ConversationID, UserID: e.Chat.UserID}
		why := e.Explanation // the reason in the bot's words; an older bot's says none
		if why == "" {
			why = e.Reason
		}
		if why == "" && e.State == api.StatePending {
			why = c.say("reason.pending")
		}
		t.row(strconv.FormatUint(e.ID, 10), e.SentAt.Local().Format("01-02 15:04:05"), chatName(e, chat, c.locale()),
			recall.ActorWords(e.Actor, c.locale()), recall.PlainText(e.Excerpt), why)
	}
	return t.write(stdout)
}

// chatName is the entry's chat as the bot named it (by its title or
// whom it is with, in the bot's words), or by its id from a bot too old
// to say.
func chatName(e api.Entry, chat ledger.Chat, locale string) string {
	if e.ChatName != "" {
		return e.ChatName
	}
	return recall.ChatWords(chat, ledger.ChatInfo{}, locale)
}
