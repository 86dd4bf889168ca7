package app_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestConfirmation: a large recall, or one that reaches another chat, waits
// for the same admin's /confirm; the code recalls exactly what was
// previewed, once.
func TestConfirmation(t *testing.T) {
	t.Parallel()
	t.Run("flow", testConfirmFlow)
	t.Run("cross chat is decided by the messages", testCrossChatIsDecidedByTheMessages)
	t.Run("a code survives another admin trying it", testConfirmCodeSurvivesAnotherAdminsAttempt)
}

func testConfirmFlow(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(12)
	reply := h.say(admin, "/recall last 12")
	code := confirmCode(t, reply)
	if h.recalledCount() != 0 || !strings.Contains(reply, "12 would be recalled") {
		t.Fatalf("preview recalled something or says %q", reply)
	}
	h.notify(1) // a newer message: the confirmation must recall exactly the previewed set
	if reply := h.say(admin2, "/confirm "+code); !strings.Contains(reply, "is not yours") {
		t.Errorf("another admin's confirm: %q", reply)
	}
	if reply := h.say(admin, "/confirm "+strings.ToLower(code)); !strings.Contains(reply, "12 recalled") {
		t.Errorf("confirm: %q", reply)
	}
	if h.recalledCount() != 12 {
		t.Errorf("%d recalled, want exactly the 12 previewed", h.recalledCount())
	}
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "unknown or has expired") {
		t.Errorf("reuse: %q", reply)
	}
	// A code expires.
	h.notify(11)
	code = confirmCode(t, h.say(admin, "/recall last 11"))
	h.advance(3 * time.Minute)
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "unknown or has expired") {
		t.Errorf("expired: %q", reply)
	}
	// A recall that reaches another chat always asks, whatever the count
	// and whatever the words: "in" another chat, or a key of another
	// chat's message. The same chat named with "in" does not.
	const gid = "cidOtherGroup"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "another group")
	ge, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Group, ConversationID: gid}, dingtalk.Text("group notice"), recall.SendOptions{Origin: ledger.OriginAuto})
	if err != nil {
		t.Fatal(err)
	}
	if reply := h.say(admin, "/recall last 1 in "+gid); confirmCode(t, reply) == "" {
		t.Errorf("in another chat: %q", reply)
	}
	if reply := h.say(admin, "/recall "+ge.ProcessQueryKey); confirmCode(t, reply) == "" {
		t.Errorf("a key of another chat's message ran without /confirm: %q", reply)
	}
	if m, _ := h.srv.Message(ge.ProcessQueryKey); m.Recalled {
		t.Error("the other chat's message was recalled before /confirm")
	}
	if reply := h.say(admin, "/recall last 1 in "+privCID); !strings.Contains(reply, "1 recalled") {
		t.Errorf("in this chat: %q", reply)
	}
	// --dry-run never recalls.
	if reply := h.say(admin, "/recall last 2 --dry-run"); !strings.Contains(reply, "Preview") || strings.Contains(reply, "/confirm") {
		t.Errorf("dry run: %q", reply)
	}
}

// testCrossChatIsDecidedByTheMessages: /recall KEY typed in chat A for a
// message of group B needs /confirm like any other cross-chat recall.
func testCrossChatIsDecidedByTheMessages(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	const gid = "cidGroupB"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "group B")
	ge, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Group, ConversationID: gid}, dingtalk.Text("group B notice"), recall.SendOptions{Origin: ledger.OriginAuto})
	if err != nil {
		t.Fatal(err)
	}
	mine := h.notify(1)[0]
	reply := h.say(admin, "/recall "+ge.ProcessQueryKey+" "+mine.ProcessQueryKey)
	code := confirmCode(t, reply)
	if m, _ := h.srv.Message(ge.ProcessQueryKey); m.Recalled {
		t.Fatal("group B's message was recalled without /confirm")
	}
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "2 recalled") {
		t.Errorf("confirm: %q", reply)
	}
	// A key of a message in this very chat needs no confirmation.
	mine = h.notify(1)[0]
	if reply := h.say(admin, "/recall "+mine.ProcessQueryKey); !strings.Contains(reply, "1 recalled") {
		t.Errorf("same chat: %q", reply)
	}
}

// testConfirmCodeSurvivesAnotherAdminsAttempt: another admin sending the
// owner's code at the same moment never consumes or hides it.
func testConfirmCodeSurvivesAnotherAdminsAttempt(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	for round := range 15 {
		h.notify(11)
		code := confirmCode(t, h.say(admin, "/recall last 11"))
		before := len(h.botReplies(privCID))
		var wg sync.WaitGroup
		for _, who := range []string{admin2, admin} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: who, Text: "/confirm " + code})
			}()
		}
		wg.Wait()
		if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) >= before+2 }); err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range h.botReplies(privCID)[before:] {
			texts = append(texts, m.Text)
		}
		// The owner's confirmation always works; the other admin is told
		// the code is not theirs, or, once the owner used it, that it is gone.
		joined := strings.Join(texts, " | ")
		if !strings.Contains(joined, "11 recalled") || !strings.Contains(joined, "is not yours") && !strings.Contains(joined, "unknown or has expired") {
			t.Fatalf("round %d: %s", round, joined)
		}
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 100})
	for _, r := range recs {
		if r.Actor == admin2 && !r.Allowed && r.Why != "confirm_foreign" {
			t.Errorf("the other admin's attempt is audited as %q (%q)", r.Why, r.Note)
		}
	}
}
