package dingtalktest_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

func newServer(t testing.TB, opts dingtalktest.Options) *dingtalktest.Server {
	t.Helper()
	srv, err := dingtalktest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sdkClient connects the official Stream SDK, unchanged, to the emulator
// and returns the bot messages it receives.
func sdkClient(t testing.TB, srv *dingtalktest.Server, handler chatbot.IChatBotMessageHandler, opts ...client.ClientOption) *client.StreamClient {
	t.Helper()
	o := srv.Options()
	cli := client.NewStreamClient(append([]client.ClientOption{
		client.WithAppCredential(client.NewAppCredentialConfig(o.ClientID, o.ClientSecret)),
		client.WithOpenApiHost(srv.URL()),
	}, opts...)...)
	cli.RegisterChatBotCallbackRouter(handler)
	before := len(srv.Connections())
	if err := cli.Start(testContext(t)); err != nil {
		t.Fatalf("SDK Start: %v", err)
	}
	t.Cleanup(cli.Close)
	// Start returns when the client's handshake is done; the server
	// registers the socket a moment later.
	if err := srv.WaitUntil(testContext(t), func() bool { return len(srv.Connections()) > before }); err != nil {
		t.Fatal(err)
	}
	return cli
}

type inbox struct {
	mu   sync.Mutex
	msgs []*chatbot.BotCallbackDataModel
	ch   chan *chatbot.BotCallbackDataModel
}

func newInbox() *inbox { return &inbox{ch: make(chan *chatbot.BotCallbackDataModel, 100)} }

func (in *inbox) handle(_ context.Context, d *chatbot.BotCallbackDataModel) ([]byte, error) {
	in.ch <- d
	return nil, nil
}

func (in *inbox) next(t *testing.T) *chatbot.BotCallbackDataModel {
	t.Helper()
	select {
	case d := <-in.ch:
		return d
	case <-time.After(15 * time.Second):
		t.Fatal("no bot message arrived")
		return nil
	}
}

func TestSDKReceivesAndACKsBotMessage(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	in := newInbox()
	sdkClient(t, srv, in.handle)
	ctx := testContext(t)

	msgID, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "manager4220", Text: "/recall last 5", IsAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	got := in.next(t)
	if got.MsgId != msgID || got.Text.Content != "/recall last 5" || got.SenderStaffId != "manager4220" ||
		got.ConversationType != "1" || got.RobotCode != srv.Options().RobotCode || !got.IsAdmin || got.ConversationId == "" {
		t.Errorf("callback = %+v", got)
	}
	if err := srv.WaitUntil(ctx, func() bool { d, _ := srv.Delivery(msgID); return d.ACKs == 1 && !d.Pending }); err != nil {
		t.Fatalf("frame never ACKed: %v", err)
	}
}

func TestGroupMessageOnlyWhenMentioned(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	in := newInbox()
	sdkClient(t, srv, in.handle)
	if _, err := srv.PushMessage(dingtalktest.UserMessage{ConversationID: "cidgroup1", ConversationType: "2", SenderStaffID: "u1", Text: "chatter", Unmentioned: true}); err != nil {
		t.Fatal(err)
	}
	msgID, err := srv.PushMessage(dingtalktest.UserMessage{ConversationID: "cidgroup1", ConversationType: "2", SenderStaffID: "u1", Text: "/help"})
	if err != nil {
		t.Fatal(err)
	}
	got := in.next(t)
	if got.MsgId != msgID || got.ConversationType != "2" || !got.IsInAtList || got.Text.Content != " /help" {
		t.Errorf("callback = %+v, want the mentioned message with a leading space", got)
	}
	c, _ := srv.Conversation("cidgroup1")
	if len(c.Messages) != 2 {
		t.Errorf("group shows %d messages, want 2", len(c.Messages))
	}
}

func TestUnACKedFrameIsRedeliveredWithSameMsgID(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	in := newInbox()
	sdkClient(t, srv, in.handle)
	ctx := testContext(t)

	srv.DropACKs(1)
	msgID, _ := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "hello"})
	first := in.next(t)
	// The ACK was swallowed: the frame stays pending until its timeout.
	if err := srv.WaitUntil(ctx, func() bool { d, _ := srv.Delivery(msgID); return d.Attempts == 1 && d.Pending }); err != nil {
		t.Fatal(err)
	}
	srv.RedeliverNow()
	second := in.next(t)
	if first.MsgId != msgID || second.MsgId != msgID {
		t.Errorf("msgIds = %q, %q, want %q twice", first.MsgId, second.MsgId, msgID)
	}
	if err := srv.WaitUntil(ctx, func() bool { d, _ := srv.Delivery(msgID); return d.ACKs == 1 && !d.Pending && d.Attempts == 2 }); err != nil {
		d, _ := srv.Delivery(msgID)
		t.Fatalf("delivery = %+v: %v", d, err)
	}
}

