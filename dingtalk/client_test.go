package dingtalk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

func setup(t *testing.T, opts dingtalktest.Options) (*dingtalktest.Server, *dingtalk.Client) {
	t.Helper()
	srv, err := dingtalktest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	o := srv.Options()
	c := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode, Timeout: 2 * time.Second, QPS: 1000}, nil)
	_ = srv.AddConversation("cidp", dingtalktest.KindPrivate, "")
	_ = srv.AddConversation("cidg", dingtalktest.KindGroup, "")
	return srv, c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSendAndRecallEachFamily(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	kp, err := c.SendPrivate(ctx(t), "cidp", dingtalk.Text("private hello"))
	if err != nil {
		t.Fatal(err)
	}
	kg, err := c.SendGroup(ctx(t), "cidg", dingtalk.Markdown("Disk", "**93%** on db-7"))
	if err != nil {
		t.Fatal(err)
	}
	ko, err := c.SendOTO(ctx(t), "alice", dingtalk.ActionCard("Deploy", "v1.2 is out", "Open", "https://example.invalid"))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.Message(kg); m.Text != "Disk\n**93%** on db-7" {
		t.Errorf("group message reads %q", m.Text)
	}
	for _, tc := range []struct {
		name string
		do   func() (dingtalk.RecallResult, error)
		key  string
	}{
		{"private", func() (dingtalk.RecallResult, error) { return c.RecallPrivate(ctx(t), "cidp", []string{kp}) }, kp},
		{"group", func() (dingtalk.RecallResult, error) { return c.RecallGroup(ctx(t), "cidg", []string{kg}) }, kg},
		{"oto", func() (dingtalk.RecallResult, error) { return c.RecallOTO(ctx(t), []string{ko}) }, ko},
	} {
		r, err := tc.do()
		if err != nil || len(r.Recalled) != 1 || r.Recalled[0] != tc.key {
			t.Errorf("%s recall = %+v, %v", tc.name, r, err)
		}
		if m, _ := srv.Message(tc.key); !m.Recalled {
			t.Errorf("%s message still shown", tc.name)
		}
	}
	// msgParam travelled as a JSON string, as DingTalk requires.
	call := srv.CallsTo(dingtalktest.PathPrivateSend)[0]
	if !strings.Contains(call.Request, `"msgParam":"{\"content\":\"private hello\"}"`) {
		t.Errorf("request body %s", call.Request)
	}
}

func TestTokenFetchedOnceForConcurrentCallers(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.SendGroup(ctx(t), "cidg", dingtalk.Text("x")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(srv.CallsTo("/v1.0/oauth2/accessToken")); n != 1 {
		t.Errorf("%d token calls for 20 concurrent sends, want 1", n)
	}
}

func TestExpiredOrRevokedTokenIsRefreshedAndCallRetriedOnce(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{TokenTTL: time.Hour})
	if _, err := c.SendGroup(ctx(t), "cidg", dingtalk.Text("1")); err != nil {
		t.Fatal(err)
	}
	srv.Advance(2 * time.Hour) // the server's clock: the client still thinks its token is fresh
	if _, err := c.SendGroup(ctx(t), "cidg", dingtalk.Text("2")); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	srv.RevokeTokens()
	if _, err := c.RecallOTO(ctx(t), []string{"abc"}); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := len(srv.CallsTo("/v1.0/oauth2/accessToken")); n != 3 {
		t.Errorf("%d token calls, want 3", n)
	}
	sends := srv.CallsTo(dingtalktest.PathGroupSend)
	if len(sends) != 3 || sends[1].Code != "InvalidAuthentication" {
		t.Errorf("send calls = %+v", sends)
	}
	if m := srv.Conversations(); len(m) == 0 {
		t.Fatal("no chats")
	}
	c2, _ := srv.Conversation("cidg")
	if len(c2.Messages) != 2 {
		t.Errorf("the group shows %d messages, want 2: a rejected send must not duplicate", len(c2.Messages))
	}
}

