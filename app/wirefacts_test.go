package app_test

import (
	"fmt"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestBroadcastRefusesFilteredPeople: people oToMessages/batchSend names
// in filteredStaffIdList got nothing. The broadcast counts them refused
// ("filtered"), like invalid ones, not reached (they used to be), and the
// packed key's recipients leave them out.
func TestBroadcastRefusesFilteredPeople(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	h.srv.FilterUser("u2")
	batch, st := h.broadcast(`{"user_ids":["u1","u2","u3"],"text":"all hands at 15:00"}`)
	refused := fmt.Sprint(st["refused"])
	if st["sent"] != 2.0 || st["failed"] != 1.0 || refused != "[map[reason:filtered target:u2]]" {
		t.Errorf("broadcast %s: sent %v, failed %v, refused %s; want 2, 1 and u2 filtered", batch, st["sent"], st["failed"], refused)
	}
	r, body := h.do("GET", "/v1/conversations/u2/messages?family=oto", testToken, "")
	if r.StatusCode != 200 || fmt.Sprint(body["messages"]) != "[]" {
		t.Errorf("u2's chat lists %d %v; the filtered person got nothing", r.StatusCode, body)
	}
	es, _ := h.app.Ledger.Batch(h.ctx(), batch)
	if len(es) != 1 || fmt.Sprint(es[0].Recipients) != "[u1 u3]" {
		t.Errorf("the batch's entries: %+v; want one key for u1 and u3", es)
	}
	if _, ok := h.srv.UserConversation("u2"); ok {
		t.Error("the emulator delivered to u2")
	}
}

// TestGroupCoolAppCodeIsSent: with dingtalk.group_cool_app_code set, a
// send into a group the bot was installed in through that group cool app
// goes through: groupMessages/send carries coolAppCode (it did not).
func TestGroupCoolAppCodeIsSent(t *testing.T) {
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.DingTalk.GroupCoolAppCode = "COOLAPP-G-9" })
	const gid = "cidCoolAppGroup"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "")
	if err := h.srv.RequireGroupCoolApp(gid, "COOLAPP-G-9"); err != nil {
		t.Fatal(err)
	}
	r, body := h.do("POST", "/v1/messages", testToken, `{"family":"group","conversation_id":"`+gid+`","text":"through the cool app"}`)
	if r.StatusCode != 200 {
		t.Errorf("send into a cool app group: %d %v", r.StatusCode, body)
	}
	if c, _ := h.srv.Conversation(gid); len(c.Messages) != 1 {
		t.Errorf("the group shows %d messages", len(c.Messages))
	}
}
