package dingtalktest_test

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestFaultsTakeTheNamesTheConsoleShows: the control API arms a fault by
// the short name the emulator's console shows (groupMessages/send) as by
// its full path, and the fault fires on the next call; a name that matches
// no API is refused with 400 listing the names it takes, instead of being
// armed where it would never fire.
func TestFaultsTakeTheNamesTheConsoleShows(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	if err := srv.AddConversation("cidfault", dingtalktest.KindGroup, "fault group"); err != nil {
		t.Fatal(err)
	}
	o := srv.Options()
	send := `{"msgKey":"sampleText","msgParam":"{\"content\":\"hi\"}","openConversationId":"cidfault","robotCode":"` + o.RobotCode + `","coolAppCode":"` + o.CoolAppCode + `"}`

	for _, api := range []string{"groupMessages/send", "/v1.0/robot/groupMessages/send"} {
		status, body := post(t, srv.URL()+"/sim/v1/faults", "", `{"api":"`+api+`","kind":"qps","count":1}`)
		if status != 200 {
			t.Fatalf("arming %s: %d %s", api, status, body)
		}
		if status, body := post(t, srv.URL()+dingtalktest.PathGroupSend, tok, send); status != 403 {
			t.Errorf("the fault armed on %q did not fire: %d %s", api, status, body)
		}
	}
	if status, body := post(t, srv.URL()+dingtalktest.PathGroupSend, tok, send); status != 200 {
		t.Errorf("after the faults were used up: %d %s", status, body)
	}

	status, body := post(t, srv.URL()+"/sim/v1/faults", "", `{"api":"groupMessage/send","kind":"hang","count":5}`)
	if status != 400 || !strings.Contains(body, "groupMessages/send") || !strings.Contains(body, "privateChatMessages/batchRecall") {
		t.Errorf("an unknown api: %d %s", status, body)
	}
	if a := srv.ArmedFaults(); len(a) != 0 {
		t.Errorf("an unknown api was armed: %+v", a)
	}
}
