package dingtalk_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestLateAnswerIsHandedOver: a send DingTalk acts on but answers after
// the client's timeout fails on time with a TransportError (its fate
// unknown to the caller), and the key DingTalk answers later reaches the
// caller who asked for it: the message it would otherwise have left in the
// chat without a key can be taken back. A send answered in time works as
// ever.
func TestLateAnswerIsHandedOver(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	o := srv.Options()
	c := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RobotCode: o.RobotCode, Timeout: 200 * time.Millisecond, QPS: 1000}, nil)
	_ = srv.AddConversation("cidg", dingtalktest.KindGroup, "")
	if _, err := c.SendGroup(ctx(t), "cidg", dingtalk.Text("warm up")); err != nil { // the token, fetched in time
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	late := make(chan string, 1)
	lctx := dingtalk.WithLateAnswer(ctx(t), time.Minute, &wg, func(key string) { late <- key })
	srv.DelayAnswer(dingtalktest.PathGroupSend, time.Second, 1) // acts at once, answers 1 s later
	_, err = c.SendGroup(lctx, "cidg", dingtalk.Text("answered late"))
	var te *dingtalk.TransportError
	if !errors.As(err, &te) || !dingtalk.Ambiguous(err) {
		t.Fatalf("a send answered after the timeout: %v, want a TransportError", err)
	}
	var key string
	select {
	case key = <-late:
	case <-ctx(t).Done():
		t.Fatal("the late answer's key never came")
	}
	wg.Wait()
	if m, ok := srv.Message(key); !ok || m.Text != "answered late" {
		t.Errorf("the late key %q names %+v", key, m)
	}

	k, err := c.SendGroup(lctx, "cidg", dingtalk.Text("on time"))
	if m, _ := srv.Message(k); err != nil || m.Text != "on time" {
		t.Errorf("a send answered in time: %q, %v", k, err)
	}
	wg.Wait()
	if len(late) != 0 {
		t.Errorf("a send answered in time was handed over late too")
	}
}
