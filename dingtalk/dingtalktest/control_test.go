package dingtalktest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPostMessageWaitsForTheReply: ?wait= answers with the bot's replies
// in that chat as soon as the first arrived (with ?settle=, those that
// follow it closely too), an empty list when none came, and at once for a
// group message that does not @ the bot.
func TestPostMessageWaitsForTheReply(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	if err := srv.AddConversation("cidwait", dingtalktest.KindPrivate, ""); err != nil {
		t.Fatal(err)
	}
	// A bot: it answers every message in the chat, twice for "twice".
	o := srv.Options()
	sdkClient(t, srv, func(_ context.Context, d *chatbot.BotCallbackDataModel) ([]byte, error) {
		n := 1
		if d.Text.Content == "twice" {
			n = 2
		}
		for i := range n {
			param, _ := json.Marshal(map[string]string{"content": "reply " + string(rune('1'+i)) + " to " + d.Text.Content})
			body, _ := json.Marshal(map[string]string{"msgKey": "sampleText", "msgParam": string(param), "openConversationId": d.ConversationId, "robotCode": o.RobotCode, "coolAppCode": o.CoolAppCode})
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+dingtalktest.PathPrivateSend, strings.NewReader(string(body)))
			req.Header.Set("x-acs-dingtalk-access-token", tok)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		return nil, nil
	})
	say := func(query, body string) (int, struct {
		MsgID          string                 `json:"msgId"`
		ConversationID string                 `json:"conversationId"`
		Replies        []dingtalktest.Message `json:"replies"`
		Error          string                 `json:"error"`
	}) {
		t.Helper()
		status, resp := post(t, srv.URL()+"/sim/v1/conversations/cidwait/messages"+query, "", body)
		var out struct {
			MsgID          string                 `json:"msgId"`
			ConversationID string                 `json:"conversationId"`
			Replies        []dingtalktest.Message `json:"replies"`
			Error          string                 `json:"error"`
		}
		if err := json.Unmarshal([]byte(resp), &out); err != nil {
			t.Fatalf("%s: %s", query, resp)
		}
		return status, out
	}

	status, out := say("?wait=10s", `{"senderStaffId":"u1","text":"ping"}`)
	if status != 200 || out.MsgID == "" || out.ConversationID != "cidwait" || len(out.Replies) != 1 ||
		out.Replies[0].Text != "reply 1 to ping" || out.Replies[0].ProcessQueryKey == "" || !out.Replies[0].FromBot() {
		t.Fatalf("?wait: %d %+v", status, out)
	}
	status, out = say("?wait=10s&settle=500ms", `{"senderStaffId":"u1","text":"twice"}`)
	if status != 200 || len(out.Replies) != 2 || out.Replies[1].Text != "reply 2 to twice" {
		t.Fatalf("?settle: %d %+v", status, out)
	}
	// Without ?wait the answer is as it always was.
	_, plain := post(t, srv.URL()+"/sim/v1/conversations/cidwait/messages", "", `{"senderStaffId":"u1","text":"ping"}`)
	if strings.Contains(plain, "replies") || !strings.Contains(plain, `"msgId"`) {
		t.Errorf("without ?wait: %s", plain)
	}
	if err := srv.WaitUntil(testContext(t), func() bool {
		c, _ := srv.Conversation("cidwait")
		return len(c.Messages) == 7 // 3 messages, 4 replies: its reply came
	}); err != nil {
		t.Fatal(err)
	}
	// No reply within the wait: an empty list, not null.
	srv.DropFrames(1)
	_, raw := post(t, srv.URL()+"/sim/v1/conversations/cidwait/messages?wait=50ms", "", `{"senderStaffId":"u1","text":"lost"}`)
	if !strings.Contains(raw, `"replies": []`) {
		t.Errorf("no reply: %s", raw)
	}
	// Not pushed at all: no wait (the test's deadline would catch one).
	if status, resp := post(t, srv.URL()+"/sim/v1/conversations/cidgrp/messages?wait=1m", "", `{"senderStaffId":"u1","text":"chatter","conversationType":"2","atBot":false}`); status != 200 || !strings.Contains(resp, `"replies": []`) {
		t.Errorf("unmentioned: %d %s", status, resp)
	}
	if status, out := say("?wait=forever", `{"senderStaffId":"u1","text":"x"}`); status != 400 || !strings.Contains(out.Error, "wait") {
		t.Errorf("bad wait: %d %+v", status, out)
	}
}

