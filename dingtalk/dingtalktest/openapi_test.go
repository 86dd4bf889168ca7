package dingtalktest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

func post(t testing.TB, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func accessToken(t testing.TB, srv *dingtalktest.Server) string {
	t.Helper()
	o := srv.Options()
	status, body := post(t, srv.URL()+dingtalktest.PathAccessToken, "", fmt.Sprintf(`{"appKey":%q,"appSecret":%q}`, o.ClientID, o.ClientSecret))
	var r struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int    `json:"expireIn"`
	}
	if err := json.Unmarshal([]byte(body), &r); status != 200 || err != nil || r.AccessToken == "" || r.ExpireIn != int(o.TokenTTL/time.Second) {
		t.Fatalf("accessToken: %d %s", status, body)
	}
	return r.AccessToken
}

func errorCode(t testing.TB, body string) string {
	t.Helper()
	var e struct{ Code, Message, Requestid string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == "" || e.Requestid == "" || e.Message == "" {
		t.Fatalf("error body %s lacks code, message or requestid", body)
	}
	return e.Code
}

// sendPrivate sends a text into a private chat and returns its key.
func sendPrivate(t testing.TB, srv *dingtalktest.Server, tok, cid, text string) string {
	t.Helper()
	o := srv.Options()
	param, _ := json.Marshal(map[string]string{"content": text})
	body, _ := json.Marshal(map[string]string{"msgKey": "sampleText", "msgParam": string(param), "openConversationId": cid, "robotCode": o.RobotCode, "coolAppCode": o.CoolAppCode})
	status, resp := post(t, srv.URL()+dingtalktest.PathPrivateSend, tok, string(body))
	var r struct{ ProcessQueryKey string }
	if err := json.Unmarshal([]byte(resp), &r); status != 200 || err != nil || r.ProcessQueryKey == "" {
		t.Fatalf("send: %d %s", status, resp)
	}
	return r.ProcessQueryKey
}

func TestPrivateSendAndBatchRecall(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	if err := srv.AddConversation("cidprivate1", dingtalktest.KindPrivate, ""); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 3 {
		keys = append(keys, sendPrivate(t, srv, tok, "cidprivate1", fmt.Sprintf("notice %d", i)))
	}
	old := keys[0]
	if err := srv.AgeMessage(old, 25*time.Hour); err != nil {
		t.Fatal(err)
	}
	o := srv.Options()
	body := fmt.Sprintf(`{"openConversationId":"cidprivate1","robotCode":%q,"processQueryKeys":[%q,%q,%q,"bm90LWEta2V5"]}`, o.RobotCode, keys[0], keys[1], keys[2])
	status, resp := post(t, srv.URL()+dingtalktest.PathPrivateRecall, tok, body)
	var r struct {
		SuccessResult []string          `json:"successResult"`
		FailedResult  map[string]string `json:"failedResult"`
	}
	if err := json.Unmarshal([]byte(resp), &r); status != 200 || err != nil {
		t.Fatalf("recall: %d %s", status, resp)
	}
	if len(r.SuccessResult) != 2 || r.FailedResult[old] != "EXPIRED" || r.FailedResult["bm90LWEta2V5"] != "NOT_FOUND" {
		t.Errorf("recall answered %s", resp)
	}
	c, _ := srv.Conversation("cidprivate1")
	var recalled int
	for _, m := range c.Messages {
		if m.Recalled {
			recalled++
		}
	}
	if recalled != 2 || len(c.Messages) != 3 {
		t.Errorf("chat shows %d messages, %d recalled; want 3 and 2", len(c.Messages), recalled)
	}
	// Again: the recalled ones are now already recalled.
	_, resp = post(t, srv.URL()+dingtalktest.PathPrivateRecall, tok, body)
	_ = json.Unmarshal([]byte(resp), &r)
	if len(r.SuccessResult) != 0 || r.FailedResult[keys[1]] != "ALREADY_RECALLED" {
		t.Errorf("second recall answered %s", resp)
	}
}

// TestBatchRecallErrorCodes is the batchRecall error table (docs/dingtalk.md §4): each situation and
// the HTTP status and code privateChatMessages/batchRecall answers.
func TestBatchRecallErrorCodes(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	srv.AddApp(dingtalktest.App{ClientID: "otherapp", ClientSecret: "other-secret", RobotCode: "dingotherbot"})
	tok := accessToken(t, srv)
	o := srv.Options()
	for _, c := range []string{"cidp", "cidgone"} {
		_ = srv.AddConversation(c, dingtalktest.KindPrivate, "")
	}
	_ = srv.AddConversation("cidgroup", dingtalktest.KindGroup, "")
	_ = srv.RemoveBotFromConversation("cidgone")
	key := sendPrivate(t, srv, tok, "cidp", "hello")
	keys := func(n int) string {
		ks := make([]string, n)
		for i := range ks {
			ks[i] = fmt.Sprintf("%q", key)
		}
		return "[" + strings.Join(ks, ",") + "]"
	}
	body := func(cid, robot, ks string) string {
		return fmt.Sprintf(`{"openConversationId":%s,"robotCode":%s,"processQueryKeys":%s}`, cid, robot, ks)
	}
	rc := fmt.Sprintf("%q", o.RobotCode)
	tests := []struct {
		name       string
		state      dingtalktest.RobotState
		body       string
		wantStatus int
		wantCode   string
	}{
		{"unknown conversation", "", body(`"cidnope"`, rc, keys(1)), 400, "invalid.openConversationId"},
		{"a group id on the private API", "", body(`"cidgroup"`, rc, keys(1)), 400, "invalid.openConversationId"},
		{"bot not in the chat", "", body(`"cidgone"`, rc, keys(1)), 400, "invalidParameter.robotCode"},
		{"21 keys", "", body(`"cidp"`, rc, keys(21)), 400, "invalidParameter.processQueryKeys.overMax"},
		{"robot of another app", "", body(`"cidp"`, `"dingotherbot"`, keys(1)), 400, "not.allowed.robotCode"},
		{"not JSON", "", `{"openConversationId":`, 400, "invalidParameter.param.invalid"},
		{"wrong type", "", `{"openConversationId":"cidp","robotCode":7,"processQueryKeys":[]}`, 400, "invalidParameter.param.invalid"},
		{"empty key", "", body(`"cidp"`, rc, `[""]`), 400, "invalidParameter.param.invalid"},
		{"unknown robot", "", body(`"cidp"`, `"dingnobody"`, keys(1)), 400, "invalidParameter.robotCode.notExsit"},
		{"robotCode missing", "", `{"openConversationId":"cidp","processQueryKeys":["abc"]}`, 400, "miss.chatbotId"},
		{"keys missing", "", body(`"cidp"`, rc, `[]`), 400, "invalidParameter.processQueryKey.missing"},
		{"malformed key", "", body(`"cidp"`, rc, `["no spaces allowed"]`), 400, "invalid.processQueryKey"},
		{"conversation missing", "", body(`""`, rc, keys(1)), 400, "miss.openConversationId"},
		{"bot stopped", dingtalktest.RobotStopped, body(`"cidp"`, rc, keys(1)), 400, "bot.stopped"},
		{"template missing", dingtalktest.RobotTemplateMissing, body(`"cidp"`, rc, keys(1)), 400, "template.not.existed"},
		{"template stopped", dingtalktest.RobotTemplateStopped, body(`"cidp"`, rc, keys(1)), 400, "template.stopped"},
		{"unauthorized", dingtalktest.RobotUnauthorized, body(`"cidp"`, rc, keys(1)), 400, "unauthorized"},
		{"bot deleted", dingtalktest.RobotDeleted, body(`"cidp"`, rc, keys(1)), 400, "resource.not.found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.state != "" {
				_ = srv.SetRobotState(o.RobotCode, tt.state)
				defer srv.SetRobotState(o.RobotCode, dingtalktest.RobotActive)
			}
			status, resp := post(t, srv.URL()+dingtalktest.PathPrivateRecall, tok, tt.body)
			if status != tt.wantStatus || errorCode(t, resp) != tt.wantCode {
				t.Errorf("batchRecall(%s) = %d %s, want %d %s", tt.body, status, resp, tt.wantStatus, tt.wantCode)
			}
		})
	}
	t.Run("system error", func(t *testing.T) {
		srv.Fail(dingtalktest.PathPrivateRecall, dingtalktest.FaultServerError, 1)
		status, resp := post(t, srv.URL()+dingtalktest.PathPrivateRecall, tok, body(`"cidp"`, rc, keys(1)))
		if status != 500 || errorCode(t, resp) != "system.error" {
			t.Errorf("got %d %s, want 500 system.error", status, resp)
		}
	})
	// Nothing above recalled the message.
	if m, _ := srv.Message(key); m.Recalled {
		t.Error("a rejected call recalled the message")
	}
}

