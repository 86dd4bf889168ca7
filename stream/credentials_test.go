package stream

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestStartRefusedCredentials: a gateway that refuses the app's
// credentials is not an outage to wait out: Start says so at once.
func TestStartRefusedCredentials(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := NewListener(Config{ClientID: srv.Options().ClientID, ClientSecret: "not-the-secret", APIBase: srv.URL()},
		func(context.Context, Message) {}, zap.NewNop())
	err = l.Start(ctx)
	defer func() { _ = l.Stop(ctx) }()
	if !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("Start = %v, want ErrBadCredentials", err)
	}
	if l.Connected() {
		t.Error("connected with refused credentials")
	}
}

func TestRefusesCredentials(t *testing.T) {
	for body, want := range map[string]bool{
		`{"code":"invalidClientIdOrSecret","requestid":"r1","message":"无效的clientId或者clientSecret"}`: true,
		`{"code":"system.error","message":"busy"}`:                                                  false,
		`<html>502 Bad Gateway</html>`:                                                              false,
		`dial tcp 127.0.0.1:1: connect: connection refused`:                                         false,
	} {
		if got := refusesCredentials(errors.New(body)); got != want {
			t.Errorf("refusesCredentials(%q) = %v, want %v", body, got, want)
		}
	}
}
