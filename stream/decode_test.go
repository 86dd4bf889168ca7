package stream

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"go.uber.org/zap"
)

func TestDecodeCallback(t *testing.T) {
	good := `{"msgId":"m1","conversationId":"cid1","conversationType":"2","conversationTitle":"运维值班群","senderStaffId":"u1","msgtype":"text","text":{"content":" /help"},"createAt":1690362101894}`
	m, err := DecodeCallback(good)
	if err != nil || m.MsgID != "m1" || m.ConversationType != "2" || m.Text != " /help" || m.CreateAt.IsZero() || m.ConversationTitle != "运维值班群" {
		t.Errorf("DecodeCallback = %+v, %v", m, err)
	}
	// conversationType as a number, as some clients have seen.
	if m, err := DecodeCallback(strings.Replace(good, `"2"`, `1`, 1)); err != nil || m.ConversationType != "1" {
		t.Errorf("numeric conversationType: %+v, %v", m, err)
	}
	for _, bad := range []string{"", "not json", "[]", `{"conversationType":"1"}`, `{"msgId":"m","conversationType":"3"}`, `{"msgId":"m"}`} {
		if _, err := DecodeCallback(bad); err == nil {
			t.Errorf("DecodeCallback(%q) accepted", bad)
		}
	}
}

// TestDecodeCallbackIsStrictAboutWhoSent: Go's JSON decoding matches keys
// without regard to case and lets a later one win, so a frame carrying both
// senderStaffId and senderStaffID would run as the second. Such frames, and
// any field given twice or spelled otherwise, are refused.
func TestDecodeCallbackIsStrictAboutWhoSent(t *testing.T) {
	for _, bad := range []string{
		`{"msgId":"m","conversationType":"1","senderStaffId":"intern001","senderStaffID":"manager4220","text":{"content":"/recall last 5"}}`,
		`{"msgId":"m","conversationType":"1","senderStaffID":"manager4220"}`,
		`{"msgId":"m","conversationType":"1","senderStaffId":"intern001","senderStaffId":"manager4220"}`,
		`{"msgId":"m","MsgId":"n","conversationType":"1"}`,
		`{"msgId":"m","conversationType":"1","text":{"content":"/help","Content":"/recall last 5"}}`,
	} {
		if m, err := DecodeCallback(bad); err == nil {
			t.Errorf("DecodeCallback(%s) = %+v, want an error", bad, m)
		}
	}
	// Fields the bot does not read may come in any spelling.
	if _, err := DecodeCallback(`{"msgId":"m","conversationType":"1","senderStaffId":"u","SenderNickName":"x","extra":{"a":1}}`); err != nil {
		t.Errorf("unknown fields: %v", err)
	}
}

func FuzzDecodeCallback(f *testing.F) {
	f.Add(`{"msgId":"m1","conversationId":"cid1","conversationType":"1","senderStaffId":"u1","msgtype":"text","text":{"content":"/recall last 5"}}`)
	f.Add(`{"msgId":"m","conversationType":2,"text":{"content":null}}`)
	f.Add(`{"msgId":"","conversationType":"1"}`)
	f.Add(`{"msgId":"m","conversationType":"1","senderStaffId":"a","senderStaffID":"b"}`)
	f.Fuzz(func(t *testing.T, data string) {
		m, err := DecodeCallback(data)
		if err == nil && (m.MsgID == "" || (m.ConversationType != "1" && m.ConversationType != "2")) {
			t.Fatalf("DecodeCallback(%q) = %+v without an error", data, m)
		}
	})
}

// TestConnectionEvents pins the SDK's log format strings that tell the
// connection's state (v0.9.2-beta.1's client.go): a new SDK version that
// rewords them fails here, not silently in production.
func TestConnectionEvents(t *testing.T) {
	for format, want := range map[string]event{
		"connect success, sessionId=[%s]":                                                 connUp,
		"StreamClient reconnect success":                                                  connUp,
		"connection process read message error: messageType=[%d] message=[%s] error=[%s]": connDown,
		"connection process is closed":                                                    connDown,
		"ping time out, connection is closing":                                            connDown,
		"StreamClient reconnect error, attempt=[%d] error=[%s]":                           noEvent,
		"connection processDataFrame send response error: error=[%s]":                     noEvent,
	} {
		if got := connectionEvent(format); got != want {
			t.Errorf("connectionEvent(%q) = %v, want %v", format, got, want)
		}
	}
	// The strings are the SDK's own.
	src, err := os.ReadFile(sdkClientSource(t))
	if err != nil {
		t.Skipf("the SDK's source is not in the module cache: %v", err)
	}
	for _, f := range []string{"connect success, sessionId=[%s]", "StreamClient reconnect success", "connection process read message error:", "connection process is closed", "ping time out, connection is closing"} {
		if !strings.Contains(string(src), f) {
			t.Errorf("the SDK no longer logs %q", f)
		}
	}
}

// sdkClientSource is the SDK's client.go in the module cache.
func sdkClientSource(t *testing.T) string {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-m", "-f", "{{.Dir}}", "github.com/open-dingtalk/dingtalk-stream-sdk-go").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "client", "client.go")
}

// TestStartsWhenDingTalkIsUnreachable: a gateway that refuses at start
// does not stop the Listener: it reports not connected, keeps trying, and
// connects once the gateway answers.
func TestStartsWhenDingTalkIsUnreachable(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Fail(dingtalktest.PathGatewayOpen, dingtalktest.FaultUnavailable, 3)
	o := srv.Options()
	l := NewListener(Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, APIBase: srv.URL(), RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond},
		func(context.Context, Message) {}, zap.NewNop())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if l.Connected() && len(srv.Connections()) == 0 {
		t.Error("connected before the gateway answered")
	}
	if err := srv.WaitUntil(ctx, func() bool { return len(srv.Connections()) == 1 }); err != nil {
		t.Fatal(err)
	}
	for !l.Connected() { // the Listener's own state: polled, the emulator does not see it change
		select {
		case <-ctx.Done():
			t.Fatal("connected, but the Listener does not know it")
		case <-time.After(time.Millisecond):
		}
	}
	if err := l.Stop(ctx); err != nil {
		t.Error(err)
	}
	if err := srv.WaitUntil(ctx, func() bool { return len(srv.Connections()) == 0 }); err != nil {
		t.Errorf("the connection outlived Stop: %+v", srv.Connections())
	}
}