func TestAuthErrors(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{TokenTTL: time.Hour})
	tok := accessToken(t, srv)
	url := srv.URL() + dingtalktest.PathOTORecall
	body := `{"robotCode":"dingemulatorbot","processQueryKeys":["abc"]}`
	if status, resp := post(t, url, "", body); status != 400 || errorCode(t, resp) != "AuthenticationFailed.MissingParameter" {
		t.Errorf("no token: %d %s", status, resp)
	}
	if status, resp := post(t, url, "forged", body); status != 400 || errorCode(t, resp) != "InvalidAuthentication" {
		t.Errorf("forged token: %d %s", status, resp)
	}
	srv.Advance(time.Hour + time.Second)
	if status, resp := post(t, url, tok, body); status != 400 || errorCode(t, resp) != "InvalidAuthentication" {
		t.Errorf("expired token: %d %s", status, resp)
	}
	tok = accessToken(t, srv)
	srv.RevokeTokens()
	if status, resp := post(t, url, tok, body); status != 400 || errorCode(t, resp) != "InvalidAuthentication" {
		t.Errorf("revoked token: %d %s", status, resp)
	}
	status, resp := post(t, srv.URL()+dingtalktest.PathAccessToken, "", `{"appKey":"dingemulatorapp","appSecret":"wrong"}`)
	if status != 400 || errorCode(t, resp) != "invalidClientIdOrSecret" {
		t.Errorf("bad secret: %d %s", status, resp)
	}
}

