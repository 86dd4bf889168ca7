package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/api"
)

// TestClientErrorsAreTyped: every answer that is not 2xx is an *api.Error
// with the status, the code a program branches on and the server's
// sentence (and, for a send DingTalk refused, its entry); an answer that
// is not the API's (a proxy's page) keeps its text; a bot that cannot be
// reached is named.
func TestClientErrorsAreTyped(t *testing.T) {
	b := newBot(t)
	ctx := b.ctx(t)
	for _, c := range []struct {
		name   string
		call   func(c *api.Client) error
		status int
		code   string
		msg    string
	}{
		{"wrong token", func(c *api.Client) error {
			c.Token = "wrong"
			_, err := c.Audit(ctx, api.AuditQuery{})
			return err
		}, http.StatusUnauthorized, "unauthorized", "Bearer token is required"},
		{"bad input", func(c *api.Client) error {
			_, err := c.Send(ctx, api.SendRequest{Chat: api.Chat{Family: "fax", ConversationID: "x"}, Content: api.Content{Text: "t"}})
			return err
		}, http.StatusBadRequest, "bad_request", `chat family "fax" is not private, oto or group`},
		{"nothing selected", func(c *api.Client) error { _, err := c.Recall(ctx, api.RecallRequest{}); return err },
			http.StatusBadRequest, "bad_selection", "the selection is empty"},
		{"an unknown message", func(c *api.Client) error { _, err := c.Message(ctx, "no/such+key", false); return err },
			http.StatusNotFound, "not_found", "no message with that process_query_key"},
		{"an unknown recall", func(c *api.Client) error { _, err := c.RecallStatus(ctx, "r-nope"); return err },
			http.StatusNotFound, "not_found", "no recall with that id"},
		{"a batch id taken", func(c *api.Client) error {
			req := api.BroadcastRequest{UserIDs: []string{"u1"}, Content: api.Content{Text: "x"}, BatchID: "taken"}
			if _, err := c.Broadcast(ctx, req); err != nil {
				return err
			}
			_, err := c.Broadcast(ctx, req)
			return err
		}, http.StatusConflict, "batch_exists", "a broadcast with batch_id taken exists"},
		{"a client name too long", func(c *api.Client) error {
			_, err := c.CancelBroadcast(ctx, "taken", strings.Repeat("x", 65))
			return err
		},
			http.StatusBadRequest, "bad_request", "client is 65 characters long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := *b.client
			err := c.call(&cl)
			var e *api.Error
			if !errors.As(err, &e) || e.Status != c.status || e.Code != c.code || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("error %#v, want %d %s %q", err, c.status, c.code, c.msg)
			}
			b.same(t, e)
		})
	}

	t.Run("DingTalk refusing a send", func(t *testing.T) {
		_, err := b.client.Send(ctx, api.SendRequest{Chat: api.GroupChat("cidUnknown"), Content: api.Content{Text: "t"}})
		var e *api.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Code != "invalid.openConversationId" || e.Entry == nil ||
			e.Entry.State != api.StateSendFailed {
			t.Fatalf("error %#v", err)
		}
		b.same(t, e)
		if want := "invalid.openConversationId (HTTP 502): " + e.Message; e.Error() != want {
			t.Errorf("Error() = %q, want %q", e.Error(), want)
		}
	})

	t.Run("an answer that is not the API's", func(t *testing.T) {
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		}))
		defer proxy.Close()
		_, err := api.NewClient(proxy.URL, token).Health(ctx)
		var e *api.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Code != "" || e.Message != "<html>bad gateway</html>" {
			t.Fatalf("error %#v", err)
		}
		if e.Error() != "HTTP 502: <html>bad gateway</html>" {
			t.Errorf("Error() = %q", e.Error())
		}
	})

	t.Run("a bot that cannot be reached", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := "http://" + ln.Addr().String()
		_ = ln.Close() // nothing listens there now
		_, err = api.NewClient(addr, token).Send(context.Background(), api.SendRequest{Chat: api.GroupChat(groupCID), Content: api.Content{Text: "x"}})
		var e *api.Error
		if err == nil || errors.As(err, &e) || !strings.HasPrefix(err.Error(), "the bot's HTTP API at "+addr+": ") {
			t.Errorf("error %v", err)
		}
	})
}

// TestErrorIsTheEnvelope: an Error is written as the envelope, by value or
// by pointer, and read back whole but for its status, which is not in it.
func TestErrorIsTheEnvelope(t *testing.T) {
	e := api.Error{Status: 422, Code: "blocked", Message: "blocked by rule secrets", Rule: "secrets"}
	want := `{"error":{"code":"blocked","message":"blocked by rule secrets","rule":"secrets"}}`
	for _, v := range []any{e, &e} {
		if b, err := json.Marshal(v); err != nil || string(b) != want {
			t.Errorf("json.Marshal(%T) = %s, %v, want %s", v, b, err, want)
		}
	}
	var got api.Error
	if err := json.Unmarshal([]byte(want), &got); err != nil || got != (api.Error{Code: "blocked", Message: "blocked by rule secrets", Rule: "secrets"}) {
		t.Errorf("json.Unmarshal(%s) = %+v, %v", want, got, err)
	}
}