// TestRedeliveryAfterACKTimeout: a frame the connection lost is pushed
// again by itself once ACKTimeout has passed, and not before. It asserts
// what happened, not how fast: on a busy machine the client may ACK the
// redelivered frame after another ACKTimeout, and a further redelivery is
// then what DingTalk does too (it used to fail with "2 redelivered").
func TestRedeliveryAfterACKTimeout(t *testing.T) {
	const ackTimeout = 50 * time.Millisecond
	srv := newServer(t, dingtalktest.Options{ACKTimeout: ackTimeout})
	in := newInbox()
	sdkClient(t, srv, in.handle)
	srv.DropFrames(1)
	msgID, _ := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "lost once"})
	if got := in.next(t); got.MsgId != msgID {
		t.Fatalf("got %q, want %q", got.MsgId, msgID)
	}
	if err := srv.WaitUntil(testContext(t), func() bool { d, _ := srv.Delivery(msgID); return d.ACKs >= 1 && !d.Pending }); err != nil {
		d, _ := srv.Delivery(msgID)
		t.Fatalf("the redelivered frame was never acknowledged: %+v: %v", d, err)
	}
	if s := srv.StreamStats(); s.Dropped != 1 || s.Redelivered < 1 {
		t.Errorf("stats = %+v, want 1 dropped and at least 1 redelivered", s)
	}
	var dropped, redelivered time.Time
	for _, ev := range srv.FrameEvents() {
		switch {
		case ev.MsgID == msgID && ev.Event == "dropped" && dropped.IsZero():
			dropped = ev.Time
		case ev.MsgID == msgID && ev.Event == "redelivered" && redelivered.IsZero():
			redelivered = ev.Time
		}
	}
	if dropped.IsZero() || redelivered.IsZero() || redelivered.Sub(dropped) < ackTimeout {
		t.Errorf("dropped at %v, redelivered at %v: want the redelivery at least %v after the drop", dropped, redelivered, ackTimeout)
	}
}

func TestDuplicatedFrameArrivesTwice(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	in := newInbox()
	sdkClient(t, srv, in.handle)
	srv.DuplicateFrames(1)
	msgID, _ := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "twice"})
	a, b := in.next(t), in.next(t)
	if a.MsgId != msgID || b.MsgId != msgID {
		t.Errorf("got %q and %q, want %q twice", a.MsgId, b.MsgId, msgID)
	}
}

func TestFrameWaitsForAConnection(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	msgID, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "early"})
	if err != nil {
		t.Fatal(err)
	}
	in := newInbox()
	sdkClient(t, srv, in.handle)
	if got := in.next(t); got.MsgId != msgID {
		t.Errorf("got %q, want %q", got.MsgId, msgID)
	}
}

func TestPingIsEchoed(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	sdkClient(t, srv, newInbox().handle)
	conns := srv.Connections()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	if err := srv.Ping(testContext(t), conns[0].ID); err != nil {
		t.Fatal(err)
	}
}

func TestDisconnectThenSDKReconnects(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the SDK's 3 s reconnect backoff")
	}
	srv := newServer(t, dingtalktest.Options{DisconnectGrace: time.Second})
	in := newInbox()
	sdkClient(t, srv, in.handle)
	ctx := testContext(t)
	old := srv.Connections()[0].ID
	if err := srv.Disconnect(old); err != nil {
		t.Fatal(err)
	}
	err := srv.WaitUntil(ctx, func() bool {
		c := srv.Connections()
		return len(c) == 1 && c[0].ID != old
	})
	if err != nil {
		t.Fatalf("SDK did not reconnect: %v (connections %+v)", err, srv.Connections())
	}
	msgID, _ := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "after reconnect"})
	if got := in.next(t); got.MsgId != msgID {
		t.Errorf("got %q, want %q", got.MsgId, msgID)
	}
}

// TestZombieConnectionIsAbandonedBySDK: a zombie writes nothing, its
// SYSTEM pings included (they would reset the SDK's idle timer, and the
// client would never notice the silence), so the SDK's keepalive finds it
// and the SDK connects anew.
func TestZombieConnectionIsAbandonedBySDK(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the SDK's keepalive and reconnect")
	}
	srv := newServer(t, dingtalktest.Options{PingInterval: time.Second})
	sdkClient(t, srv, newInbox().handle, client.WithKeepAlive(3*time.Second))
	ctx := testContext(t)
	old := srv.Connections()[0].ID
	if err := srv.Zombie(old); err != nil {
		t.Fatal(err)
	}
	err := srv.WaitUntil(ctx, func() bool {
		c := srv.Connections()
		return len(c) == 1 && c[0].ID != old
	})
	if err != nil {
		t.Fatalf("SDK kept the zombie: %v", err)
	}
}