func TestTokenRefetchReturnsSameToken(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	if a, b := accessToken(t, srv), accessToken(t, srv); a != b {
		t.Errorf("tokens %q and %q differ inside the validity", a, b)
	}
}

func TestRateLimit(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{QPS: 3})
	tok := accessToken(t, srv)
	body := `{"robotCode":"dingemulatorbot","processQueryKeys":["abc"]}`
	var limited int
	// Ten calls cannot straddle more than two one-second windows on loopback
	// unless the machine stalls; at 3 per window at least 4 are refused.
	for range 10 {
		status, resp := post(t, srv.URL()+dingtalktest.PathOTORecall, tok, body)
		if status == 403 {
			if code := errorCode(t, resp); code != "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi" {
				t.Errorf("403 with code %s", code)
			}
			limited++
		}
	}
	if limited == 0 {
		t.Error("no call was rate limited")
	}
	// Another API has its own budget.
	if status, _ := post(t, srv.URL()+dingtalktest.PathGroupRecall, tok, `{}`); status == 403 {
		t.Error("the limit leaked across APIs")
	}
}

func TestOTOBatchSendAndRecall(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	srv.SetInvalidUser("ghost")
	srv.FlowControlUser("busy", 1)
	body := `{"robotCode":"dingemulatorbot","userIds":["alice","ghost","busy"],"msgKey":"sampleMarkdown","msgParam":"{\"title\":\"T\",\"text\":\"**hi**\"}"}`
	status, resp := post(t, srv.URL()+dingtalktest.PathOTOSend, tok, body)
	var r struct {
		ProcessQueryKey           string
		InvalidStaffIDList        []string `json:"invalidStaffIdList"`
		FlowControlledStaffIDList []string `json:"flowControlledStaffIdList"`
	}
	if err := json.Unmarshal([]byte(resp), &r); status != 200 || err != nil || r.ProcessQueryKey == "" {
		t.Fatalf("batchSend: %d %s", status, resp)
	}
	if len(r.InvalidStaffIDList) != 1 || len(r.FlowControlledStaffIDList) != 1 {
		t.Errorf("batchSend answered %s", resp)
	}
	c, ok := srv.UserConversation("alice")
	if !ok || len(c.Messages) != 1 || c.Messages[0].Text != "T\n**hi**" {
		t.Fatalf("alice's chat = %+v", c)
	}
	status, resp = post(t, srv.URL()+dingtalktest.PathOTORecall, tok, `{"robotCode":"dingemulatorbot","processQueryKeys":["`+r.ProcessQueryKey+`"]}`)
	if status != 200 || !strings.Contains(resp, `"successResult":["`+r.ProcessQueryKey) {
		t.Errorf("oto recall: %d %s", status, resp)
	}
	if c, _ := srv.UserConversation("alice"); !c.Messages[0].Recalled {
		t.Error("alice still sees the message")
	}
}