func TestSeedErrorsSurfaceAsSentences(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	key, _ := c.SendPrivate(ctx(t), "cidp", dingtalk.Text("x"))
	cases := []struct {
		code string
		do   func() error
	}{
		{"invalid.openConversationId", func() error { _, err := c.RecallPrivate(ctx(t), "cidnope", []string{key}); return err }},
		{"miss.openConversationId", func() error { _, err := c.RecallPrivate(ctx(t), "", []string{key}); return err }},
		{"invalid.processQueryKey", func() error { _, err := c.RecallPrivate(ctx(t), "cidp", []string{"bad key"}); return err }},
		{"invalidParameter.param.invalid", func() error { _, err := c.RecallPrivate(ctx(t), "cidp", []string{""}); return err }},
		{"bot.stopped", func() error {
			_ = srv.SetRobotState(c.RobotCode(), dingtalktest.RobotStopped)
			defer srv.SetRobotState(c.RobotCode(), dingtalktest.RobotActive)
			_, err := c.RecallPrivate(ctx(t), "cidp", []string{key})
			return err
		}},
		{"system.error", func() error {
			srv.Fail(dingtalktest.PathPrivateRecall, dingtalktest.FaultServerError, 1)
			_, err := c.RecallPrivate(ctx(t), "cidp", []string{key})
			return err
		}},
	}
	for _, tc := range cases {
		err := tc.do()
		var ae *dingtalk.APIError
		if !errors.As(err, &ae) || ae.Code != tc.code || ae.RequestID == "" {
			t.Errorf("%s: err = %v", tc.code, err)
			continue
		}
		for _, loc := range []string{"zh", "en"} {
			if s := dingtalk.Describe(err, loc); strings.Contains(s, tc.code) || s == "" {
				t.Errorf("%s: Describe(%s) = %q, want a sentence", tc.code, loc, s)
			}
		}
	}
	// Every code of the batchRecall error table has a sentence in both languages.
	for _, code := range []string{"invalid.openConversationId", "invalidParameter.robotCode", "invalidParameter.processQueryKeys.overMax",
		"not.allowed.robotCode", "invalidParameter.param.invalid", "invalidParameter.robotCode.notExsit", "miss.chatbotId",
		"invalidParameter.processQueryKey.missing", "invalid.processQueryKey", "miss.openConversationId", "bot.stopped",
		"template.not.existed", "template.stopped", "unauthorized", "resource.not.found", "system.error"} {
		if zh, en := dingtalk.Explain(code, "zh"), dingtalk.Explain(code, "en"); strings.Contains(zh, code) || strings.Contains(en, code) {
			t.Errorf("no sentence for %s", code)
		}
	}
}

func TestNonJSONAndTransportErrors(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	srv.Fail(dingtalktest.PathOTORecall, dingtalktest.FaultGarbage, 1)
	_, err := c.RecallOTO(ctx(t), []string{"abc"})
	var ae *dingtalk.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Code != "" || !strings.Contains(ae.Message, "502 Bad Gateway") || !dingtalk.Retryable(err) {
		t.Errorf("garbage answer: %#v", err)
	}
	srv.Fail(dingtalktest.PathOTORecall, dingtalktest.FaultHang, 1)
	o := srv.Options()
	short := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, Timeout: 100 * time.Millisecond}, nil)
	_, err = short.RecallOTO(ctx(t), []string{"abc"})
	var te *dingtalk.TransportError
	if !errors.As(err, &te) || !dingtalk.Retryable(err) {
		t.Errorf("hang: %v", err)
	}
	var rateLimited []string // told of each refusal (app/quota.go says when they come too often)
	once := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, QPSRetries: 1,
		OnRateLimited: func(path string) { rateLimited = append(rateLimited, path) }}, nil)
	srv.Fail(dingtalktest.PathOTORecall, dingtalktest.FaultQPS, 2)
	_, err = once.RecallOTO(ctx(t), []string{"abc"})
	if !dingtalk.IsQPS(err) || !dingtalk.Retryable(err) || dingtalk.Ambiguous(err) {
		t.Errorf("qps: %v", err)
	}
	if len(rateLimited) != 2 || rateLimited[0] != dingtalktest.PathOTORecall {
		t.Errorf("OnRateLimited told of %v, want the 2 refusals of %s", rateLimited, dingtalktest.PathOTORecall)
	}
	if _, err := c.SendGroup(ctx(t), "cidnope", dingtalk.Text("x")); dingtalk.Retryable(err) {
		t.Errorf("a 400 is not retryable: %v", err)
	}
}

func TestRecallRefusesMoreThan20KeysWithoutCalling(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	keys := make([]string, 21)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	if _, err := c.RecallOTO(ctx(t), keys); err == nil {
		t.Error("21 keys accepted")
	}
	if _, err := c.RecallOTO(ctx(t), nil); err == nil {
		t.Error("no keys accepted")
	}
	if n := len(srv.CallsTo(dingtalktest.PathOTORecall)); n != 0 {
		t.Errorf("%d calls made", n)
	}
}

func TestOTORecipientErrors(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	srv.SetInvalidUser("ghost")
	srv.FlowControlUser("busy", 1)
	for user, want := range map[string]string{"ghost": "invalid", "busy": "flow_controlled"} {
		_, err := c.SendOTO(ctx(t), user, dingtalk.Text("x"))
		var re *dingtalk.RecipientError
		if !errors.As(err, &re) || re.Reason != want {
			t.Errorf("SendOTO(%s) = %v, want a %s RecipientError", user, err, want)
		}
	}
}

func TestErrorsNeverCarrySecrets(t *testing.T) {
	srv, _ := setup(t, dingtalktest.Options{})
	o := srv.Options()
	c := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: "wrong-secret-value", RobotCode: o.RobotCode}, nil)
	_, err := c.SendGroup(ctx(t), "cidg", dingtalk.Text("x"))
	if err == nil || strings.Contains(err.Error(), "wrong-secret-value") || !strings.Contains(err.Error(), "invalidClientIdOrSecret") {
		t.Errorf("bad secret: %v", err)
	}
	good := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode}, nil)
	_, _ = good.SendGroup(ctx(t), "cidg", dingtalk.Text("x"))
	srv.Fail(dingtalktest.PathGroupSend, dingtalktest.FaultServerError, 1)
	_, err = good.SendGroup(ctx(t), "cidg", dingtalk.Text("x"))
	if err == nil || strings.Contains(err.Error(), o.ClientSecret) {
		t.Errorf("5xx: %v", err)
	}
}