func TestTicketIsSingleUse(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	endpoint, ticket := openGateway(t, srv)
	ws, _, err := websocket.DefaultDialer.Dial(endpoint+"?ticket="+ticket, nil)
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	defer ws.Close()
	_, resp, err := websocket.DefaultDialer.Dial(endpoint+"?ticket="+ticket, nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("second use: err %v, resp %v; want HTTP 400", err, resp)
	}
}

func TestTicketExpires(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	endpoint, ticket := openGateway(t, srv)
	srv.Advance(91 * time.Second)
	_, resp, err := websocket.DefaultDialer.Dial(endpoint+"?ticket="+ticket, nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("expired ticket: err %v; want HTTP 400", err)
	}
}

// TestFrameShape checks a raw frame byte for byte where the SDKs care:
// data is a JSON string, headers.time is a string, no top-level time.
func TestFrameShape(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	endpoint, ticket := openGateway(t, srv)
	ws, _, err := websocket.DefaultDialer.Dial(endpoint+"?ticket="+ticket, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := srv.WaitUntil(testContext(t), func() bool { return len(srv.Connections()) == 1 }); err != nil {
		t.Fatal(err)
	}
	msgID, _ := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "shape"})
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, raw, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	h, _ := f["headers"].(map[string]any)
	data, isString := f["data"].(string)
	_, hasTime := f["time"]
	if f["specVersion"] != "1.0" || f["type"] != "CALLBACK" || !isString || hasTime || h["topic"] != dingtalktest.TopicBotMessage {
		t.Errorf("frame = %s", raw)
	}
	for _, k := range []string{"appId", "connectionId", "contentType", "messageId", "time"} {
		if _, ok := h[k].(string); !ok {
			t.Errorf("headers.%s missing or not a string in %s", k, raw)
		}
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(data), &body); err != nil || body["msgId"] != msgID {
		t.Errorf("data = %s (%v)", data, err)
	}
	for _, k := range []string{"conversationId", "conversationType", "senderStaffId", "msgId", "isAdmin", "robotCode", "createAt", "sessionWebhook", "chatbotUserId", "msgtype", "text"} {
		if _, ok := body[k]; !ok {
			t.Errorf("callback body lacks %s", k)
		}
	}
	if ct, _ := body["conversationType"].(string); ct != "1" {
		t.Errorf("conversationType = %v, want the string \"1\"", body["conversationType"])
	}
	// An ACK in the shape every SDK sends clears the frame.
	ack := `{"code":200,"headers":{"contentType":"application/json","messageId":"` + h["messageId"].(string) + `"},"message":"OK","data":"{\"response\": null}"}`
	if err := ws.WriteMessage(websocket.TextMessage, []byte(ack)); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitUntil(testContext(t), func() bool { d, _ := srv.Delivery(msgID); return d.ACKs == 1 }); err != nil {
		t.Fatal(err)
	}
	// Garbage from the client is ignored, not fatal: the connection lives on.
	_ = ws.WriteMessage(websocket.TextMessage, []byte("not json"))
	next, _ := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: "still there"})
	if _, raw, err = ws.ReadMessage(); err != nil || !strings.Contains(string(raw), next) {
		t.Errorf("after garbage: %v %s", err, raw)
	}
}

func openGateway(t *testing.T, srv *dingtalktest.Server) (endpoint, ticket string) {
	t.Helper()
	o := srv.Options()
	body := `{"clientId":"` + o.ClientID + `","clientSecret":"` + o.ClientSecret + `","subscriptions":[{"type":"CALLBACK","topic":"/v1.0/im/bot/messages/get"}],"ua":"test"}`
	status, resp := post(t, srv.URL()+dingtalktest.PathGatewayOpen, "", body)
	if status != 200 {
		t.Fatalf("open: %d %s", status, resp)
	}
	var r struct{ Endpoint, Ticket string }
	_ = json.Unmarshal([]byte(resp), &r)
	if !strings.HasPrefix(r.Endpoint, "ws://127.0.0.1:") || r.Ticket == "" {
		t.Fatalf("open answered %s", resp)
	}
	return r.Endpoint, r.Ticket
}