func TestSendValidation(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	_ = srv.AddConversation("cidg", dingtalktest.KindGroup, "")
	_ = srv.AddConversation("cidp", dingtalktest.KindPrivate, "")
	big := strings.Repeat("x", 15001)
	tests := []struct {
		path, body, wantCode string
	}{
		{dingtalktest.PathGroupSend, `{"robotCode":"dingemulatorbot","openConversationId":"cidg","msgKey":"sampleNope","msgParam":"{}"}`, "invalidParameter.msgKey.invalid"},
		{dingtalktest.PathGroupSend, `{"robotCode":"dingemulatorbot","openConversationId":"cidg","msgKey":"sampleText","msgParam":"plain"}`, "invalidParameter.msgParam.invalid"},
		{dingtalktest.PathGroupSend, `{"robotCode":"dingemulatorbot","openConversationId":"cidg","msgKey":"sampleText","msgParam":"{\"content\":\"` + big + `\"}"}`, "invalidParameter.msgParam.invalid"},
		{dingtalktest.PathGroupSend, `{"robotCode":"dingemulatorbot","openConversationId":"cidp","msgKey":"sampleText","msgParam":"{}"}`, "invalid.openConversationId"},
		{dingtalktest.PathPrivateSend, `{"robotCode":"dingemulatorbot","openConversationId":"cidp","msgKey":"sampleText","msgParam":"{}"}`, "invalidParameter.robotCode.coolApp"},
		{dingtalktest.PathOTOSend, `{"robotCode":"dingemulatorbot","userIds":[],"msgKey":"sampleText","msgParam":"{}"}`, "invalidParameter.userIds.empty"},
		{dingtalktest.PathOTOSend, `{"robotCode":"dingemulatorbot","userIds":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"],"msgKey":"sampleText","msgParam":"{}"}`, "invalidParameter.userIds.overMax"},
		{dingtalktest.PathOTOSend, `{"userIds":["a"],"msgKey":"sampleText","msgParam":"{}"}`, "invalidParameter.robotCode.empty"},
		{dingtalktest.PathOTOSend, `[1,2]`, "invalidParameter.param.invalid"},
	}
	for _, tt := range tests {
		status, resp := post(t, srv.URL()+tt.path, tok, tt.body)
		if status != 400 || errorCode(t, resp) != tt.wantCode {
			t.Errorf("%s %.80s = %d %s, want 400 %s", tt.path, tt.body, status, resp, tt.wantCode)
		}
	}
}

func TestBadRoutesAndMethods(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, dingtalktest.PathPrivateRecall},
		{http.MethodPost, "/v1.0/robot/nothing"},
		{http.MethodDelete, dingtalktest.PathAccessToken},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL()+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || errorCode(t, string(b)) != "InvalidAction.NotFound" {
			t.Errorf("%s %s = %d %s", tt.method, tt.path, resp.StatusCode, b)
		}
	}
}

func TestInjectedFaults(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	body := `{"robotCode":"dingemulatorbot","processQueryKeys":["abc"]}`
	srv.Fail(dingtalktest.PathOTORecall, dingtalktest.FaultQPS, 1)
	srv.Fail(dingtalktest.PathOTORecall, dingtalktest.FaultGarbage, 1)
	srv.Fail(dingtalktest.AnyAPI, dingtalktest.FaultUnavailable, 1)
	if status, resp := post(t, srv.URL()+dingtalktest.PathOTORecall, tok, body); status != 403 || errorCode(t, resp) != "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi" {
		t.Errorf("qps fault: %d %s", status, resp)
	}
	if status, resp := post(t, srv.URL()+dingtalktest.PathOTORecall, tok, body); status != 502 || !strings.HasPrefix(resp, "<html>") {
		t.Errorf("garbage fault: %d %s", status, resp)
	}
	if status, _ := post(t, srv.URL()+dingtalktest.PathGroupRecall, tok, body); status != 503 {
		t.Errorf("any-API fault: %d", status)
	}
	if status, _ := post(t, srv.URL()+dingtalktest.PathOTORecall, tok, body); status != 200 {
		t.Errorf("after the faults: %d", status)
	}
	srv.FailKey("abc", "SYSTEM_ERROR", 1)
	if _, resp := post(t, srv.URL()+dingtalktest.PathOTORecall, tok, body); !strings.Contains(resp, `"abc":"SYSTEM_ERROR"`) {
		t.Errorf("key fault: %s", resp)
	}
	// A hang ends when the caller gives up.
	srv.Fail(dingtalktest.PathOTORecall, dingtalktest.FaultHang, 1)
	c := &http.Client{Timeout: 100 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+dingtalktest.PathOTORecall, strings.NewReader(body))
	req.Header.Set("x-acs-dingtalk-access-token", tok)
	if _, err := c.Do(req); err == nil {
		t.Error("hang fault answered")
	}
}

func TestCallsAreRecordedWithoutSecrets(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	calls := srv.CallsTo(dingtalktest.PathAccessToken)
	if len(calls) != 1 {
		t.Fatalf("%d token calls recorded", len(calls))
	}
	for _, c := range srv.Calls() {
		if strings.Contains(c.Request, "emulator-secret") || strings.Contains(c.Response, tok) {
			t.Errorf("call record leaks a secret: %+v", c)
		}
	}
}

func TestMaxCallsKeepsTheNewest(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{MaxCalls: 3})
	for range 5 {
		accessToken(t, srv)
	}
	if calls := srv.Calls(); len(calls) != 3 || srv.CountCalls(dingtalktest.PathAccessToken) != 3 {
		t.Errorf("%d calls kept, want 3", len(calls))
	}
}
