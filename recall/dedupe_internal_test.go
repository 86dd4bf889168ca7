package recall

import (
	"slices"
	"testing"

	"github.com/recallbot/recallbot/ledger"
)

// TestRepeatsKeepTheFirstOfEachChat: a chat given again, in any order, is
// a repeat; its first occurrence is not. An oto chat is its user alone.
func TestRepeatsKeepTheFirstOfEachChat(t *testing.T) {
	u := func(id, cid string) ledger.Chat {
		return ledger.Chat{Family: ledger.OTO, UserID: id, ConversationID: cid}
	}
	g := func(cid string) ledger.Chat { return ledger.Chat{Family: ledger.Group, ConversationID: cid} }
	p := func(cid string) ledger.Chat { return ledger.Chat{Family: ledger.Private, ConversationID: cid} }
	chats := []ledger.Chat{u("b", ""), g("c1"), u("a", ""), u("b", "cid-x"), p("c1"), g("c1"), u("a", ""), u("c", "")}
	set := repeats(chats)
	var got []int
	for i := range chats {
		if repeated(set, i) {
			got = append(got, i)
		}
	}
	if want := []int{3, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("repeats at %v, want %v", got, want)
	}
	var steps [][]ledger.Chat
	for st := range broadcastSteps(chats, set) {
		steps = append(steps, st)
	}
	if len(steps) != 3 || len(steps[2]) != 3 || steps[0][0] != g("c1") || steps[1][0] != p("c1") || steps[2][1].UserID != "a" {
		t.Errorf("steps %v", steps)
	}
}
