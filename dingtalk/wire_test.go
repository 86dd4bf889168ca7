package dingtalk_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestFilteredRecipientsAreNotReached: oToMessages/batchSend's
// filteredStaffIdList (docs/dingtalk.md §3) names people who got nothing:
// they are not reached, and a one-user send to such a person is a
// RecipientError "filtered", like an invalid one. They used to be counted
// as reached.
func TestFilteredRecipientsAreNotReached(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	srv.FilterUser("hidden")
	users := []string{"alice", "hidden", "bob"}
	r, err := c.SendOTOMany(ctx(t), users, dingtalk.Text("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Reached(users), ","); got != "alice,bob" || len(r.Filtered) != 1 || r.Filtered[0] != "hidden" {
		t.Errorf("reached %s, filtered %v; want alice,bob and [hidden]", got, r.Filtered)
	}
	if _, ok := srv.UserConversation("hidden"); ok {
		t.Error("the emulator delivered to a filtered user")
	}
	_, err = c.SendOTO(ctx(t), "hidden", dingtalk.Text("x"))
	var re *dingtalk.RecipientError
	if !errors.As(err, &re) || re.Reason != "filtered" || !strings.Contains(dingtalk.Describe(err, "en"), "filtered") {
		t.Errorf("SendOTO to a filtered user = %v (%s)", err, dingtalk.Describe(err, "en"))
	}
}

// TestGroupSendCarriesTheGroupCoolAppCode: a bot installed in a group
// through a group cool app must send coolAppCode with groupMessages/send;
// the client sends GroupCoolAppCode when one is configured, and only then.
func TestGroupSendCarriesTheGroupCoolAppCode(t *testing.T) {
	srv, plain := setup(t, dingtalktest.Options{})
	if err := srv.RequireGroupCoolApp("cidg", "COOLAPP-G-1"); err != nil {
		t.Fatal(err)
	}
	_, err := plain.SendGroup(ctx(t), "cidg", dingtalk.Text("x"))
	var ae *dingtalk.APIError
	if !errors.As(err, &ae) || ae.Code != "invalidParameter.robotCode.coolApp" {
		t.Errorf("a send without the code: %v", err)
	}
	if last, _ := srv.LastCall(dingtalktest.PathGroupSend); strings.Contains(last.Request, "coolAppCode") {
		t.Errorf("a client without a group cool app code sent one: %s", last.Request)
	}
	o := srv.Options()
	cool := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode, GroupCoolAppCode: "COOLAPP-G-1", Timeout: 2 * time.Second, QPS: 1000}, nil)
	if _, err := cool.SendGroup(ctx(t), "cidg", dingtalk.Text("x")); err != nil {
		t.Errorf("a send with the code: %v", err)
	}
	if last, _ := srv.LastCall(dingtalktest.PathGroupSend); !strings.Contains(last.Request, `"coolAppCode":"COOLAPP-G-1"`) {
		t.Errorf("request %s", last.Request)
	}
}

// TestGroupQueryCodes: groupMessages/query answers an unknown chat with
// invalid.openConversationId, and neither openConversationId nor token
// with openConversationId.notExisted (the emulator had them swapped), and
// each is explained as what it means.
func TestGroupQueryCodes(t *testing.T) {
	_, c := setup(t, dingtalktest.Options{})
	key, err := c.SendGroup(ctx(t), "cidg", dingtalk.Text("x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ conv, code, words string }{
		{"cidNoSuchGroup", "invalid.openConversationId", "not valid"},
		{"", "openConversationId.notExisted", "neither"},
	} {
		_, err := c.QueryGroup(ctx(t), tc.conv, key)
		var ae *dingtalk.APIError
		if !errors.As(err, &ae) || ae.Code != tc.code || !strings.Contains(dingtalk.Describe(err, "en"), tc.words) {
			t.Errorf("QueryGroup(%q) = %v (%s); want %s explained with %q", tc.conv, err, dingtalk.Describe(err, "en"), tc.code, tc.words)
		}
	}
	if st, err := c.QueryGroup(ctx(t), "cidg", key); err != nil || st.SendStatus != dingtalk.StatusSuccess {
		t.Errorf("QueryGroup of the group = %+v, %v", st, err)
	}
}

// TestQueryNotReadyForAFreshKey: with Options.QueryNotReadyFor the query
// APIs answer a key sent moments ago with processQueryKey.expireTime, as
// DingTalk may ("not generated yet, or expired"), then its status.
func TestQueryNotReadyForAFreshKey(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{QueryNotReadyFor: time.Minute})
	kg, _ := c.SendGroup(ctx(t), "cidg", dingtalk.Text("x"))
	ko, _ := c.SendOTO(ctx(t), "alice", dingtalk.Text("x"))
	check := func(want string) {
		t.Helper()
		_, gerr := c.QueryGroup(ctx(t), "cidg", kg)
		_, oerr := c.QueryOTO(ctx(t), ko)
		for _, err := range []error{gerr, oerr} {
			var ae *dingtalk.APIError
			got := ""
			if errors.As(err, &ae) {
				got = ae.Code
			}
			if got != want {
				t.Errorf("query: %v; want %q", err, want)
			}
		}
	}
	check("processQueryKey.expireTime")
	srv.Advance(time.Minute)
	check("")
}