// TestFrameLogAndArmedFaults: the control API lists the frames' fates and
// the faults not used up yet, and clears them.
func TestFrameLogAndArmedFaults(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	in := newInbox()
	sdkClient(t, srv, in.handle)
	srv.DropACKs(1)
	msgID, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	in.next(t)
	ctx := testContext(t)
	if err := srv.WaitUntil(ctx, func() bool { return hasEvents(srv.FrameEvents(), msgID, "pushed", "ack-dropped") }); err != nil {
		t.Fatal(err)
	}
	srv.RedeliverNow()
	if err := srv.WaitUntil(ctx, func() bool {
		return hasEvents(srv.FrameEvents(), msgID, "pushed", "ack-dropped", "redelivered", "acked")
	}); err != nil {
		t.Fatalf("%v: %+v", err, srv.FrameEvents())
	}
	_, body := get(t, srv.URL()+"/sim/v1/frames")
	var evs []dingtalktest.FrameEvent
	if err := json.Unmarshal([]byte(body), &evs); err != nil || len(evs) != 4 || evs[3].Attempt != 2 || evs[3].Label != "u1: hello" {
		t.Errorf("GET /sim/v1/frames: %v %s", err, body)
	}

	srv.Fail(dingtalktest.PathOTOSend, dingtalktest.FaultQPS, 2)
	srv.DelayAnswer(dingtalktest.AnyAPI, 3*time.Second, 1)
	srv.FailKey("KEY1", "SYSTEM_ERROR", 1)
	srv.DropFrames(3)
	_, body = get(t, srv.URL()+"/sim/v1/faults")
	for _, want := range []string{`"what": "qps"`, `"count": 2`, `"late 3s"`, `"recall failure SYSTEM_ERROR"`, `"KEY1"`, `"drop frame"`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /sim/v1/faults lacks %s: %s", want, body)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL()+"/sim/v1/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE /sim/v1/faults: %v %v", resp, err)
	}
	resp.Body.Close()
	if a := srv.ArmedFaults(); len(a) != 0 {
		t.Errorf("after clearing: %+v", a)
	}
}

func hasEvents(evs []dingtalktest.FrameEvent, msgID string, want ...string) bool {
	var got []string
	for _, e := range evs {
		if e.MsgID == msgID {
			got = append(got, e.Event)
		}
	}
	return strings.Join(got, ",") == strings.Join(want, ",")
}

// TestControlAPIMarksUsers: invalid, filtered and flow-controlled users
// can be set over the control API, as in Go; batchSend then reports them.
// A group added with a coolAppCode refuses sends without it.
func TestControlAPIMarksUsers(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, c := range []struct{ path, body string }{
		{"/sim/v1/users/ghost/invalid", ""},
		{"/sim/v1/users/busy/flow-control", `{"count":2}`},
		{"/sim/v1/users/hidden/filtered", ""},
		{"/sim/v1/conversations", `{"conversationId":"cidcool","kind":"group","coolAppCode":"COOLAPP-G-7"}`},
	} {
		resp, err := http.Post(srv.URL()+c.path, "application/json", strings.NewReader(c.body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %s: %v %v", c.path, resp, err)
		}
		resp.Body.Close()
	}
	o := srv.Options()
	client := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode}, nil)
	r, err := client.SendOTOMany(context.Background(), []string{"ghost", "busy", "hidden", "ok"}, dingtalk.Text("hi"))
	if err != nil || len(r.Invalid) != 1 || r.Invalid[0] != "ghost" || len(r.FlowControlled) != 1 || r.FlowControlled[0] != "busy" ||
		len(r.Filtered) != 1 || r.Filtered[0] != "hidden" {
		t.Errorf("batchSend: %+v, %v", r, err)
	}
	if _, err := client.SendGroup(context.Background(), "cidcool", dingtalk.Text("hi")); err == nil {
		t.Error("a send without the group's cool app code went through")
	}
	resp, _ := http.Post(srv.URL()+"/sim/v1/users/busy/flow-control", "application/json", strings.NewReader(`{"count":0}`))
	if resp.StatusCode != 400 {
		t.Errorf("count 0: %d", resp.StatusCode)
	}
	resp.Body.Close()
}
