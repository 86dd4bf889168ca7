package dingtalktest_test

import (
	"net/http"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestAddUser: a user added before saying anything has their 1:1 chat
// with the bot, once, and the control API finds it; their first message
// goes to it.
func TestAddUser(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	id, err := srv.AddUser("manager4220")
	if err != nil || id == "" {
		t.Fatalf("AddUser: %q %v", id, err)
	}
	if again, _ := srv.AddUser("manager4220"); again != id {
		t.Errorf("added twice: %q then %q", id, again)
	}
	if c, ok := srv.UserConversation("manager4220"); !ok || c.ID != id || c.Kind != dingtalktest.KindOTO {
		t.Errorf("UserConversation = %+v %v", c, ok)
	}
	resp, err := http.Get(srv.URL() + "/sim/v1/users/manager4220/conversation")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("control API: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "manager4220", Text: "/help"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := srv.Conversation(id); len(c.Messages) != 1 {
		t.Errorf("the first message went elsewhere: %+v", c)
	}
	if _, err := srv.AddUser(""); err == nil {
		t.Error("an empty user id was accepted")
	}
}
