package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Entries is `recallbot entries`: the entries that need attention,
// pending by default.
func Entries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("entries", "entries [pending|recalling|recall_failed]", stdout, stderr)
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
		return usageError(c.fs, "name one state: pending, recalling or recall_failed")
	}
	var a struct {
		Entries []struct {
			ID     uint64    `json:"id"`
			SentAt time.Time `json:"sent_at"`
			Chat   struct {
				Family         string `json:"family"`
				ConversationID string `json:"conversation_id"`
				UserID         string `json:"user_id"`
			}
			Excerpt string `json:"excerpt"`
			Reason  string `json:"reason"`
			Actor   string `json:"actor"`
		} `json:"entries"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/v1/entries/"+url.PathEscape(state), nil, &a); err != nil || *c.asJSON {
		return err
	}
	if len(a.Entries) == 0 {
		fmt.Fprintln(stdout, c.say("entries.none", c.say("state."+state)))
		return nil
	}
	t := &table{}
	t.row(strings.Split(c.say("entries.cols"), "|")...)
	for _, e := range a.Entries {
		chat := ledger.Chat{Family: ledger.Family(e.Chat.Family), ConversationID: e.Chat.ConversationID, UserID: e.Chat.UserID}
		t.row(strconv.FormatUint(e.ID, 10), e.SentAt.Local().Format("01-02 15:04:05"), recall.ChatWords(chat, ledger.ChatInfo{}, c.locale()),
			e.Actor, recall.PlainText(e.Excerpt), e.Reason)
	}
	return t.write(stdout)
}
